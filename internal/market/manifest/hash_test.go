package manifest_test

import (
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n got: %s\nwant: %s", path, got, want)
	}
}

func hashOf(t *testing.T, src string) string {
	t.Helper()
	h := mustParseSDL(t, []byte(src)).Manifest().Hash()
	return hex.EncodeToString(h[:])
}

// TestHashIgnoresMapOrder reorders everything that is a YAML map — top
// sections, services, profiles, keys within a service and within an
// expose — and reformats, none of which may change the on-chain hash.
func TestHashIgnoresMapOrder(t *testing.T) {
	a := `version: "2.0"
services:
  web:
    image: nginx:1.27
    env: [A=1, B=2]
    expose:
      - port: 80
        as: 80
        to: [{global: true}, {service: db}]
  db:
    image: postgres:16
    expose: [{port: 5432, to: [{service: web}]}]
profiles:
  compute:
    web: {resources: {cpu: {units: 1}, memory: {size: 1Gi}, storage: {size: 1Gi}}}
    db: {resources: {cpu: {units: 2}, memory: {size: 2Gi}, storage: {size: 5Gi}}}
  placement:
    dc:
      pricing:
        web: {denom: udeai, amount: 10}
        db: {denom: udeai, amount: 20}
deployment:
  web: {dc: {profile: web, count: 1}}
  db: {dc: {profile: db, count: 1}}
`
	b := `# the same deployment, every map in another order
deployment:
  db:
    dc: {count: 1, profile: db}
  web:
    dc: {count: 1, profile: web}
profiles:
  placement:
    dc:
      pricing:
        db: {amount: 20, denom: udeai}
        web: {amount: "10", denom: udeai}
  compute:
    db: {resources: {storage: {size: 5Gi}, memory: {size: 2048Mi}, cpu: {units: 2000m}}}
    web: {resources: {storage: {size: 1Gi}, memory: {size: 1Gi}, cpu: {units: "1"}}}
services:
  db:
    expose:
      - to: [{service: web}]
        port: 5432
    image: postgres:16
  web:
    expose:
      - to:
          - service: db
          - global: true
        as: 80
        port: 80
    env:
      - A=1
      - B=2
    image: nginx:1.27
version: "2.0"
`
	if ha, hb := hashOf(t, a), hashOf(t, b); ha != hb {
		t.Errorf("reordered SDL changed the hash: %s vs %s", ha, hb)
	}
	for _, change := range []struct{ name, old, new string }{
		{"env value", "B=2", "B=3"},
		{"env order", "[A=1, B=2]", "[B=2, A=1]"},
		{"image", "nginx:1.27", "nginx:1.28"},
		{"memory", "size: 2Gi", "size: 3Gi"},
		{"count", "web: {dc: {profile: web, count: 1}}", "web: {dc: {profile: web, count: 2}}"},
		{"port", "port: 5432", "port: 5433"},
	} {
		if hashOf(t, a) == hashOf(t, strings.Replace(a, change.old, change.new, 1)) {
			t.Errorf("changing the %s did not change the hash", change.name)
		}
	}
	// The price is on chain, not in the manifest.
	if hashOf(t, a) != hashOf(t, strings.Replace(a, "amount: 10}", "amount: 11}", 1)) {
		t.Error("changing a price changed the manifest hash")
	}
}

// TestCanonicalJSONGolden pins the canonical encoding and hash of the
// wordpress example: a change here changes every deployment's on-chain
// hash, so it must be deliberate.
func TestCanonicalJSONGolden(t *testing.T) {
	m := mustParseSDL(t, readFile(t, "testdata/sdl/wordpress-mariadb.yaml")).Manifest()
	b, err := m.CanonicalJSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "wordpress-manifest.json", append(b, '\n'))
	h := m.Hash()
	golden(t, "wordpress-manifest.sha256", []byte(hex.EncodeToString(h[:])+"\n"))
	if strings.Contains(string(b), "\n") || strings.Contains(string(b), `\u0026`) {
		t.Errorf("canonical JSON has whitespace or escaped HTML: %s", b)
	}
}
