package tx_test

import (
	"crypto/ed25519"
	"fmt"

	"github.com/deai-network/deai/internal/tx"
)

// ExampleBuilder builds, signs and encodes a transfer, then decodes it as a
// node would.
func ExampleBuilder() {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	from := tx.AddressFromPubKey(priv.Public().(ed25519.PublicKey))
	to, _ := tx.ParseAddress("deai1qyqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqh8rt3m")
	amount, _ := tx.ParseAmount("1.5deai")

	signed, err := tx.Builder{
		ChainID: "deai-devnet",
		Nonce:   0, // the account's next nonce (query /account/<addr>)
		Fee:     1000,
		Memo:    "rent",
		Msgs:    []tx.Msg{&tx.MsgSend{From: from, To: to, Amount: amount}},
	}.Sign(priv)
	if err != nil {
		panic(err)
	}
	raw, _ := signed.Encode() // submit these bytes

	reg := tx.NewRegistry()
	reg.Register(tx.TypeMsgSend, "bank/send", tx.DecodeMsgSend)
	got, err := tx.Decode(raw, reg)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(raw), got.VerifySignature(), got.Msgs[0].(*tx.MsgSend).Amount.DEAI())
	// Output: 184 true 1.5deai
}
