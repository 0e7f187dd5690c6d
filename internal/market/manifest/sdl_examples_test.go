package manifest_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market/manifest"
)

// TestExampleSDLs parses the shipped example SDLs (testdata/sdl, copies of
// ../shared/examples/sdl) and checks every group field against values
// worked out by hand from each file.
func TestExampleSDLs(t *testing.T) {
	tests := []struct {
		file   string
		groups []lmarket.GroupSpec
		warns  []string // warning paths
	}{
		{
			file: "ollama-gpu.yaml",
			groups: []lmarket.GroupSpec{{
				Name: "akash",
				// The Akash auditor is dropped with a warning: the ledger
				// takes only deai addresses.
				Units: []lmarket.ResourceUnit{{
					ID: 1,
					Resources: lmarket.Resources{
						CPUMilli:    8000,                                                         // units: 8
						MemoryBytes: 30064771072,                                                  // 28Gi
						Storage:     []lmarket.Volume{{Name: "default", SizeBytes: 107374182400}}, // one map, 100Gi
						GPU:         lmarket.GPU{Units: 1, Attributes: []string{"vendor/nvidia/model/*"}},
						Endpoints:   []lmarket.Endpoint{{Kind: lmarket.EndpointRandomPort}}, // 11434 global
					},
					Count: 1,
					Price: 10000,
				}},
			}},
			warns: []string{
				"profiles.placement.akash.signedBy.anyOf[0]",
				"profiles.placement.akash.pricing.ollama.denom",
			},
		},
		{
			file: "sglang-mistral-7b.yaml",
			groups: []lmarket.GroupSpec{{
				Name: "dcloud",
				Units: []lmarket.ResourceUnit{{
					ID: 1,
					Resources: lmarket.Resources{
						CPUMilli:    12000,
						MemoryBytes: 34359738368, // 32Gi
						Storage: []lmarket.Volume{
							{Name: "default", SizeBytes: 32212254720},                                // 30Gi
							{Name: "data", SizeBytes: 32212254720, Class: "beta3", Persistent: true}, // 30Gi
							{Name: "shm", SizeBytes: 10737418240, Class: "ram"},                      // 10Gi
						},
						GPU: lmarket.GPU{Units: 1, Attributes: []string{
							"vendor/nvidia/model/a100",
							"vendor/nvidia/model/rtx4090/ram/24Gi/interface/pcie",
							"vendor/nvidia/model/h100/ram/80Gi",
						}},
						Endpoints: []lmarket.Endpoint{{Kind: lmarket.EndpointRandomPort}}, // 8000 global
					},
					Count: 1,
					Price: 1000000,
				}},
			}},
			warns: []string{"profiles.placement.dcloud.pricing.vllm.denom"},
		},
		{
			file: "vllm-llama-3.1-8b.yaml",
			groups: []lmarket.GroupSpec{{
				Name: "dcloud",
				Units: []lmarket.ResourceUnit{{
					ID: 1,
					Resources: lmarket.Resources{
						CPUMilli:    12000,
						MemoryBytes: 34359738368, // 32Gi
						Storage: []lmarket.Volume{
							{Name: "default", SizeBytes: 53687091200},                                 // 50Gi
							{Name: "data", SizeBytes: 107374182400, Class: "beta3", Persistent: true}, // 100Gi
							{Name: "shm", SizeBytes: 10737418240, Class: "ram"},                       // 10Gi
						},
						GPU: lmarket.GPU{Units: 1, Attributes: []string{
							"vendor/nvidia/model/h100", "vendor/nvidia/model/a100", "vendor/nvidia/model/rtxa6000",
						}},
						Endpoints: []lmarket.Endpoint{{Kind: lmarket.EndpointRandomPort}},
					},
					Count: 1,
					Price: 1000000,
				}},
			}},
			warns: []string{"profiles.placement.dcloud.pricing.vllm.denom"},
		},
		{
			file: "wordpress-mariadb.yaml",
			groups: []lmarket.GroupSpec{{
				Name: "akash",
				// The Akash auditor is dropped with a warning: the ledger
				// takes only deai addresses.
				Units: []lmarket.ResourceUnit{
					{
						ID: 1, // db sorts before wordpress
						Resources: lmarket.Resources{
							CPUMilli:    1000,
							MemoryBytes: 1073741824, // 1Gi
							Storage: []lmarket.Volume{
								{Name: "default", SizeBytes: 1073741824},                                        // 1Gi
								{Name: "wordpress-db", SizeBytes: 8589934592, Class: "beta3", Persistent: true}, // 8Gi
							},
							// 3306 and 33060 are exposed to wordpress only: no endpoints.
						},
						Count: 1,
						Price: 10000,
					},
					{
						ID: 2,
						Resources: lmarket.Resources{
							CPUMilli:    4000,
							MemoryBytes: 4294967296, // 4Gi
							Storage: []lmarket.Volume{
								{Name: "default", SizeBytes: 4294967296},                                           // 4Gi
								{Name: "wordpress-data", SizeBytes: 34359738368, Class: "beta3", Persistent: true}, // 32Gi
							},
							Endpoints: []lmarket.Endpoint{{Kind: lmarket.EndpointSharedHTTP}}, // port 80 global
						},
						Count: 1,
						Price: 10000,
					},
				},
			}},
			warns: []string{
				"services.wordpress.depends_on",
				"profiles.placement.akash.signedBy.anyOf[0]",
				"profiles.placement.akash.pricing.db.denom",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s := mustParseSDL(t, readFile(t, filepath.Join("testdata", "sdl", tt.file)))
			if diff := cmp.Diff(tt.groups, s.Groups()); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
			var paths []string
			for _, w := range s.Warnings {
				paths = append(paths, w.Path)
			}
			if diff := cmp.Diff(tt.warns, paths); diff != "" {
				t.Errorf("warning paths (-want +got):\n%s\nwarnings: %v", diff, s.Warnings)
			}
			if s.Denom() != "uact" {
				t.Errorf("Denom() = %q, want uact", s.Denom())
			}
			for _, g := range s.Groups() {
				if err := g.Validate(); err != nil {
					t.Errorf("group %s: %v", g.Name, err)
				}
			}
		})
	}
}

// TestExampleManifests checks the workload side of two examples: what
// the provider is told to run.
func TestExampleManifests(t *testing.T) {
	t.Run("wordpress", func(t *testing.T) {
		s := mustParseSDL(t, readFile(t, "testdata/sdl/wordpress-mariadb.yaml"))
		m := s.Manifest()
		if len(m.Groups) != 1 || len(m.Groups[0].Services) != 2 {
			t.Fatalf("manifest groups: %+v", m.Groups)
		}
		db, wp := m.Groups[0].Services[0], m.Groups[0].Services[1]
		wantDB := manifest.Service{
			Name:      "db",
			Image:     "mariadb:10.6.4",
			Env:       []string{"MYSQL_RANDOM_ROOT_PASSWORD=1", "MYSQL_DATABASE=wordpress", "MYSQL_USER=wordpress", "MYSQL_PASSWORD=testpass4you"},
			Resources: s.Groups()[0].Units[0].Resources,
			Count:     1,
			Expose: []manifest.Expose{
				{Port: 3306, ExternalPort: 3306, Proto: "TCP", Services: []string{"wordpress"}},
				{Port: 33060, ExternalPort: 33060, Proto: "TCP", Services: []string{"wordpress"}},
			},
			Params: &manifest.Params{Storage: []manifest.StorageParams{{Name: "wordpress-db", Mount: "/var/lib/mysql"}}},
		}
		if diff := cmp.Diff(wantDB, db); diff != "" {
			t.Errorf("db (-want +got):\n%s", diff)
		}
		wantExpose := []manifest.Expose{{
			Port: 80, ExternalPort: 80, Proto: "TCP", Global: true,
			HTTPOptions: &manifest.HTTPOptions{
				MaxBodySize: 104857600, // the example's 100 MiB, the upper limit
				ReadTimeout: 60000, SendTimeout: 60000, NextTries: 3,
				NextCases: []string{"error", "timeout"},
			},
		}}
		if diff := cmp.Diff(wantExpose, wp.Expose); diff != "" {
			t.Errorf("wordpress expose (-want +got):\n%s", diff)
		}
		if got := wp.Command; !cmp.Equal(got, []string{"bash", "-c"}) {
			t.Errorf("wordpress command = %q", got)
		}
	})
	t.Run("sglang", func(t *testing.T) {
		s := mustParseSDL(t, readFile(t, "testdata/sdl/sglang-mistral-7b.yaml"))
		svc := s.Manifest().Groups[0].Services[0]
		want := manifest.Service{
			Name:      "vllm",
			Image:     "lmsysorg/sglang:v0.4.5.post3-cu125-srt",
			Command:   []string{"bash", "-c"},
			Args:      []string{"python3 -m sglang.launch_server --model-path mistralai/Mistral-7B-Instruct-v0.3 --tp 1 --host 0.0.0.0 --port 8000"},
			Env:       []string{"HF_TOKEN="},
			Resources: s.Groups()[0].Units[0].Resources,
			Count:     1,
			Expose:    []manifest.Expose{{Port: 8000, ExternalPort: 8000, Proto: "TCP", Global: true}},
			Params: &manifest.Params{Storage: []manifest.StorageParams{
				{Name: "data", Mount: "/root/.cache"},
				{Name: "shm", Mount: "/dev/shm"},
			}},
		}
		if diff := cmp.Diff(want, svc); diff != "" {
			t.Errorf("service (-want +got):\n%s", diff)
		}
	})
}

// TestExamplesMatchShared keeps testdata/sdl in step with the shared
// examples when the shared tree is checked out beside the repository.
func TestExamplesMatchShared(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "..", "shared", "examples", "sdl")
	files, _ := filepath.Glob(filepath.Join(shared, "*.yaml"))
	if len(files) == 0 {
		t.Skipf("%s not present; testdata/sdl is the copy under test", shared)
	}
	for _, f := range files {
		want, _ := os.ReadFile(f)
		got, err := os.ReadFile(filepath.Join("testdata", "sdl", filepath.Base(f)))
		if err != nil || !bytes.Equal(want, got) {
			t.Errorf("testdata/sdl/%s differs from %s: copy it again", filepath.Base(f), f)
		}
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParseSDL(t *testing.T, data []byte) *manifest.SDL {
	t.Helper()
	s, err := manifest.ParseSDL(data)
	if err != nil {
		t.Fatalf("ParseSDL: %v", err)
	}
	return s
}
