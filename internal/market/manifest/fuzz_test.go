package manifest_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/market/manifest"
)

// checkErr requires err to be made of field errors with messages.
func checkErr(t *testing.T, err error) {
	t.Helper()
	for _, fe := range manifest.FieldErrors(err) {
		if fe.Msg == "" {
			t.Fatalf("empty error message in %v", err)
		}
		var want *manifest.FieldError
		if !errors.As(err, &want) {
			t.Fatalf("error %v is not made of *FieldError", err)
		}
	}
}

func addSeeds(f *testing.F, glob string, extra ...string) {
	files, _ := filepath.Glob(glob)
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// FuzzParseSDL: ParseSDL never panics or hangs, and what it accepts is
// consistent: every group validates, the manifest lines up with the
// groups and hashes.
func FuzzParseSDL(f *testing.F) {
	addSeeds(f, "testdata/sdl/*.yaml", baseSDL, featuresSDL, twoServices(baseSDL), "version: \"2.1\"\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := manifest.ParseSDL(data)
		if err != nil {
			checkErr(t, err)
			return
		}
		groups := s.Groups()
		if len(groups) == 0 {
			t.Fatal("accepted an SDL without groups")
		}
		m := s.Manifest()
		if len(m.Groups) != len(groups) {
			t.Fatalf("%d manifest groups for %d groups", len(m.Groups), len(groups))
		}
		for i, g := range groups {
			if err := g.Validate(); err != nil {
				t.Fatalf("accepted group does not validate: %v", err)
			}
			if len(m.Groups[i].Services) != len(g.Units) || m.Groups[i].Name != g.Name {
				t.Fatalf("manifest group %d does not line up with its group", i)
			}
		}
		if a, b := m.Hash(), s.Manifest().Hash(); a != b {
			t.Fatal("hash is not deterministic")
		}
	})
}

// FuzzParseDRA: ParseDRA never panics or hangs, and an accepted claim's
// GPU requirement validates.
func FuzzParseDRA(f *testing.F) {
	addSeeds(f, "testdata/dra/*.yaml", nested("v1"), nested("v1beta1"), nested("v1alpha3"),
		h100Class("v1")+claimV1("v1", "      requests:\n      - name: gpu\n        firstAvailable:\n        - {name: a, deviceClassName: h100.decentralized-compute.com}\n        - {name: b, deviceClassName: gpu.nvidia.com}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := manifest.ParseDRA(data)
		if err != nil {
			checkErr(t, err)
			return
		}
		if err := r.GPU.Validate("gpu"); err != nil {
			t.Fatalf("accepted GPU requirement does not validate: %v", err)
		}
		if r.GPU.Units == 0 || len(r.Requests) != 1 {
			t.Fatalf("accepted claim without a GPU: %+v", r)
		}
	})
}

// FuzzDetect: Detect never panics and agrees with the parsers on their
// own examples.
func FuzzDetect(f *testing.F) {
	addSeeds(f, "testdata/*/*.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		switch manifest.Detect(data) {
		case manifest.FormatSDL, manifest.FormatDRA, manifest.FormatUnknown:
		default:
			t.Fatal("unknown format")
		}
	})
}

func TestDetect(t *testing.T) {
	tests := map[string]manifest.Format{
		"testdata/sdl/wordpress-mariadb.yaml":        manifest.FormatSDL,
		"testdata/sdl/ollama-gpu.yaml":               manifest.FormatSDL,
		"testdata/dra/v1-h100-mps.yaml":              manifest.FormatDRA,
		"testdata/dra/brief-sample.yaml":             manifest.FormatDRA,
		"testdata/dra/v1beta1-h100-timeslicing.yaml": manifest.FormatDRA,
	}
	for name, want := range tests {
		if got := manifest.Detect(readFile(t, name)); got != want {
			t.Errorf("Detect(%s) = %q, want %q", name, got, want)
		}
	}
	for src, want := range map[string]manifest.Format{
		"":                                     manifest.FormatUnknown,
		"hello: world\n":                       manifest.FormatUnknown,
		"- a\n":                                manifest.FormatUnknown,
		"---\n# only\n---\nversion: \"2.0\"\n": manifest.FormatSDL,
		"version: [\nservices:\n":              manifest.FormatSDL, // broken, but the SDL parser should say so
		"kind: Pod\nspec: [\n":                 manifest.FormatDRA,
		strings.Repeat("a", 10):                manifest.FormatUnknown,
	} {
		if got := manifest.Detect([]byte(src)); got != want {
			t.Errorf("Detect(%q) = %q, want %q", src, got, want)
		}
	}
}
