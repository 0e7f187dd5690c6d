package abciapp_test

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/abciapp"
	"github.com/deai-network/deai/internal/ledger/module"
)

// codeRow matches one row of the package doc's code table:
// "//	16    rate_limited         too soon: …".
var codeRow = regexp.MustCompile(`^//\t\s*(\d+)\s+([a-z_]+)(\s|$)`)

// TestEveryReasonHasARow checks that every ledger reason has a name, an exported
// Code constant with the same number, and a row in the package doc's table
// with that name: the table is what operators and clients read.
func TestEveryReasonHasARow(t *testing.T) {
	consts := map[string]uint32{
		"ok": abciapp.CodeOK, "malformed": abciapp.CodeMalformed, "oversize": abciapp.CodeOversize,
		"wrong_chain_id": abciapp.CodeWrongChainID, "bad_signature": abciapp.CodeBadSignature,
		"bad_nonce": abciapp.CodeBadNonce, "insufficient_funds": abciapp.CodeInsufficientFunds,
		"overflow": abciapp.CodeOverflow, "zero_amount": abciapp.CodeZeroAmount, "fee_too_low": abciapp.CodeFeeTooLow,
		"unknown_message": abciapp.CodeUnknownMessage, "unauthorized": abciapp.CodeUnauthorized,
		"invalid": abciapp.CodeInvalid, "not_found": abciapp.CodeNotFound, "bad_query": abciapp.CodeBadQuery,
		"internal": abciapp.CodeInternal, "rate_limited": abciapp.CodeRateLimited,
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[uint32]string{}
	for _, line := range strings.Split(string(doc), "\n") {
		m := codeRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, err := strconv.ParseUint(m[1], 10, 32)
		if err != nil {
			t.Fatalf("doc row %q: %v", line, err)
		}
		if prev, dup := rows[uint32(n)]; dup {
			t.Errorf("doc has two rows for code %d: %s and %s", n, prev, m[2])
		}
		rows[uint32(n)] = m[2]
	}

	want := map[uint32]string{}
	gotConsts := map[string]uint32{}
	for _, r := range module.Reasons() {
		name := r.String()
		if name == "" || name == fmt.Sprintf("reason_%d", uint32(r)) {
			t.Errorf("reason %d has no name", uint32(r))
		}
		if abciapp.CodeName(uint32(r)) != name {
			t.Errorf("CodeName(%d) = %q, want %q", uint32(r), abciapp.CodeName(uint32(r)), name)
		}
		want[uint32(r)] = name
		if c, ok := consts[name]; ok {
			gotConsts[name] = c
		}
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("doc.go code table (-reasons +rows):\n%s", diff)
	}
	wantConsts := map[string]uint32{}
	for code, name := range want {
		wantConsts[name] = code
	}
	if diff := cmp.Diff(wantConsts, gotConsts); diff != "" {
		t.Errorf("Code constants (-reasons +constants); add a constant to codes.go and to this test:\n%s", diff)
	}
}
