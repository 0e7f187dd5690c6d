package cli_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/cli"
)

// TestConfigCheck: defaults are valid, a valid file is, a bad value or an
// unknown key is refused with exit 2 naming it, and DEAI_* overrides are
// checked too.
func TestConfigCheck(t *testing.T) {
	home := t.TempDir()
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := cli.Run(context.Background(), append(args, "--home", home), strings.NewReader(""), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := run("config", "check"); code != 0 || !strings.Contains(out, "does not exist") {
		t.Fatalf("defaults: %d %s", code, out)
	}
	cfgPath := filepath.Join(home, "config", "deai.toml")
	os.MkdirAll(filepath.Dir(cfgPath), 0o700)
	os.WriteFile(cfgPath, []byte("[chain]\nblock_time = \"1s\"\n"), 0o600)
	if code, out := run("config", "check"); code != 0 || !strings.Contains(out, "is valid") {
		t.Fatalf("valid file: %d %s", code, out)
	}
	if code, out := run("config", "show"); code != 0 || !strings.Contains(out, `block_time = "1s"`) {
		t.Fatalf("show: %d %s", code, out)
	}
	os.WriteFile(cfgPath, []byte("[chain]\nblock_time = \"2m\"\n"), 0o600)
	if code, out := run("config", "check"); code != 2 || !strings.Contains(out, "block_time") {
		t.Fatalf("bad block time: %d %s", code, out)
	}
	os.WriteFile(cfgPath, []byte("[chain]\nblock_tim = \"1s\"\n"), 0o600)
	if code, out := run("config", "check"); code != 2 || !strings.Contains(out, "block_tim") {
		t.Fatalf("unknown key: %d %s", code, out)
	}
	os.WriteFile(cfgPath, []byte(""), 0o600)
	t.Setenv("DEAI_LOG_FORMAT", "xml")
	if code, out := run("config", "check"); code != 2 || !strings.Contains(out, "format") {
		t.Fatalf("bad env override: %d %s", code, out)
	}
}

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
