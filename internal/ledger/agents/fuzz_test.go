package agents_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/ledgertest"
	"github.com/deai-network/deai/internal/tx"
)

func registry(tb testing.TB) *tx.Registry {
	tb.Helper()
	r := tx.NewRegistry()
	if err := agents.New().RegisterMsgs(r); err != nil {
		tb.Fatal(err)
	}
	return r
}

// sampleMsgs has one valid message of every type, in type order, using
// every field.
func sampleMsgs() []tx.Msg {
	full := spec(1500, "llm/chat", "summarize")
	full.Description = "Summarizes — in any language"
	return []tx.Msg{
		&agents.MsgRegisterService{Owner: addr(0), Name: "summarize.acme", ServiceSpec: full, Expiry: 1 << 40},
		&agents.MsgUpdateService{Owner: addr(0), Name: "summarize.acme", ServiceSpec: spec(0)},
		&agents.MsgRenewService{Owner: addr(0), Name: "summarize.acme", Expiry: 99},
		&agents.MsgDeregisterService{Owner: addr(0), Name: "summarize.acme"},
		&agents.MsgGrantSpend{Owner: addr(0), Agent: addr(1), SpendLimits: agents.SpendLimits{Allowance: 100, PeriodBlocks: 3600, TotalCap: 1e9,
			PerCallMax: 7, Allowlist: sorted(addr(2), addr(3), addr(4)), Expiry: 12345}},
		&agents.MsgRevokeSpend{Owner: addr(0), Agent: addr(1)},
		&agents.MsgSpend{Owner: addr(0), Agent: addr(1), To: addr(2), Amount: 42},
	}
}

func TestMsgsRoundTrip(t *testing.T) {
	reg := registry(t)
	msgs := sampleMsgs()
	ledgertest.CheckMsgs(t, reg, msgs, ledgertest.MsgChecks{ValidateBasic: true, JSONRoundTrip: true})
	for _, m := range msgs {
		if _, ok := m.(tx.Spender); ok {
			t.Errorf("%T is a tx.Spender: the agents module's messages spend the owner's funds or none", m)
		}
	}
	types := reg.Types()
	if len(types) != len(msgs) {
		t.Fatalf("registered types %v", types)
	}
	for i, m := range msgs {
		if m.Type() != types[i] || m.Type()>>8 != 0x05 {
			t.Errorf("sample %d is %T, type %#04x, want %#04x in 0x05xx", i, m, m.Type(), types[i])
		}
	}
}

func TestValidateBasicRejects(t *testing.T) {
	good := agents.SpendLimits{Allowance: 1, PeriodBlocks: 1, TotalCap: 1}
	with := func(f func(*agents.SpendLimits)) *agents.MsgGrantSpend {
		l := good
		f(&l)
		return &agents.MsgGrantSpend{Owner: addr(0), Agent: addr(1), SpendLimits: l}
	}
	noDigest := register(0, "a", 9, 1)
	noDigest.SchemaDigest = agents.Digest{}
	badURL := register(0, "a", 9, 1)
	badURL.Endpoint = "ftp://x"
	ctrl := register(0, "a", 9, 1)
	ctrl.Description = "a\nb"
	long := register(0, "a", 9, 1)
	long.Description = strings.Repeat("x", agents.MaxDescriptionLen+1)
	tooMany := register(0, "a", 9, 1)
	for i := range agents.MaxCapabilities + 1 {
		tooMany.Capabilities = append(tooMany.Capabilities, fmt.Sprintf("c%02d", i))
	}
	tests := []struct {
		name string
		msg  tx.Msg
	}{
		{"register without owner", &agents.MsgRegisterService{Name: "a", ServiceSpec: spec(1), Expiry: 9}},
		{"empty name", register(0, "", 9, 1)},
		{"upper-case name", register(0, "Acme", 9, 1)},
		{"empty label", register(0, "a..b", 9, 1)},
		{"label starting with -", register(0, "-a", 9, 1)},
		{"label ending with -", register(0, "a-.b", 9, 1)},
		{"label too long", register(0, strings.Repeat("a", 64), 9, 1)},
		{"name too long", register(0, strings.Repeat("abcdefg.", 17), 9, 1)},
		{"zero expiry", register(0, "a", 0, 1)},
		{"no schema digest", noDigest},
		{"endpoint not http", badURL},
		{"control character", ctrl},
		{"description too long", long},
		{"too many capabilities", tooMany},
		{"duplicate capability", register(0, "a", 9, 1, "x", "x")},
		{"capability with a space", register(0, "a", 9, 1, "a b")},
		{"capability starting with /", register(0, "a", 9, 1, "/x")},
		{"renew zero expiry", &agents.MsgRenewService{Owner: addr(0), Name: "a"}},
		{"deregister bad name", &agents.MsgDeregisterService{Owner: addr(0), Name: "A"}},
		{"update without owner", &agents.MsgUpdateService{Name: "a", ServiceSpec: spec(1)}},
		{"grant without agent", &agents.MsgGrantSpend{Owner: addr(0), SpendLimits: good}},
		{"grant to the owner", &agents.MsgGrantSpend{Owner: addr(0), Agent: addr(0), SpendLimits: good}},
		{"zero allowance", with(func(l *agents.SpendLimits) { l.Allowance = 0 })},
		{"zero cap", with(func(l *agents.SpendLimits) { l.TotalCap = 0 })},
		{"zero period", with(func(l *agents.SpendLimits) { l.PeriodBlocks = 0 })},
		{"period too long", with(func(l *agents.SpendLimits) { l.PeriodBlocks = agents.MaxPeriodBlocks + 1 })},
		{"zero allowlist entry", with(func(l *agents.SpendLimits) { l.Allowlist = []tx.Address{{}} })},
		{"duplicate allowlist entry", with(func(l *agents.SpendLimits) { l.Allowlist = []tx.Address{addr(2), addr(2)} })},
		{"revoke without agent", &agents.MsgRevokeSpend{Owner: addr(0)}},
		{"spend zero", &agents.MsgSpend{Owner: addr(0), Agent: addr(1), To: addr(2)}},
		{"spend without recipient", &agents.MsgSpend{Owner: addr(0), Agent: addr(1), Amount: 1}},
	}
	for _, tt := range tests {
		if err := tt.msg.ValidateBasic(); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	for _, ok := range []string{"a", "a-b.c9", "9lives", strings.Repeat("a", 63) + "." + strings.Repeat("b", 63)} {
		if err := agents.ValidName(ok); err != nil {
			t.Errorf("ValidName(%q): %v", ok, err)
		}
	}
}

func TestParseGenesis(t *testing.T) {
	g, err := agents.ParseGenesis(nil)
	if err != nil || g != agents.DefaultGenesis() {
		t.Errorf("nil section: %+v %v", g, err)
	}
	js, _ := json.Marshal(agents.DefaultGenesis())
	if g, err := agents.ParseGenesis(js); err != nil || g != agents.DefaultGenesis() {
		t.Errorf("default round trip: %+v %v", g, err)
	}
	for _, bad := range []string{
		`{}`, `{"params":{}}`, `{"params":{"fee_per_block":"1","max_registration_blocks":10}}`,
		`{"params":{"fee_per_block":"1","max_registration_blocks":0,"end_block_limit":1}}`,
		`{"params":{"fee_per_block":"1","max_registration_blocks":10,"end_block_limit":0}}`,
		`{"params":{"fee_per_block":"18446744073709551615","max_registration_blocks":10,"end_block_limit":1}}`,
		`{"params":{"fee_per_block":"1","max_registration_blocks":10,"end_block_limit":1,"x":1}}`,
		`{"params":{"fee_per_block":"1","max_registration_blocks":10,"end_block_limit":1}} {}`,
	} {
		if _, err := agents.ParseGenesis(json.RawMessage(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// FuzzDecodeMsgs checks every message decoder: no panics, and whatever
// decodes is canonical (re-encodes to the input) and survives
// ValidateBasic and JSON. An input is a type index byte and a body. The
// seed corpus lives in testdata/fuzz/FuzzDecodeMsgs (regenerate with
// go test -run TestWriteFuzzCorpus -args -write-corpus).
func FuzzDecodeMsgs(f *testing.F) { ledgertest.FuzzDecodeMsgs(f, registry(f), fuzzSeeds(), nil) }

func fuzzSeeds() [][]byte { return ledgertest.FuzzSeeds(sampleMsgs(), []byte{4, 0xff, 0xff, 0xff}) }

// TestWriteFuzzCorpus keeps the committed seed corpus in step with
// fuzzSeeds; it only writes when asked with -write-corpus.
func TestWriteFuzzCorpus(t *testing.T) {
	ledgertest.WriteCorpus(t, fuzzSeeds(), func(name string, data []byte) error {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		return os.WriteFile(name, data, 0o644)
	})
}
