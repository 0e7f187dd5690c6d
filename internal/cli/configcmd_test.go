package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
