package cli_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/cli"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

const (
	sdlDir = "../market/manifest/testdata/sdl"
	draDir = "../market/manifest/testdata/dra"
)

// TestDeployValidate runs `deai deploy validate` on valid and invalid
// files in text and JSON and compares exit status, stdout and stderr with
// testdata/deploy/<name>.golden (go test -update rewrites them).
func TestDeployValidate(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
	}{
		{"wordpress", []string{sdlDir + "/wordpress-mariadb.yaml"}, "", 0},
		{"wordpress-json", []string{sdlDir + "/wordpress-mariadb.yaml", "-o", "json"}, "", 0},
		{"sglang", []string{sdlDir + "/sglang-mistral-7b.yaml"}, "", 0},
		{"vllm", []string{sdlDir + "/vllm-llama-3.1-8b.yaml"}, "", 0},
		{"ollama-json", []string{sdlDir + "/ollama-gpu.yaml", "--output", "json"}, "", 0},
		{"features", []string{"testdata/deploy/features.yaml"}, "", 0},
		{"features-json", []string{"testdata/deploy/features.yaml", "-o", "json"}, "", 0},
		{"dra-v1", []string{draDir + "/v1-h100-mps.yaml"}, "", 0},
		{"dra-v1-json", []string{draDir + "/v1-h100-mps.yaml", "-o", "json"}, "", 0},
		{"dra-v1beta1", []string{draDir + "/v1beta1-h100-timeslicing.yaml"}, "", 0},
		{"dra-brief-sample", []string{draDir + "/brief-sample.yaml"}, "", 2},
		{"dra-brief-sample-json", []string{draDir + "/brief-sample.yaml", "-o", "json"}, "", 2},
		{"invalid", []string{"testdata/deploy/invalid.yaml"}, "", 2},
		{"invalid-json", []string{"testdata/deploy/invalid.yaml", "-o", "json"}, "", 2},
		{"unknown-format", []string{"testdata/deploy/unknown.yaml"}, "", 2},
		{"stdin", []string{"-"}, "apiVersion: resource.k8s.io/v1alpha3\nkind: ResourceClaimTemplate\nmetadata: {name: x}\nspec:\n  spec:\n    devices:\n      requests:\n      - {name: g, deviceClassName: gpu.nvidia.com, count: 1}\n", 2},
		{"missing-file", []string{"testdata/deploy/no-such-file.yaml"}, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := cli.Run(t.Context(), append([]string{"deploy", "validate"}, tt.args...), strings.NewReader(tt.stdin), &out, &errb)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tt.code, errb.String())
			}
			got := fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code, out.String(), errb.String())
			goldenFile(t, filepath.Join("testdata", "deploy", tt.name+".golden"), got)
			if strings.HasSuffix(tt.name, "-json") {
				var v map[string]any
				if err := json.Unmarshal(out.Bytes(), &v); err != nil {
					t.Errorf("stdout is not one JSON document: %v", err)
				}
				if valid := v["valid"] == true; valid != (tt.code == 0) {
					t.Errorf("valid = %v with exit %d", v["valid"], code)
				}
			}
		})
	}
}

func goldenFile(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run Deploy -update creates it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestDeployValidateJSONStable checks that the JSON of a valid SDL is the
// same on every run (map iteration in the parser must not leak through).
func TestDeployValidateJSONStable(t *testing.T) {
	var first string
	for i := range 5 {
		var out, errb bytes.Buffer
		if code := cli.Run(t.Context(), []string{"deploy", "validate", "testdata/deploy/features.yaml", "-o", "json"}, nil, &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		if i == 0 {
			first = out.String()
		} else if out.String() != first {
			t.Fatalf("run %d printed different JSON", i)
		}
	}
}

func TestDeployHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := cli.Run(t.Context(), []string{"deploy", "--help"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "validate") {
		t.Errorf("deploy --help does not list validate:\n%s", out.String())
	}
}
