package market_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/ledgertest"
	"github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

const (
	chainID = "deai-test"
	fee     = tx.Amount(1000)
	funds   = 10_000 * tx.UnitsPerDEAI
)

func key(i int) ed25519.PrivateKey {
	seed := bytes.Repeat([]byte{0x6d}, ed25519.SeedSize)
	binary.BigEndian.PutUint32(seed, uint32(i))
	return ed25519.NewKeyFromSeed(seed)
}

func addr(i int) tx.Address { return tx.AddressFromPubKey(key(i).Public().(ed25519.PublicKey)) }

// testParams are small, test-friendly params: deposits from 1000 udeai
// (bids from 500), a bid timeout of 20 blocks and a settlement at least
// every 10 blocks.
func testParams() market.Params {
	return market.Params{MinDeposit: 1000, BidMinDeposit: 500, MaxBidsPerOrder: 20, BidTimeoutBlocks: 20, SettleEveryBlocks: 10, EndBlockLimit: 200}
}

// genesis funds accounts 0..n-1 with funds each; p, when not nil,
// replaces the module's default params.
func genesis(t testing.TB, n int, p *market.Params) ledger.Genesis {
	t.Helper()
	g := ledger.DefaultGenesis(chainID)
	for i := range n {
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: addr(i), Balance: funds})
	}
	if p != nil {
		raw, err := json.Marshal(market.Genesis{Params: *p})
		if err != nil {
			t.Fatal(err)
		}
		g.Modules = map[string]json.RawMessage{market.Name: raw}
	}
	return g
}

// harness drives a ledger with the market module through the block
// lifecycle (FinalizeBlock, Commit, apply the write set) and after every
// block checks the supply and the module's invariants.
type harness struct{ *ledgertest.Harness }

func newHarness(t testing.TB, g ledger.Genesis) *harness {
	t.Helper()
	return &harness{ledgertest.New(t, g, ledgertest.Options{
		Modules: []ledger.Module{market.New()},
		ChainID: chainID, Fee: fee, Key: key,
		Check: func(h *ledgertest.Harness) error {
			_, err := market.CheckInvariants(h.KV)
			return err
		},
	})}
}

// blockOK is block for txs that must all succeed.
func (h *harness) blockOK(txs ...[]byte) *ledger.BlockResult {
	h.T.Helper()
	res := h.Block(txs...)
	for i, r := range res.TxResults {
		if !r.OK() {
			h.T.Fatalf("block %d: tx %d failed: %v %s", h.Height, i, r.Code, r.Log)
		}
	}
	return res
}

// reject is run for a tx that must fail with reason want.
func (h *harness) reject(want module.Reason, i int, msgs ...tx.Msg) ledger.TxResult {
	h.T.Helper()
	r := h.Run(i, msgs...)
	if r.Code != want {
		h.T.Fatalf("block %d: code %v (%s), want %v", h.Height, r.Code, r.Log, want)
	}
	return r
}

func (h *harness) deployment(id market.DeploymentID) market.DeploymentResult {
	h.T.Helper()
	var d market.DeploymentResult
	h.Query("/market/deployment/"+id.String(), &d)
	return d
}

func (h *harness) lease(id market.LeaseID) market.Lease {
	h.T.Helper()
	var l market.Lease
	h.Query("/market/lease/"+id.String(), &l)
	return l
}

func (h *harness) bid(id market.BidID) market.Bid {
	h.T.Helper()
	var b market.Bid
	h.Query("/market/bid/"+id.String(), &b)
	return b
}

func (h *harness) order(id market.OrderID) market.Order {
	h.T.Helper()
	var o market.Order
	h.Query("/market/order/"+id.String(), &o)
	return o
}

func (h *harness) escrow(id market.DeploymentID) market.EscrowResult {
	h.T.Helper()
	var e market.EscrowResult
	h.Query("/market/escrow/"+id.String(), &e)
	return e
}

// events returns the events of type typ in a tx result or a block result
// (EndBlock events).
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

// unit returns a resource unit with 1 cpu, 1 GiB of memory and a 1 GiB
// ephemeral volume, count replicas at price per block each.
func unit(id, count uint32, price uint64) market.ResourceUnit {
	return market.ResourceUnit{ID: id, Count: count, Price: price, Resources: market.Resources{
		CPUMilli: 1000, MemoryBytes: 1 << 30,
		Storage: []market.Volume{{Name: "default", SizeBytes: 1 << 30}},
	}}
}

// group returns a per-block group of one unit at price per block.
func group(name string, price uint64) market.GroupSpec {
	return market.GroupSpec{Name: name, Units: []market.ResourceUnit{unit(1, 1, price)}}
}

// gpuGroup returns a group whose one unit wants one GPU matching alts.
func gpuGroup(name string, price uint64, alts ...string) market.GroupSpec {
	g := group(name, price)
	g.Units[0].Resources.GPU = market.GPU{Units: 1, Attributes: alts}
	return g
}

var manifest = market.ManifestHash{0xde, 0xa1}

func did(owner int, dseq uint64) market.DeploymentID {
	return market.DeploymentID{Owner: addr(owner), DSeq: dseq}
}

func createDeployment(owner int, dseq uint64, deposit tx.Amount, groups ...market.GroupSpec) *market.MsgCreateDeployment {
	return &market.MsgCreateDeployment{ID: did(owner, dseq), Groups: groups, Hash: manifest, Deposit: deposit}
}

func provider(i int, attrs ...market.Attribute) *market.MsgCreateProvider {
	return &market.MsgCreateProvider{Owner: addr(i), HostURI: "https://provider.example.com:8443", Attributes: attrs}
}

func createBid(p int, o market.OrderID, price tx.Amount) *market.MsgCreateBid {
	return &market.MsgCreateBid{Order: o, Provider: addr(p), Price: price, Deposit: 500}
}

func oid(owner int, dseq uint64, gseq, oseq uint32) market.OrderID {
	return did(owner, dseq).Group(gseq).Order(oseq)
}

func attrs(kv ...string) []market.Attribute {
	var out []market.Attribute
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, market.Attribute{Key: kv[i], Value: kv[i+1]})
	}
	return out
}
