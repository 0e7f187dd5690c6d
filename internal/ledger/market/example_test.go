package market_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// The module plugs into the ledger like any other. A tenant orders one
// group, a provider bids, the tenant accepts, and ten blocks later the
// escrow owes the lease ten blocks of its price; the provider withdraws
// eleven (the withdrawal's own block counts).
func ExampleNew() {
	kv := state.NewMemKV()
	l, _ := ledger.New(ledger.Config{KV: kv, Modules: []ledger.Module{market.New()}})
	tenant, prov := ed25519.NewKeyFromSeed(make([]byte, 32)), ed25519.NewKeyFromSeed(append(make([]byte, 31), 1))
	ta, pa := tx.AddressFromPubKey(tenant.Public().(ed25519.PublicKey)), tx.AddressFromPubKey(prov.Public().(ed25519.PublicKey))
	g := ledger.DefaultGenesis("deai-example")
	g.Accounts = []ledger.GenesisAccount{{Address: ta, Balance: 10 * tx.UnitsPerDEAI}, {Address: pa, Balance: 10 * tx.UnitsPerDEAI}}
	if _, err := l.InitChain(g, 1); err != nil {
		fmt.Println(err)
		return
	}
	height := int64(0)
	block := func(txs ...[]byte) {
		height++
		res, err := l.FinalizeBlock(ledger.Block{Height: height, TimeUnixNano: height * 1e9, Txs: txs})
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, r := range res.TxResults {
			for _, e := range r.Events {
				if e.Type == market.EventOrderCreated || e.Type == market.EventBidCreated || e.Type == market.EventLeaseCreated {
					fmt.Println(height, e.Type, e.Attrs[len(e.Attrs)-1].Key, e.Attrs[len(e.Attrs)-1].Value)
				}
			}
			if !r.OK() {
				fmt.Println(r.Log)
			}
		}
		ws, _ := l.Commit()
		kv.Apply(ws)
	}
	send := func(k ed25519.PrivateKey, m tx.Msg) []byte {
		a, _ := l.Account(tx.AddressFromPubKey(k.Public().(ed25519.PublicKey)))
		t := &tx.Tx{ChainID: "deai-example", Nonce: a.Nonce, Fee: 1000, Msgs: []tx.Msg{m}}
		_ = t.Sign(k)
		b, _ := t.Encode()
		return b
	}

	dep := market.DeploymentID{Owner: ta, DSeq: 1}
	order := dep.Group(1).Order(1)
	block(send(prov, &market.MsgCreateProvider{Owner: pa, HostURI: "https://provider.example.com:8443", Region: "eu-west"}))
	block(send(tenant, &market.MsgCreateDeployment{ID: dep, Hash: market.ManifestHash{1}, Deposit: 1_000_000,
		Groups: []market.GroupSpec{{Name: "web", Units: []market.ResourceUnit{{ID: 1, Count: 1, Price: 100, Resources: market.Resources{
			CPUMilli: 500, MemoryBytes: 512 << 20, Storage: []market.Volume{{Name: "default", SizeBytes: 1 << 30}},
		}}}}}}))
	block(send(prov, &market.MsgCreateBid{Order: order, Provider: pa, Price: 80, Deposit: 500_000}))
	block(send(tenant, &market.MsgCreateLease{Bid: order.Bid(pa)}))
	for range 10 {
		block()
	}
	// Settlement is lazy: the escrow query projects the account to a height.
	b, _ := l.Query(fmt.Sprintf("/market/escrow/%s?height=%d", dep, height))
	var e market.EscrowResult
	_ = json.Unmarshal(b, &e)
	fmt.Println("funds at", e.AsOf, e.FundsAt, "runway", *e.RunwayBlocks, "blocks")
	block(send(prov, &market.MsgWithdrawLease{ID: order.Bid(pa)}))
	b, _ = l.Query("/market/lease/" + order.Bid(pa).String())
	var lease market.Lease
	_ = json.Unmarshal(b, &lease)
	fmt.Println("lease", lease.State, "withdrawn", lease.Withdrawn)
	// Output:
	// 2 market.order_created billing per_block
	// 3 market.bid_created deposit 500000udeai
	// 4 market.lease_created billing per_block
	// funds at 14 999200udeai runway 12490 blocks
	// lease active withdrawn 880udeai
}

// IDs have a string form for the CLI and events.
func ExampleParseLeaseID() {
	owner, _ := tx.ParseAddress("deai1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnjnxxmd")
	id := market.DeploymentID{Owner: owner, DSeq: 7}.Group(1).Order(2).Bid(owner)
	back, err := market.ParseLeaseID(id.String())
	fmt.Println(back == id, err, back.OSeq)
	// Output:
	// true <nil> 2
}
