package cli_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/cli"
)

// TestNodeStartMetrics: deai node start --metrics-addr serves the block
// height, and it grows.
func TestNodeStartMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	t.Setenv(cli.PassphraseEnv, "")
	addrs := freeAddrs(t, 3)
	home := t.TempDir()
	metricsAddr := strings.TrimPrefix(addrs[2], "tcp://")
	var out, errb syncBuffer
	if code := cli.Run(context.Background(), []string{"init", "--home", home, "--rpc-addr", addrs[0], "--p2p-addr", addrs[1],
		"--block-time", "200ms"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("init: %d %s", code, errb.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"node", "start", "--home", home, "--metrics-addr", metricsAddr}, strings.NewReader(""), &out, &errb)
	}()
	height := func() float64 {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			return -1
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		for _, l := range strings.Split(string(raw), "\n") {
			if v, ok := strings.CutPrefix(l, "deai_block_height "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		return 0
	}
	var first float64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if h := height(); h > 0 && first == 0 {
			first = h
		} else if first > 0 && h > first {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("deai_block_height never grew (first %v)\n%s", first, errb.String())
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("node start exit %d\n%s", code, errb.String())
	}
}

// TestUpWholeNetworkCLI: deai up (the command) starts the subnet, miners,
// validator and gateway, prints them (-o json and text) with the API key
// and the snippets, and --exit-after-blocks stops it cleanly.
func TestUpWholeNetworkCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole network")
	}
	t.Setenv(cli.PassphraseEnv, "")
	addrs := freeAddrs(t, 2)
	home := t.TempDir()
	run := func(args ...string) (int, string, string) {
		var out, errb syncBuffer
		code := cli.Run(context.Background(), append([]string{"up", "--home", home, "--rpc-addr", addrs[0], "--p2p-addr", addrs[1],
			"--block-time", "200ms", "--model", "../../../shared/models/stories260K.gguf", "--gateway-addr", "127.0.0.1:0",
			"--no-agents", "--no-provider", "--exit-after-blocks", "3"}, args...), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errOut := run("-o", "json")
	if code != 0 {
		t.Fatalf("deai up: exit %d\n%s\n%s", code, out, errOut)
	}
	var s struct {
		DevAddress string `json:"dev_address"`
		Network    struct {
			Netuid   uint16   `json:"netuid"`
			Miners   []string `json:"miners"`
			Gateway  string   `json:"gateway"`
			APIKey   string   `json:"api_key"`
			Explorer string   `json:"explorer"`
			Metrics  string   `json:"metrics"`
			Agents   []string `json:"agents"`
			Resumed  bool     `json:"resumed"`
		} `json:"network"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	nw := s.Network
	if nw.Netuid != 1 || len(nw.Miners) != 3 || !strings.HasPrefix(nw.Gateway, "http://127.0.0.1:") || !strings.HasPrefix(nw.APIKey, "sk-deai-") ||
		nw.Explorer == "" || nw.Metrics == "" || len(nw.Agents) != 0 || nw.Resumed {
		t.Fatalf("network %+v", nw)
	}
	// Again, in text: the same network resumed, with the snippets.
	code, out, errOut = run()
	if code != 0 {
		t.Fatalf("second deai up: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"subnet      1 serving stories260K", "api key     " + nw.APIKey, "curl -s ", "OpenAI Go SDK:", "OpenAI Python SDK:", "explorer"} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary lacks %q:\n%s", want, out)
		}
	}
}
