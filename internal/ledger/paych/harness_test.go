package paych_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/ledgertest"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

const (
	chainID = "deai-test"
	fee     = tx.Amount(1000)
	funds   = 10_000 * tx.UnitsPerDEAI
)

func key(i int) ed25519.PrivateKey {
	seed := bytes.Repeat([]byte{0x70}, ed25519.SeedSize)
	binary.BigEndian.PutUint32(seed, uint32(i))
	return ed25519.NewKeyFromSeed(seed)
}

func addr(i int) tx.Address { return tx.AddressFromPubKey(key(i).Public().(ed25519.PublicKey)) }

// testParams: settle delays of 5 to 100 blocks, deposits from 100 udeai,
// 8 lanes per channel.
func testParams() paych.Params {
	return paych.Params{MinSettleDelay: 5, MaxSettleDelay: 100, MinDeposit: 100, MaxLanes: 8}
}

// genesis funds accounts 0..n-1 with funds each; p, when not nil,
// replaces the module's default params.
func genesis(t testing.TB, n int, p *paych.Params) ledger.Genesis {
	t.Helper()
	g := ledger.DefaultGenesis(chainID)
	for i := range n {
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: addr(i), Balance: funds})
	}
	if p != nil {
		raw, err := json.Marshal(paych.Genesis{Params: *p})
		if err != nil {
			t.Fatal(err)
		}
		g.Modules = map[string]json.RawMessage{paych.Name: raw}
	}
	return g
}

// harness drives a ledger with the agents and paych modules through the
// block lifecycle (FinalizeBlock, Commit, apply the write set) and after
// every block checks the supply and the paych invariants.
type harness struct{ *ledgertest.Harness }

func newHarness(t testing.TB, g ledger.Genesis) *harness {
	t.Helper()
	return &harness{ledgertest.New(t, g, ledgertest.Options{
		Modules: []ledger.Module{agents.New(), paych.New()},
		ChainID: chainID, Fee: fee, Key: key,
		Check: func(h *ledgertest.Harness) error {
			_, err := paych.CheckInvariants(h.KV)
			return err
		},
	})}
}

func (h *harness) channel(id paych.ChannelID) paych.ChannelResult {
	h.T.Helper()
	var c paych.ChannelResult
	h.Query("/paych/channel/"+id.String(), &c)
	return c
}

func (h *harness) lane(id paych.ChannelID, lane uint32) paych.Lane {
	h.T.Helper()
	var l paych.Lane
	h.Query("/paych/lane/"+id.String()+"/"+strconv.FormatUint(uint64(lane), 10), &l)
	return l
}

// open opens a channel from account from to to and returns its ID, read
// from the channel_opened event.
func (h *harness) open(from, to int, deposit tx.Amount, delay uint64) paych.ChannelID {
	h.T.Helper()
	r := h.OK(from, &paych.MsgOpenChannel{From: addr(from), To: addr(to), Deposit: deposit, SettleDelay: delay})
	ev := events(paych.EventChannelOpened, r.Events)
	if len(ev) != 1 {
		h.T.Fatalf("open: events %+v", r.Events)
	}
	id, err := paych.ParseChannelID(attr(ev[0], "id"))
	if err != nil {
		h.T.Fatal(err)
	}
	return id
}

// events returns the events of type typ.
func events(typ string, evs []ledger.Event) []ledger.Event {
	var out []ledger.Event
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func attr(e ledger.Event, k string) string {
	for _, a := range e.Attrs {
		if a.Key == k {
			return a.Value
		}
	}
	return ""
}

// voucher signs a voucher on channel id with account signer's key.
func voucher(t testing.TB, signer int, id paych.ChannelID, lane uint32, nonce uint64, amount tx.Amount) paych.SignedVoucher {
	t.Helper()
	v, err := paych.Voucher{ChainID: chainID, Channel: id, Lane: lane, Nonce: nonce, Amount: amount}.Sign(key(signer))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func redeem(payee int, vs ...paych.SignedVoucher) *paych.MsgRedeem {
	return &paych.MsgRedeem{Payee: addr(payee), Vouchers: vs}
}
