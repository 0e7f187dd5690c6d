package yuma

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/sim")

// TestSimulateGolden runs every testdata/sim/*.in.json and compares the
// output with the .out.json beside it (-update rewrites them).
func TestSimulateGolden(t *testing.T) {
	ins, err := filepath.Glob("testdata/sim/*.in.json")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in.json")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := Simulate(bytes.NewReader(src), &out); err != nil {
				t.Fatalf("Simulate: %v", err)
			}
			golden := strings.TrimSuffix(in, ".in.json") + ".out.json"
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), out.String()); diff != "" {
				t.Errorf("output differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func TestSimulateErrors(t *testing.T) {
	const ok = `"n": 2, "stake": [1, 1], "emission": 10, "epochs": [{"weights": [[0, 1], [1, 0]]}]`
	tests := []struct {
		name, in, want string
	}{
		{"not json", `{`, "unexpected EOF"},
		{"unknown field", `{` + ok + `, "tempo": 360}`, `unknown field "tempo"`},
		{"unknown param", `{"params": {"rho": 10}, ` + ok + `}`, `unknown field "rho"`},
		{"trailing", `{` + ok + `} {}`, "trailing data"},
		{"missing n", `{"stake": [1], "emission": 1, "epochs": [{}]}`, "n: missing"},
		{"n zero", `{"n": 0, "stake": [], "emission": 1, "epochs": [{}]}`, "n: 0"},
		{"stake length", `{"n": 2, "stake": [1], "emission": 1, "epochs": [{}]}`, "stake: length 1, want n = 2"},
		{"negative stake", `{"n": 1, "stake": [-1], "emission": 1, "epochs": [{}]}`, "stake[0]: -1 is negative"},
		{"huge stake", `{"n": 1, "stake": [1e30], "emission": 1, "epochs": [{}]}`, "stake[0]: 1e30 is above"},
		{"huge exponent", `{"n": 1, "stake": [1e-999999999], "emission": 1, "epochs": [{}]}`, "exponent out of range"},
		{"permit length", `{"n": 2, "stake": [1, 1], "validator_permit": [true], "emission": 1, "epochs": [{}]}`, "validator_permit: length 1"},
		{"missing emission", `{"n": 1, "stake": [1], "epochs": [{}]}`, "emission: missing"},
		{"negative emission", `{"n": 1, "stake": [1], "emission": -1, "epochs": [{}]}`, "emission"},
		{"no epochs", `{"n": 1, "stake": [1], "emission": 1, "epochs": []}`, "epochs: 0"},
		{"rows", `{"n": 2, "stake": [1, 1], "emission": 1, "epochs": [{"weights": [[0, 1]]}]}`, "epochs[0].weights: 1 rows, want n = 2"},
		{"row length", `{"n": 2, "stake": [1, 1], "emission": 1, "epochs": [{"weights": [[0, 1], [1]]}]}`, "epochs[0].weights[1]: length 1, want n = 2"},
		{"weight range", `{"n": 2, "stake": [1, 1], "emission": 1, "epochs": [{"weights": [[0, 1], [65536, 0]]}]}`, "epochs[0].weights[1][0]: 65536 is not an integer in [0, 65535]"},
		{"weight fraction", `{"n": 2, "stake": [1, 1], "emission": 1, "epochs": [{"weights": [[0, 0.5], [1, 0]]}]}`, "epochs[0].weights[0][1]: 0.5 is not an integer"},
		{"kappa range", `{"params": {"kappa": 1.5}, ` + ok + `}`, "params.kappa: 1.5 not in [0, 1]"},
		{"bma range", `{"params": {"bonds_moving_average": 1000001}, ` + ok + `}`, "params.bonds_moving_average: 1000001"},
		{"max validators", `{"params": {"max_validators": 0}, ` + ok + `}`, "params.max_validators: 0"},
		{"alpha order", `{"params": {"liquid_alpha": {"alpha_low": 0.9, "alpha_high": 0.7}}, ` + ok + `}`, "alpha_low 58981 above alpha_high 45874"},
		{"alpha floor", `{"params": {"liquid_alpha": {"alpha_low": 0.01}}, ` + ok + `}`, "want at least 1638"},
		{"steepness", `{"params": {"liquid_alpha": {"steepness": 40000}}, ` + ok + `}`, "params.liquid_alpha.steepness: 40000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Simulate(strings.NewReader(tc.in), &out)
			if err == nil {
				t.Fatalf("Simulate succeeded, want error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("wrote %d bytes on error", out.Len())
			}
		})
	}
}

// TestSimulateCarriesBonds checks that a null weights epoch reproduces the
// Epoch sequence with the previous weights and carried bonds and permits.
func TestSimulateCarriesBonds(t *testing.T) {
	src := `{"n": 3, "stake": [2, 1, 0], "params": {"max_validators": 2}, "emission": 1000,
		"epochs": [{"weights": [[0, 0, 65535], [0, 0, 65535], [0, 0, 0]]}, {"weights": null}]}`
	var out bytes.Buffer
	if err := Simulate(strings.NewReader(src), &out); err != nil {
		t.Fatal(err)
	}
	p := DefaultParams()
	p.MaxValidators = 2
	w := [][]Entry{{{2, 65535}}, {{2, 65535}}, nil}
	o1, err := Epoch(Input{Stake: []uint64{2, 1, 0}, Weights: w, Emission: 1000}, p)
	if err != nil {
		t.Fatal(err)
	}
	o2, err := Epoch(Input{Stake: []uint64{2, 1, 0}, Weights: w, Bonds: o1.Bonds, ValidatorPermit: o1.ValidatorPermit, Emission: 1000}, p)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`"emission":[` + join(o1.Emission) + `]`,
		`"emission":[` + join(o2.Emission) + `]`,
	}
	for _, s := range want {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output %s lacks %s", out.String(), s)
		}
	}
}

func join(x []uint64) string {
	s := make([]string, len(x))
	for i, v := range x {
		s[i] = strconv.FormatUint(v, 10)
	}
	return strings.Join(s, ",")
}

// FuzzSimulate checks that Simulate never panics, and that whenever it
// succeeds every epoch's emission sums to the input emission or to 0.
func FuzzSimulate(f *testing.F) {
	f.Add([]byte(`{"n": 2, "stake": [1, 1], "emission": 10, "epochs": [{"weights": [[0, 1], [1, 0]]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		if err := Simulate(bytes.NewReader(data), &out); err != nil {
			if out.Len() != 0 {
				t.Fatalf("wrote output on error %v", err)
			}
			return
		}
		var in struct {
			Emission uint64 `json:"emission"`
		}
		var res struct {
			Epochs []struct {
				Emission []uint64 `json:"emission"`
			} `json:"epochs"`
		}
		if err := json.Unmarshal(data, &in); err != nil {
			t.Fatalf("accepted input does not decode: %v", err)
		}
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("output does not decode: %v", err)
		}
		for e, ep := range res.Epochs {
			var sum uint64
			for _, v := range ep.Emission {
				sum += v
			}
			if sum != in.Emission && sum != 0 {
				t.Fatalf("epoch %d: emissions sum to %d, want %d (or 0 without stake)", e, sum, in.Emission)
			}
		}
	})
}
