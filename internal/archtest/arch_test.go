package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/deai-network/deai"

type pkgInfo struct {
	path    string
	name    string
	doc     string
	imports []string
}

// listPackages runs `go list` over the module: the real build graph, not a
// hand-kept list.
func listPackages(t *testing.T) []pkgInfo {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{.Name}}\t{{.Doc}}\t{{join .Imports \" \"}}", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkgInfo
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 4 {
			t.Fatalf("unexpected go list line %q", sc.Text())
		}
		pkgs = append(pkgs, pkgInfo{path: f[0], name: f[1], doc: f[2], imports: strings.Fields(f[3])})
	}
	if len(pkgs) < 3 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func rel(p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, module), "/") }

func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		want := "Package " + p.name + " "
		if p.name == "main" {
			want = "Command "
		}
		if !strings.HasPrefix(p.doc, want) {
			t.Errorf("%s: package doc %q does not start with %q", rel(p.path), p.doc, want)
		}
	}
}

// layers ranks internal packages from the bottom (errs) to the top (cmd). A
// package may import only packages of a strictly lower rank, or packages of
// its own family (the same top-level directory under internal/).
var layers = map[string]int{
	"internal/errs": 0, "internal/log": 0,
	"internal/tx":      1,
	"internal/wire":    2,
	"internal/wallet":  2,
	"internal/infer":   2,
	"internal/hub":     2,
	"internal/ledger":  3,
	"internal/chain":   4,
	"internal/abciapp": 5,
	// Services: they never import each other; node wires them.
	"internal/serve": 6, "internal/verify": 6, "internal/subnet": 6, "internal/market": 6,
	"internal/agent": 6, "internal/gateway": 6,
	"internal/config":   7,
	"internal/node":     8,
	"internal/cli":      9,
	"internal/archtest": 10,
	"cmd":               10,
}

// family returns the layer key of a package path relative to the module.
func family(r string) (string, bool) {
	parts := strings.Split(r, "/")
	key := parts[0]
	if parts[0] == "internal" && len(parts) > 1 {
		key = "internal/" + parts[1]
	}
	_, ok := layers[key]
	return key, ok
}

func TestImportDirection(t *testing.T) {
	for _, p := range listPackages(t) {
		from, ok := family(rel(p.path))
		if !ok {
			t.Errorf("%s: not in the layer table of arch_test.go; add it", rel(p.path))
			continue
		}
		for _, imp := range p.imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to, ok := family(rel(imp))
			if !ok || to == from {
				continue
			}
			if layers[to] >= layers[from] {
				t.Errorf("%s imports %s: %s (rank %d) may only import lower layers, %s is rank %d",
					rel(p.path), rel(imp), from, layers[from], to, layers[to])
			}
		}
	}
}

// forbidden lists imports that break a package's contract.
var forbidden = []struct {
	family  string
	prefix  []string
	because string
}{
	{"internal/ledger", []string{"net", "os", "math/rand", "crypto/rand", "time", "sync", "github.com/cometbft/", "github.com/cockroachdb/"},
		"the ledger is a pure deterministic state machine: no network, files, clock, randomness, goroutines or consensus types"},
	{"internal/tx", []string{"net", "os", "github.com/cometbft/"}, "tx is pure encoding"},
	{"internal/infer", []string{"net/http", "github.com/cometbft/"}, "the engine is independent of the network and the ledger"},
}

func TestForbiddenImports(t *testing.T) {
	for _, p := range listPackages(t) {
		from, _ := family(rel(p.path))
		for _, f := range forbidden {
			if from != f.family {
				continue
			}
			for _, imp := range p.imports {
				for _, bad := range f.prefix {
					if imp == bad || strings.HasPrefix(imp, bad+"/") || (strings.HasSuffix(bad, "/") && strings.HasPrefix(imp, bad)) {
						t.Errorf("%s imports %s: %s", rel(p.path), imp, f.because)
					}
				}
			}
		}
	}
}

// TestOnlyWiringImportsConfig enforces that config is translated into each
// package's Options by cli and node only.
func TestOnlyWiringImportsConfig(t *testing.T) {
	for _, p := range listPackages(t) {
		from, _ := family(rel(p.path))
		if from == "internal/cli" || from == "internal/node" || from == "internal/config" {
			continue
		}
		for _, imp := range p.imports {
			if imp == module+"/internal/config" {
				t.Errorf("%s imports internal/config: only cli and node may", rel(p.path))
			}
		}
	}
}
