package ledger_test

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

const chainID = "deai-test"

func key(i int) ed25519.PrivateKey {
	seed := bytes.Repeat([]byte{byte(i + 1)}, ed25519.SeedSize)
	return ed25519.NewKeyFromSeed(seed)
}

func addr(i int) tx.Address { return tx.AddressFromPubKey(key(i).Public().(ed25519.PublicKey)) }

// genesis funds accounts 0..n-1 with 1000 DEAI each.
func genesis(n int) ledger.Genesis {
	g := ledger.DefaultGenesis(chainID)
	for i := 0; i < n; i++ {
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: addr(i), Balance: 1000 * tx.UnitsPerDEAI})
	}
	return g
}

type harness struct {
	t      testing.TB
	kv     *state.MemKV
	l      *ledger.Ledger
	height int64
}

func newHarness(t testing.TB, cfg ledger.Config, g ledger.Genesis) *harness {
	t.Helper()
	h := &harness{t: t, kv: state.NewMemKV()}
	cfg.KV = h.kv
	l, err := ledger.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.InitChain(g, 1); err != nil {
		t.Fatal(err)
	}
	h.l = l
	return h
}

// block finalizes and commits txs as the next block.
func (h *harness) block(txs ...[]byte) *ledger.BlockResult {
	h.t.Helper()
	h.height++
	res, err := h.l.FinalizeBlock(ledger.Block{Height: h.height, TimeUnixNano: h.height * 1e9, Txs: txs})
	if err != nil {
		h.t.Fatal(err)
	}
	ws, err := h.l.Commit()
	if err != nil {
		h.t.Fatal(err)
	}
	h.kv.Apply(ws)
	return res
}

func transfer(t testing.TB, from int, nonce uint64, fee tx.Amount, to tx.Address, amt tx.Amount) []byte {
	t.Helper()
	x, err := tx.Transfer(key(from), chainID, nonce, fee, to, amt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := x.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustSign signs b without the Builder's validation, to craft bad txs.
func mustSign(t testing.TB, from int, x *tx.Tx) []byte {
	t.Helper()
	if err := x.Sign(key(from)); err != nil {
		t.Fatal(err)
	}
	b, err := x.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (h *harness) balance(i int) tx.Amount {
	h.t.Helper()
	b, err := h.l.Balance(addr(i))
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

func stateKV() *state.MemKV { return state.NewMemKV() }
