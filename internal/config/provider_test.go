package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadProvider(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "provider.toml")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p, err := LoadProvider(write(`
key = "prov"
host_uri = "https://p.example.com:8443"
bid_timeout = "2m"
[attributes]
region = "eu-west"
[price]
cpu_core = 1.5
[price.gpu]
h100 = 40
[[nodes]]
name = "gpu-1"
cpu = "64"
memory = "512Gi"
storage = "2Ti"
[[nodes.gpus]]
vendor = "nvidia"
model = "h100"
ram = "80Gi"
count = 8
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Key != "prov" || p.BidTimeout.Duration != 2*time.Minute || p.ManifestTimeout.Duration != 5*time.Minute ||
		p.Attributes["region"] != "eu-west" || p.Price.CPUCore != 1.5 || p.Price.GPU["h100"] != 40 ||
		len(p.Nodes) != 1 || p.Nodes[0].GPUs[0].Count != 8 || p.Runtime != "auto" {
		t.Fatalf("loaded %+v", p)
	}
	for _, tc := range []struct{ body, want string }{
		{`host_uri = "ftp://x"`, "host_uri"},
		{`runtime = "podman"`, "runtime"},
		{`runtime = "kubernetes"`, "kubeconfig"},
		{`bid_timeot = "1m"`, `unknown key "bid_timeot"`},
		{"[[nodes]]\nname = \"a\"\n[[nodes]]\nname = \"a\"", "nodes[1].name"},
		{"[[nodes]]\nname = \"a\"\n[[nodes.gpus]]\nmodel = \"h100\"", "nodes[0].gpus[0]"},
		{`bid_timeout = "-1s"`, "bid_timeout"},
	} {
		if _, err := LoadProvider(write(tc.body)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error naming %q", tc.body, err, tc.want)
		}
	}
}
