package wire

import (
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var writeCorpus = flag.Bool("write-corpus", false, "rewrite the fuzz seed corpora under testdata/fuzz")

// FuzzDecodeReceipt checks that DecodeReceipt never panics and accepts only
// canonical encodings. Seeds: testdata/fuzz/FuzzDecodeReceipt (regenerate
// with go test -run TestWriteFuzzCorpus -args -write-corpus).
func FuzzDecodeReceipt(f *testing.F) {
	for _, s := range receiptSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeReceipt(b)
		if err != nil {
			return
		}
		re, err := r.Encode()
		if err != nil {
			t.Fatalf("decoded receipt does not encode: %v", err)
		}
		if !bytes.Equal(re, b) {
			t.Fatalf("non-canonical receipt accepted:\n in %x\nout %x", b, re)
		}
		_ = r.Verify()
		h, _ := r.EncodeHeader()
		if back, err := DecodeHeader(h); err != nil || back.Netuid != r.Netuid {
			t.Fatalf("header round trip: %v", err)
		}
	})
}

// FuzzParseEnvelope checks that ParseEnvelope never panics and that what it
// accepts writes back the same header values.
func FuzzParseEnvelope(f *testing.F) {
	for _, s := range envelopeSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := headerFromLines(s)
		e, err := ParseEnvelope(h)
		if err != nil {
			return
		}
		out := http.Header{}
		e.Apply(out)
		for _, k := range []string{HeaderVersion, HeaderTimestamp, HeaderUUID, HeaderSignedBy, HeaderSignedFor, HeaderSignature} {
			if out.Get(k) != h.Get(k) {
				t.Fatalf("%s: parsed %q, wrote %q", k, h.Get(k), out.Get(k))
			}
		}
	})
}

// headerFromLines reads "Key: value" lines into a header.
func headerFromLines(s string) http.Header {
	h := http.Header{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if ok {
			h.Set(k, v)
		}
	}
	return h
}

func receiptSeeds(tb testing.TB) [][]byte {
	r := testReceipt()
	r.Sign(newTestKey(2))
	a, _ := r.Encode()
	r.ModelDigest, r.TokensDigest = "", ""
	r.Sign(newTestKey(3))
	b, _ := r.Encode()
	return [][]byte{a, b, a[:40], {1}}
}

func envelopeSeeds(tb testing.TB) []string {
	req := signedRequest(tb, []byte(`{"prompt":"x"}`), newTestKey(1), newTestKey(2).Address(), t0, testUUID)
	var sb strings.Builder
	for _, k := range []string{HeaderVersion, HeaderTimestamp, HeaderUUID, HeaderSignedBy, HeaderSignedFor, HeaderSignature} {
		fmt.Fprintf(&sb, "%s: %s\n", k, req.Header.Get(k))
	}
	good := sb.String()
	return []string{good, strings.Replace(good, "0x", "", 1), HeaderSignedBy + ": 00\n", ""}
}

// TestWriteFuzzCorpus checks that the committed seed corpora match the
// seeds (which are deterministic), and rewrites them with -write-corpus.
func TestWriteFuzzCorpus(t *testing.T) {
	write := func(name string, i int, lit string) {
		dir := filepath.Join("testdata", "fuzz", name)
		path := filepath.Join(dir, fmt.Sprintf("seed%d", i))
		content := "go test fuzz v1\n" + lit + "\n"
		if !*writeCorpus {
			got, err := os.ReadFile(path)
			if err != nil || string(got) != content {
				t.Errorf("%s is stale or missing (%v); rerun with -args -write-corpus", path, err)
			}
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range receiptSeeds(t) {
		write("FuzzDecodeReceipt", i, fmt.Sprintf("[]byte(%q)", s))
	}
	for i, s := range envelopeSeeds(t) {
		write("FuzzParseEnvelope", i, fmt.Sprintf("string(%q)", s))
	}
}
