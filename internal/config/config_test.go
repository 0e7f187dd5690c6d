package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestPrecedence(t *testing.T) {
	home := t.TempDir()
	c := Default()
	c.Chain.ChainID = "from-file"
	c.Chain.BlockTime = Duration{200 * time.Millisecond}
	if err := Save(home, c); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DEAI_CHAIN_BLOCK_TIME": "300ms", "DEAI_LOG_LEVEL": "debug"}
	got, err := Load(home, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Chain.ChainID = "from-file"                        // file beats default
	want.Chain.BlockTime = Duration{300 * time.Millisecond} // env beats file
	want.Log.Level = "debug"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, file string
		env        map[string]string
		wantErr    string
	}{
		{"unknown key", "[chain]\nchian_id = \"x\"\n", nil, "unknown key"},
		{"bad toml", "[chain\n", nil, "read config"},
		{"bad duration env", "", map[string]string{"DEAI_CHAIN_BLOCK_TIME": "fast"}, "DEAI_CHAIN_BLOCK_TIME"},
		{"invalid level", "[log]\nlevel = \"loud\"\n", nil, "config [log]: level"},
		{"zero block time", "[chain]\nblock_time = \"0s\"\n", nil, "config [chain]: block_time"},
		{"bad rpc addr", "[chain]\nrpc_addr = \"127.0.0.1:1\"\n", nil, "rpc_addr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			if tt.file != "" {
				if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(Path(home), []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(home, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Load error = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
}
