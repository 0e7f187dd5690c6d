package tx

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode checks that Decode never panics and that whatever it accepts
// is canonical: re-encoding gives back the input byte for byte. The seed
// corpus lives in testdata/fuzz/FuzzDecode (regenerate with
// go test -run TestWriteFuzzCorpus -args -write-corpus).
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	reg := bankRegistry(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := Decode(b, reg)
		if err != nil {
			return
		}
		re, err := x.Encode()
		if err != nil {
			t.Fatalf("decoded tx does not encode: %v", err)
		}
		if !bytes.Equal(re, b) {
			t.Fatalf("non-canonical input accepted:\n in %x\nout %x", b, re)
		}
		fresh := &Tx{ChainID: x.ChainID, PubKey: x.PubKey, Nonce: x.Nonce, Fee: x.Fee, Memo: x.Memo, Msgs: x.Msgs, Signature: x.Signature}
		if fb, err := fresh.Encode(); err != nil || !bytes.Equal(fb, b) {
			t.Fatalf("field-by-field re-encoding differs: %v", err)
		}
		_ = x.ValidateBasic()
		_, _ = x.TotalSpend()
		_ = x.VerifySignature()
	})
}

func fuzzSeeds(tb testing.TB) [][]byte {
	valid, err := signedTransfer(tb).Encode()
	if err != nil {
		tb.Fatal(err)
	}
	multi := validRaw()
	multi.msgCount = 3
	multi.msgs = [][]byte{sendMsgBytes(1), sendMsgBytes(2), sendMsgBytes(3)}
	return [][]byte{
		valid,
		valid[:len(valid)-1],
		valid[:40],
		append(append([]byte{}, valid...), 0),
		append(append([]byte{}, valid...), make([]byte, MaxTxBytes)...),
		multi.bytes(),
		{},
		{1},
		{2, 0},
	}
}

var writeCorpus = flag.Bool("write-corpus", false, "rewrite testdata/fuzz/FuzzDecode from fuzzSeeds")

// TestWriteFuzzCorpus keeps the committed seed corpus in step with
// fuzzSeeds; it only writes when asked with -write-corpus.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*writeCorpus {
		t.Skip("pass -write-corpus to regenerate testdata/fuzz/FuzzDecode")
	}
	names := []string{"valid", "truncated-signature", "truncated-header", "trailing-byte", "oversize", "three-msgs", "empty", "version-only", "unknown-version"}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	for i, s := range fuzzSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, names[i]), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
