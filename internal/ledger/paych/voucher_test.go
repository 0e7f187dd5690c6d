package paych_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wire"
)

func sampleVoucher(t testing.TB) paych.SignedVoucher {
	v, err := paych.Voucher{ChainID: chainID, Channel: paych.ChannelIDFor(addr(0), addr(1), 3), Lane: 7, Nonce: 42,
		Amount: 123_456, Expiry: 999, RequestHash: paych.RequestHash{0xab, 0xcd}}.Sign(key(0))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVoucherDomain: voucher sign bytes start with their own domain, not
// the tx's nor the receipt's, and are no tx.
func TestVoucherDomain(t *testing.T) {
	v := sampleVoucher(t)
	sb := v.SignBytes()
	if !bytes.HasPrefix(sb, []byte(paych.VoucherDomain)) {
		t.Fatalf("sign bytes %q do not start with the voucher domain", sb)
	}
	for _, other := range []string{tx.SignDomain, wire.ReceiptDomain} {
		if strings.HasPrefix(paych.VoucherDomain, other) || strings.HasPrefix(other, paych.VoucherDomain) {
			t.Errorf("voucher domain %q and %q share a prefix", paych.VoucherDomain, other)
		}
	}
	hex := func(b []byte) bool {
		for _, c := range b {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
		return true
	}
	if hex(sb[:64]) {
		t.Errorf("sign bytes start like an Epistula message (64 hex digits): %q", sb[:64])
	}
	if _, err := tx.Decode(v.Encode(), tx.NewRegistry()); err == nil {
		t.Error("a voucher decodes as a tx")
	}
	if !v.Verify() {
		t.Fatal("a freshly signed voucher does not verify")
	}
	if tx.VerifySignature(ed25519.PublicKey(v.PubKey), append([]byte(tx.SignDomain), sb[len(paych.VoucherDomain):]...), v.Signature) {
		t.Error("the voucher signature verifies under the tx domain")
	}
}

func TestVoucherEncoding(t *testing.T) {
	v := sampleVoucher(t)
	b := v.Encode()
	if len(b) != 189+len(chainID) {
		t.Errorf("encoding is %d bytes, want 189 + the chain id", len(b))
	}
	back, err := paych.DecodeSignedVoucher(b)
	if err != nil || !reflect.DeepEqual(back, v) || !back.Verify() {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	js, _ := json.Marshal(v)
	var fromJSON paych.SignedVoucher
	if err := json.Unmarshal(js, &fromJSON); err != nil || !reflect.DeepEqual(fromJSON, v) {
		t.Errorf("JSON round trip %s: %+v %v", js, fromJSON, err)
	}
	for n := range len(b) {
		if _, err := paych.DecodeSignedVoucher(b[:n]); err == nil {
			t.Errorf("decoded a %d-byte prefix", n)
		}
	}
	if _, err := paych.DecodeSignedVoucher(append(b, 0)); err == nil {
		t.Error("decoded with a trailing byte")
	}
	// Every byte is covered by the signature, the key or the signature.
	for i := range len(b) {
		c := bytes.Clone(b)
		c[i] ^= 0x40
		w, err := paych.DecodeSignedVoucher(c)
		if err == nil && w.Verify() {
			t.Errorf("flipping byte %d still verifies", i)
		}
	}
}

func TestVoucherValidate(t *testing.T) {
	good := paych.Voucher{ChainID: chainID, Channel: paych.ChannelID{1}, Nonce: 1, Amount: 1}
	for name, mut := range map[string]func(*paych.Voucher){
		"no chain":    func(v *paych.Voucher) { v.ChainID = "" },
		"space chain": func(v *paych.Voucher) { v.ChainID = "a b" },
		"no channel":  func(v *paych.Voucher) { v.Channel = paych.ChannelID{} },
		"nonce 0":     func(v *paych.Voucher) { v.Nonce = 0 },
		"amount 0":    func(v *paych.Voucher) { v.Amount = 0 },
	} {
		v := good
		mut(&v)
		if _, err := v.Sign(key(0)); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
	if _, err := good.Sign(key(0)[:10]); err == nil {
		t.Error("signed with a short key")
	}
}

// TestVerifyBatch: VerifyBatch answers exactly what Verify answers, for
// all-valid batches and batches with bad signatures, keys and lengths.
func TestVerifyBatch(t *testing.T) {
	id := paych.ChannelIDFor(addr(0), addr(1), 0)
	mk := func(n int) []paych.SignedVoucher {
		vs := make([]paych.SignedVoucher, n)
		for i := range vs {
			vs[i] = voucher(t, i%3, id, uint32(i), uint64(i+1), tx.Amount(10*i+1))
		}
		return vs
	}
	breakers := map[string]func(*paych.SignedVoucher){
		"amount":     func(v *paych.SignedVoucher) { v.Amount++ },
		"signature":  func(v *paych.SignedVoucher) { v.Signature[63] ^= 0x10 },
		"short sig":  func(v *paych.SignedVoucher) { v.Signature = v.Signature[:10] },
		"no key":     func(v *paych.SignedVoucher) { v.PubKey = nil },
		"other key":  func(v *paych.SignedVoucher) { v.PubKey = append([]byte(nil), key(9).Public().(ed25519.PublicKey)...) },
		"zero sig":   func(v *paych.SignedVoucher) { v.Signature = make([]byte, 64) },
		"chain":      func(v *paych.SignedVoucher) { v.ChainID = "x" },
		"bad key pt": func(v *paych.SignedVoucher) { v.PubKey = bytes.Repeat([]byte{0xff}, 32) },
	}
	for _, n := range []int{0, 1, 2, 64, 100} {
		vs := mk(n)
		if got := paych.VerifyBatch(vs); len(got) != n || slicesContains(got, false) {
			t.Errorf("%d valid vouchers: %v", n, got)
		}
		if n < 2 {
			continue
		}
		for name, br := range breakers {
			vs := mk(n)
			bad := map[int]bool{0: true, n - 1: true, n / 2: true}
			for i := range bad {
				br(&vs[i])
			}
			got := paych.VerifyBatch(vs)
			for i := range vs {
				if got[i] != vs[i].Verify() || got[i] == bad[i] {
					t.Errorf("%d vouchers, %s broken at %v: result %d is %v, Verify says %v", n, name, bad, i, got[i], vs[i].Verify())
				}
			}
		}
	}
}

func slicesContains(bs []bool, v bool) bool {
	for _, b := range bs {
		if b == v {
			return true
		}
	}
	return false
}

// TestCheckVoucher: the payee-side check applies the chain's rules to the
// last voucher a payee accepted.
func TestCheckVoucher(t *testing.T) {
	c := &paych.Channel{ID: paych.ChannelIDFor(addr(0), addr(1), 0), From: addr(0), To: addr(1), Funder: addr(0), State: paych.ChannelOpen, Balance: 1000}
	prev := paych.Lane{Lane: 2, Nonce: 10, Redeemed: 500}
	v := func(nonce uint64, amt tx.Amount, exp uint64) paych.SignedVoucher {
		s, _ := paych.Voucher{ChainID: chainID, Channel: c.ID, Lane: 2, Nonce: nonce, Amount: amt, Expiry: exp}.Sign(key(0))
		return s
	}
	wrongSigner, _ := paych.Voucher{ChainID: chainID, Channel: c.ID, Lane: 2, Nonce: 11, Amount: 600}.Sign(key(1))
	otherChan, _ := paych.Voucher{ChainID: chainID, Channel: paych.ChannelID{7}, Lane: 2, Nonce: 11, Amount: 600}.Sign(key(0))
	tests := []struct {
		name  string
		v     paych.SignedVoucher
		chain string
		want  module.Reason
		delta tx.Amount
	}{
		{"next", v(11, 600, 0), chainID, module.OK, 100},
		{"not yet expired", v(11, 600, 50), chainID, module.OK, 100},
		{"expired", v(11, 600, 49), chainID, module.ReasonInvalid, 0},
		{"replay", v(10, 500, 0), chainID, module.ReasonBadNonce, 0},
		{"out of order", v(9, 700, 0), chainID, module.ReasonBadNonce, 0},
		{"no more money", v(12, 500, 0), chainID, module.ReasonInvalid, 0},
		{"wrong chain", v(11, 600, 0), "deai-main", module.ReasonWrongChainID, 0},
		{"wrong signer", wrongSigner, chainID, module.ReasonBadSignature, 0},
		{"other channel", otherChan, chainID, module.ReasonInvalid, 0},
	}
	for _, tt := range tests {
		d, err := c.CheckVoucher(&tt.v, tt.chain, prev, 50)
		if module.ReasonOf(err) != tt.want || d != tt.delta {
			t.Errorf("%s: delta %s, error %v, want %s and %v", tt.name, d, err, tt.delta, tt.want)
		}
	}
}
