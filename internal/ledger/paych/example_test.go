package paych_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// The module plugs into the ledger next to agents (whose spend
// permissions can fund channels). A client opens a channel to a service
// with 10,000 udeai and pays 100 per call with cumulative vouchers; the
// service checks each voucher off chain, keeps the latest, and redeems
// it once: it is paid 300 for three calls. The client settles; after the
// window the rest is refunded.
func ExampleNew() {
	kv := state.NewMemKV()
	l, _ := ledger.New(ledger.Config{KV: kv, Modules: []ledger.Module{agents.New(), paych.New()}})
	client, service := ed25519.NewKeyFromSeed(make([]byte, 32)), ed25519.NewKeyFromSeed(append(make([]byte, 31), 1))
	ca, sa := tx.AddressFromPubKey(client.Public().(ed25519.PublicKey)), tx.AddressFromPubKey(service.Public().(ed25519.PublicKey))
	g := ledger.DefaultGenesis("deai-example")
	g.Accounts = []ledger.GenesisAccount{{Address: ca, Balance: tx.UnitsPerDEAI}, {Address: sa, Balance: tx.UnitsPerDEAI}}
	g.Modules = map[string]json.RawMessage{paych.Name: json.RawMessage(`{"params":{"min_settle_delay":3,"max_settle_delay":100,"min_deposit":"1000","max_lanes":16}}`)}
	if _, err := l.InitChain(g, 1); err != nil {
		fmt.Println(err)
		return
	}
	height := int64(0)
	send := func(k ed25519.PrivateKey, m tx.Msg) []byte {
		a, _ := l.Account(tx.AddressFromPubKey(k.Public().(ed25519.PublicKey)))
		t := &tx.Tx{ChainID: "deai-example", Nonce: a.Nonce, Fee: 1000, Msgs: []tx.Msg{m}}
		_ = t.Sign(k)
		raw, _ := t.Encode()
		return raw
	}
	block := func(txs ...[]byte) {
		height++
		res, _ := l.FinalizeBlock(ledger.Block{Height: height, TimeUnixNano: height * 1e9, Txs: txs})
		for _, r := range res.TxResults {
			for _, e := range r.Events {
				switch e.Type {
				case paych.EventRedeemed, paych.EventSettling, paych.EventCollected:
					fmt.Println(e.Type, e.Attrs[len(e.Attrs)-2].Key, e.Attrs[len(e.Attrs)-2].Value, e.Attrs[len(e.Attrs)-1].Key, e.Attrs[len(e.Attrs)-1].Value)
				}
			}
			if !r.OK() {
				fmt.Println(r.Code, "-", r.Log)
			}
		}
		ws, _ := l.Commit()
		kv.Apply(ws)
	}

	block(send(client, &paych.MsgOpenChannel{From: ca, To: sa, Deposit: 10_000, SettleDelay: 3}))
	id := paych.ChannelIDFor(ca, sa, 0)
	b, _ := l.Query("/paych/channel/" + id.String())
	var ch paych.ChannelResult
	_ = json.Unmarshal(b, &ch)

	// Off chain: three paid calls on lane 0; the service checks each
	// against the last one it accepted.
	var latest paych.SignedVoucher
	accepted := paych.Lane{}
	for call := uint64(1); call <= 3; call++ {
		v, _ := paych.Voucher{ChainID: "deai-example", Channel: id, Lane: 0, Nonce: call, Amount: tx.Amount(100 * call)}.Sign(client)
		delta, err := ch.CheckVoucher(&v, "deai-example", accepted, uint64(height))
		if err != nil || !paych.VerifyBatch([]paych.SignedVoucher{v})[0] || delta < 100 {
			fmt.Println("refused:", err)
			continue
		}
		accepted, latest = paych.Lane{Nonce: v.Nonce, Redeemed: v.Amount}, v
	}
	// An older voucher is refused off chain as it would be on chain.
	first, _ := paych.Voucher{ChainID: "deai-example", Channel: id, Nonce: 1, Amount: 100}.Sign(client)
	_, err := ch.CheckVoucher(&first, "deai-example", accepted, uint64(height))
	fmt.Println("old voucher:", err)

	block(send(service, &paych.MsgRedeem{Payee: sa, Vouchers: []paych.SignedVoucher{latest}}))
	block(send(client, &paych.MsgSettle{Sender: ca, Channel: id}))
	block()
	block()
	block(send(client, &paych.MsgCollect{Sender: ca, Channel: id}))
	// Output:
	// old voucher: stale voucher: nonce 1 is below lane 0's nonce 3
	// paych.redeemed paid 300udeai redeemed 300udeai
	// paych.settling sender deai1zw0rjs8xfd2fzu3q3rv6p46pv28usfhqkwxq9p settling_at 6
	// paych.collected redeemed 300udeai refund 9700udeai
}
