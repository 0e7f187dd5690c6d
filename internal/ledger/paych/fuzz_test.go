package paych_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/deai-network/deai/internal/ledger/ledgertest"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

func registry(tb testing.TB) *tx.Registry {
	tb.Helper()
	r := tx.NewRegistry()
	if err := paych.New().RegisterMsgs(r); err != nil {
		tb.Fatal(err)
	}
	return r
}

// sampleMsgs has one valid message of every type, in type order, using
// every field.
func sampleMsgs(t testing.TB) []tx.Msg {
	id := paych.ChannelIDFor(addr(0), addr(1), 5)
	v := sampleVoucher(t)
	w := voucher(t, 0, id, 1, 2, 3)
	return []tx.Msg{
		&paych.MsgOpenChannel{From: addr(0), To: addr(1), Deposit: 5000, SettleDelay: 900, Owner: addr(2)},
		&paych.MsgTopUp{Sender: addr(0), Channel: id, Amount: 7, Owner: addr(3)},
		&paych.MsgRedeem{Payee: addr(1), Vouchers: []paych.SignedVoucher{v, w}},
		&paych.MsgSettle{Sender: addr(1), Channel: id},
		&paych.MsgCollect{Sender: addr(0), Channel: id},
	}
}

func TestMsgsRoundTrip(t *testing.T) {
	reg := registry(t)
	msgs := sampleMsgs(t)
	ledgertest.CheckMsgs(t, reg, msgs, ledgertest.MsgChecks{ValidateBasic: true, JSONRoundTrip: true})
	types := reg.Types()
	if len(types) != len(msgs) {
		t.Fatalf("registered types %v", types)
	}
	for i, m := range msgs {
		if m.Type() != types[i] || m.Type()>>8 != 0x04 {
			t.Errorf("sample %d is %T, type %#04x, want %#04x in 0x04xx", i, m, m.Type(), types[i])
		}
	}
	// Only what the signer pays is its Spend.
	for _, tt := range []struct {
		m    tx.Spender
		want tx.Amount
	}{
		{&paych.MsgOpenChannel{Deposit: 5}, 5},
		{&paych.MsgOpenChannel{Deposit: 5, Owner: addr(1)}, 0},
		{&paych.MsgTopUp{Amount: 5}, 5},
		{&paych.MsgTopUp{Amount: 5, Owner: addr(1)}, 0},
	} {
		if got := tt.m.Spend(); got != tt.want {
			t.Errorf("%+v: Spend %s, want %s", tt.m, got, tt.want)
		}
	}
}

func TestValidateBasicRejects(t *testing.T) {
	id := paych.ChannelID{1}
	v := voucher(t, 0, id, 0, 1, 1)
	zero := v
	zero.Amount = 0
	shortSig := v
	shortSig.Signature = v.Signature[:63]
	many := make([]paych.SignedVoucher, paych.MaxRedeemVouchers+1)
	for i := range many {
		many[i] = v
	}
	tests := []struct {
		name string
		msg  tx.Msg
	}{
		{"open without from", &paych.MsgOpenChannel{To: addr(1), Deposit: 1, SettleDelay: 1}},
		{"open without to", &paych.MsgOpenChannel{From: addr(0), Deposit: 1, SettleDelay: 1}},
		{"open to itself", &paych.MsgOpenChannel{From: addr(0), To: addr(0), Deposit: 1, SettleDelay: 1}},
		{"open via itself", &paych.MsgOpenChannel{From: addr(0), To: addr(1), Deposit: 1, SettleDelay: 1, Owner: addr(0)}},
		{"open zero deposit", &paych.MsgOpenChannel{From: addr(0), To: addr(1), SettleDelay: 1}},
		{"open zero delay", &paych.MsgOpenChannel{From: addr(0), To: addr(1), Deposit: 1}},
		{"top-up without channel", &paych.MsgTopUp{Sender: addr(0), Amount: 1}},
		{"top-up zero", &paych.MsgTopUp{Sender: addr(0), Channel: id}},
		{"top-up via itself", &paych.MsgTopUp{Sender: addr(0), Channel: id, Amount: 1, Owner: addr(0)}},
		{"redeem without payee", &paych.MsgRedeem{Vouchers: []paych.SignedVoucher{v}}},
		{"redeem nothing", &paych.MsgRedeem{Payee: addr(1)}},
		{"redeem too many", &paych.MsgRedeem{Payee: addr(1), Vouchers: many}},
		{"redeem zero amount", &paych.MsgRedeem{Payee: addr(1), Vouchers: []paych.SignedVoucher{zero}}},
		{"redeem short signature", &paych.MsgRedeem{Payee: addr(1), Vouchers: []paych.SignedVoucher{shortSig}}},
		{"settle without channel", &paych.MsgSettle{Sender: addr(0)}},
		{"collect without sender", &paych.MsgCollect{Channel: id}},
	}
	for _, tt := range tests {
		if err := tt.msg.ValidateBasic(); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

func TestParseGenesis(t *testing.T) {
	g, err := paych.ParseGenesis(nil)
	if err != nil || g != paych.DefaultGenesis() {
		t.Errorf("nil section: %+v %v", g, err)
	}
	js, _ := json.Marshal(paych.DefaultGenesis())
	if g, err := paych.ParseGenesis(js); err != nil || g != paych.DefaultGenesis() {
		t.Errorf("default round trip: %+v %v", g, err)
	}
	for _, bad := range []string{
		`{}`, `{"params":{}}`,
		`{"params":{"min_settle_delay":0,"max_settle_delay":10,"min_deposit":"1","max_lanes":1}}`,
		`{"params":{"min_settle_delay":10,"max_settle_delay":9,"min_deposit":"1","max_lanes":1}}`,
		`{"params":{"min_settle_delay":1,"max_settle_delay":10,"min_deposit":"0","max_lanes":1}}`,
		`{"params":{"min_settle_delay":1,"max_settle_delay":10,"min_deposit":"1","max_lanes":0}}`,
		`{"params":{"min_settle_delay":1,"max_settle_delay":10,"min_deposit":"1"}}`,
		`{"params":{"min_settle_delay":1,"max_settle_delay":10,"min_deposit":"1","max_lanes":1,"x":0}}`,
	} {
		if _, err := paych.ParseGenesis(json.RawMessage(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// FuzzDecodeMsgs checks every message decoder: no panics, and whatever
// decodes is canonical (re-encodes to the input) and survives
// ValidateBasic, JSON and signature checks. An input is a type index
// byte and a body. The seed corpus lives in testdata/fuzz/FuzzDecodeMsgs
// (regenerate with go test -run TestWriteFuzzCorpus -args -write-corpus).
func FuzzDecodeMsgs(f *testing.F) {
	ledgertest.FuzzDecodeMsgs(f, registry(f), fuzzSeeds(f), func(t *testing.T, m tx.Msg) {
		if r, ok := m.(*paych.MsgRedeem); ok {
			ok := paych.VerifyBatch(r.Vouchers)
			for i := range r.Vouchers {
				if ok[i] != r.Vouchers[i].Verify() {
					t.Fatalf("voucher %d: batch says %v, Verify the opposite", i, ok[i])
				}
			}
		}
	})
}

// FuzzDecodeSignedVoucher checks the voucher decoder: no panics, and a
// decoded voucher re-encodes to the input.
func FuzzDecodeSignedVoucher(f *testing.F) {
	v := sampleVoucher(f)
	f.Add(v.Encode())
	f.Add(v.Encode()[:100])
	f.Add([]byte{})
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := paych.DecodeSignedVoucher(b)
		if err != nil {
			return
		}
		if re := s.Encode(); !bytes.Equal(re, b) {
			t.Fatalf("non-canonical voucher accepted:\n in %x\nout %x", b, re)
		}
		_ = s.Validate()
		_ = s.Verify()
	})
}

func fuzzSeeds(tb testing.TB) [][]byte {
	return ledgertest.FuzzSeeds(sampleMsgs(tb), []byte{2, 0xff, 0xff, 0xff})
}

// TestWriteFuzzCorpus keeps the committed seed corpus in step with
// fuzzSeeds; it only writes when asked with -write-corpus.
func TestWriteFuzzCorpus(t *testing.T) {
	ledgertest.WriteCorpus(t, fuzzSeeds(t), func(name string, data []byte) error {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		return os.WriteFile(name, data, 0o644)
	})
}
