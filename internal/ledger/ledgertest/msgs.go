package ledgertest

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"path"
	"reflect"
	"testing"

	"github.com/deai-network/deai/internal/tx"
)

// MsgChecks choose the optional checks of CheckMsgs.
type MsgChecks struct {
	ValidateBasic bool // every sample passes ValidateBasic
	JSONRoundTrip bool // the JSON form decodes back to an equal message
}

// CheckMsgs checks a module's sample messages against its registry: the
// canonical body decodes back to an equal message, the message encodes
// to JSON, and the body with one byte less or one byte more is refused.
func CheckMsgs(t testing.TB, reg *tx.Registry, msgs []tx.Msg, o MsgChecks) {
	t.Helper()
	for _, m := range msgs {
		if o.ValidateBasic {
			if err := m.ValidateBasic(); err != nil {
				t.Errorf("%T: ValidateBasic: %v", m, err)
			}
		}
		body := m.AppendBody(nil)
		got, err := reg.DecodeMsg(m.Type(), body)
		if err != nil {
			t.Errorf("%T: %v", m, err)
			continue
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%T: decoded %+v, want %+v", m, got, m)
		}
		js, err := json.Marshal(got)
		if err != nil {
			t.Errorf("%T: JSON: %v", m, err)
		}
		if o.JSONRoundTrip {
			back := reflect.New(reflect.TypeOf(m).Elem()).Interface()
			if err := json.Unmarshal(js, back); err != nil || !reflect.DeepEqual(back, m) {
				t.Errorf("%T: JSON round trip %s gives %+v (%v)", m, js, back, err)
			}
		}
		if len(body) > 0 {
			if _, err := reg.DecodeMsg(m.Type(), body[:len(body)-1]); err == nil {
				t.Errorf("%T: truncated body accepted", m)
			}
			if _, err := reg.DecodeMsg(m.Type(), append(bytes.Clone(body), 0)); err == nil {
				t.Errorf("%T: trailing byte accepted", m)
			}
		}
	}
}

// FuzzSeeds makes the seed inputs of FuzzDecodeMsgs from sample messages
// (a type index byte, then the body; long bodies also cut in half), plus
// an empty input and extra.
func FuzzSeeds(msgs []tx.Msg, extra []byte) [][]byte {
	var seeds [][]byte
	for k, m := range msgs {
		body := m.AppendBody(nil)
		seeds = append(seeds, append([]byte{byte(k)}, body...))
		if len(body) > 4 {
			seeds = append(seeds, append([]byte{byte(k)}, body[:len(body)/2]...))
		}
	}
	return append(seeds, []byte{}, extra)
}

// FuzzDecodeMsgs fuzzes a module's message decoders: an input is a type
// index byte and a body; whatever decodes must be canonical (re-encode to
// the input) and survive ValidateBasic and JSON, and then check, when
// not nil, for the module's own properties.
func FuzzDecodeMsgs(f *testing.F, reg *tx.Registry, seeds [][]byte, check func(t *testing.T, m tx.Msg)) {
	for _, s := range seeds {
		f.Add(s)
	}
	types := reg.Types()
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		typ, body := types[int(b[0])%len(types)], b[1:]
		m, err := reg.DecodeMsg(typ, body)
		if err != nil {
			return
		}
		if re := m.AppendBody(nil); !bytes.Equal(re, body) {
			t.Fatalf("non-canonical body accepted:\n in %x\nout %x", body, re)
		}
		_ = m.ValidateBasic()
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("JSON: %v", err)
		}
		if check != nil {
			check(t, m)
		}
	})
}

var writeCorpus = flag.Bool("write-corpus", false, "rewrite testdata/fuzz/FuzzDecodeMsgs from the package's fuzz seeds")

// WriteCorpus keeps the committed seed corpus of FuzzDecodeMsgs in step
// with seeds; it only writes (through writeFile, which creates the file
// and its directory: the ledger packages touch no files themselves) when
// the test runs with -write-corpus.
func WriteCorpus(t *testing.T, seeds [][]byte, writeFile func(name string, data []byte) error) {
	if !*writeCorpus {
		t.Skip("pass -write-corpus to regenerate testdata/fuzz/FuzzDecodeMsgs")
	}
	for i, s := range seeds {
		name := path.Join("testdata", "fuzz", "FuzzDecodeMsgs", fmt.Sprintf("seed%02d", i))
		if err := writeFile(name, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", s)); err != nil {
			t.Fatal(err)
		}
	}
}
