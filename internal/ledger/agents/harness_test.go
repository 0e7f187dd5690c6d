package agents_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/ledgertest"
	"github.com/deai-network/deai/internal/tx"
)

const (
	chainID = "deai-test"
	fee     = tx.Amount(1000)
	funds   = 10_000 * tx.UnitsPerDEAI
)

func key(i int) ed25519.PrivateKey {
	seed := bytes.Repeat([]byte{0x61}, ed25519.SeedSize)
	binary.BigEndian.PutUint32(seed, uint32(i))
	return ed25519.NewKeyFromSeed(seed)
}

func addr(i int) tx.Address { return tx.AddressFromPubKey(key(i).Public().(ed25519.PublicKey)) }

// testParams: 10 udeai per block of registration, up to 1000 blocks, 200
// expiries per block.
func testParams() agents.Params {
	return agents.Params{FeePerBlock: 10, MaxRegistrationBlocks: 1000, EndBlockLimit: 200}
}

// genesis funds accounts 0..n-1 with funds each; p, when not nil,
// replaces the module's default params.
func genesis(t testing.TB, n int, p *agents.Params) ledger.Genesis {
	t.Helper()
	g := ledger.DefaultGenesis(chainID)
	for i := range n {
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: addr(i), Balance: funds})
	}
	if p != nil {
		raw, err := json.Marshal(agents.Genesis{Params: *p})
		if err != nil {
			t.Fatal(err)
		}
		g.Modules = map[string]json.RawMessage{agents.Name: raw}
	}
	return g
}

// harness drives a ledger with the agents module through the block
// lifecycle (FinalizeBlock, Commit, apply the write set) and after every
// block checks the supply and the module's invariants.
type harness struct {
	*ledgertest.Harness
	lagging bool // EndBlock may be behind on expiries: skip that invariant
}

func newHarness(t testing.TB, g ledger.Genesis) *harness {
	t.Helper()
	h := &harness{}
	h.Harness = ledgertest.New(t, g, ledgertest.Options{
		Modules: []ledger.Module{agents.New()},
		ChainID: chainID, Fee: fee, Key: key,
		Check: func(lh *ledgertest.Harness) error {
			height := uint64(lh.Height)
			if h.lagging {
				height = 0
			}
			return agents.CheckInvariants(lh.KV, height)
		},
	})
	return h
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

var schema = agents.Digest{0x5c, 0x4e}

func spec(price tx.Amount, caps ...string) agents.ServiceSpec {
	return agents.ServiceSpec{Description: "summarizes text", Endpoint: "https://agent.example.com/v1", SchemaDigest: schema, Price: price, Capabilities: caps}
}

func register(owner int, name string, expiry uint64, price tx.Amount, caps ...string) *agents.MsgRegisterService {
	return &agents.MsgRegisterService{Owner: addr(owner), Name: name, ServiceSpec: spec(price, caps...), Expiry: expiry}
}

func ledgerAccount(a tx.Address, bal tx.Amount) ledger.GenesisAccount {
	return ledger.GenesisAccount{Address: a, Balance: bal}
}
