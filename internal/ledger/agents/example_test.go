package agents_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// The module plugs into the ledger like any other. A provider registers a
// service that a buyer discovers by capability and price; the buyer's
// owner account grants its agent key 100 udeai per 10 blocks, and the
// agent pays the service twice: the second call, over the period's
// allowance, is refused by the chain.
func ExampleNew() {
	kv := state.NewMemKV()
	l, _ := ledger.New(ledger.Config{KV: kv, Modules: []ledger.Module{agents.New()}})
	keys := map[string]ed25519.PrivateKey{}
	addrs := map[string]tx.Address{}
	g := ledger.DefaultGenesis("deai-example")
	for i, who := range []string{"provider", "owner", "agent"} {
		keys[who] = ed25519.NewKeyFromSeed(append(make([]byte, 31), byte(i)))
		addrs[who] = tx.AddressFromPubKey(keys[who].Public().(ed25519.PublicKey))
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: addrs[who], Balance: 10 * tx.UnitsPerDEAI})
	}
	if _, err := l.InitChain(g, 1); err != nil {
		fmt.Println(err)
		return
	}
	height := int64(0)
	block := func(who string, m tx.Msg) {
		a, _ := l.Account(addrs[who])
		t := &tx.Tx{ChainID: "deai-example", Nonce: a.Nonce, Fee: 1000, Msgs: []tx.Msg{m}}
		_ = t.Sign(keys[who])
		raw, _ := t.Encode()
		height++
		res, _ := l.FinalizeBlock(ledger.Block{Height: height, TimeUnixNano: height * 1e9, Txs: [][]byte{raw}})
		r := res.TxResults[0]
		for _, e := range r.Events {
			if e.Type == agents.EventSpend {
				fmt.Println("spend", e.Attrs[3].Value, "period_spent", e.Attrs[6].Value)
			}
		}
		if !r.OK() {
			fmt.Println(r.Code, "-", r.Log)
		}
		ws, _ := l.Commit()
		kv.Apply(ws)
	}

	block("provider", &agents.MsgRegisterService{Owner: addrs["provider"], Name: "summarize.acme", Expiry: 1000,
		ServiceSpec: agents.ServiceSpec{Endpoint: "https://acme.example/v1", SchemaDigest: agents.Digest{1}, Price: 60, Capabilities: []string{"summarize"}}})
	b, _ := l.Query("/agents/services?capability=summarize&max_price=100")
	var found []agents.Service
	_ = json.Unmarshal(b, &found)
	fmt.Println("found", found[0].Name, "at", found[0].Endpoint, "for", found[0].Price)

	block("owner", &agents.MsgGrantSpend{Owner: addrs["owner"], Agent: addrs["agent"],
		SpendLimits: agents.SpendLimits{Allowance: 100, PeriodBlocks: 10, TotalCap: 1000}})
	pay := &agents.MsgSpend{Owner: addrs["owner"], Agent: addrs["agent"], To: found[0].Owner, Amount: found[0].Price}
	block("agent", pay)
	block("agent", pay)
	// Output:
	// found summarize.acme at https://acme.example/v1 for 60udeai
	// spend 60udeai period_spent 60udeai
	// rate_limited - spend of 60udeai by agent deai193df9mvjczmen8ept05nercyx06cqu4amesva6 exceeds what is left of this period's allowance: 60udeai of 100udeai per 10 blocks spent; the next period starts at height 12
}
