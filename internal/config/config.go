// Package config holds deai's one configuration tree: defaults, TOML file
// loading, DEAI_* environment overrides and validation. Only internal/cli and
// internal/node import it; they translate it into each package's Options.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// FileName is the config file inside a home's config directory.
const FileName = "deai.toml"

// Config is the whole tree. Field tags name the TOML keys; the DEAI_ env
// variable of a field is DEAI_<SECTION>_<KEY> in upper case.
type Config struct {
	Log   Log   `toml:"log"`
	Chain Chain `toml:"chain"`
}

// Log configures deai's own logs (CometBFT's are filtered separately).
type Log struct {
	Level          string `toml:"level"`           // debug, info, warn, error
	Format         string `toml:"format"`          // text or json
	ConsensusLevel string `toml:"consensus_level"` // CometBFT's own level: error by default (quiet)
}

// Chain configures the ledger node.
type Chain struct {
	ChainID   string   `toml:"chain_id"`
	BlockTime Duration `toml:"block_time"` // devnet target block interval (CometBFT timeout_commit)
	RPCAddr   string   `toml:"rpc_addr"`   // CometBFT RPC listen address
	P2PAddr   string   `toml:"p2p_addr"`   // CometBFT P2P listen address
	DevFunds  string   `toml:"dev_funds"`  // genesis balance of the dev account at init, e.g. "1000000deai"
}

// Duration is a time.Duration that reads and writes as "500ms" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// Default returns the devnet defaults: one local node, quiet logs, blocks
// every 500 ms.
func Default() Config {
	return Config{
		Log: Log{Level: "info", Format: "text", ConsensusLevel: "error"},
		Chain: Chain{
			ChainID:   "deai-devnet",
			BlockTime: Duration{500 * time.Millisecond},
			RPCAddr:   "tcp://127.0.0.1:26657",
			P2PAddr:   "tcp://127.0.0.1:26656",
			DevFunds:  "1000000000deai",
		},
	}
}

// SectionError names the config section a validation error belongs to.
type SectionError struct {
	Section string
	Err     error
}

func (e *SectionError) Error() string { return fmt.Sprintf("config [%s]: %v", e.Section, e.Err) }
func (e *SectionError) Unwrap() error { return e.Err }

// Validate checks every section and returns all problems found.
func (c Config) Validate() error {
	var errs []error
	add := func(section, format string, args ...any) {
		errs = append(errs, &SectionError{Section: section, Err: fmt.Errorf(format, args...)})
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log", "level %q: want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log", "format %q: want text or json", c.Log.Format)
	}
	switch c.Log.ConsensusLevel {
	case "debug", "info", "error", "none":
	default:
		add("log", "consensus_level %q: want debug, info, error or none", c.Log.ConsensusLevel)
	}
	if c.Chain.ChainID == "" || len(c.Chain.ChainID) > 50 {
		add("chain", "chain_id %q: want 1 to 50 characters", c.Chain.ChainID)
	}
	if c.Chain.BlockTime.Duration <= 0 || c.Chain.BlockTime.Duration > time.Minute {
		add("chain", "block_time %v: want more than 0 and at most 1m", c.Chain.BlockTime.Duration)
	}
	for name, addr := range map[string]string{"rpc_addr": c.Chain.RPCAddr, "p2p_addr": c.Chain.P2PAddr} {
		if !strings.HasPrefix(addr, "tcp://") {
			add("chain", "%s %q: want tcp://host:port", name, addr)
		}
	}
	return errors.Join(errs...)
}

// Path returns the config file path inside home.
func Path(home string) string { return filepath.Join(home, "config", FileName) }

// Load reads defaults, then home's config file if it exists, then DEAI_*
// environment overrides (env looks a variable up; pass os.LookupEnv). Flags
// are applied by the caller afterwards. The result is validated.
func Load(home string, env func(string) (string, bool)) (Config, error) {
	c := Default()
	p := Path(home)
	if _, err := os.Stat(p); err == nil {
		md, err := toml.DecodeFile(p, &c)
		if err != nil {
			return c, fmt.Errorf("read config %s: %w", p, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			return c, fmt.Errorf("read config %s: unknown key %q", p, und[0].String())
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return c, fmt.Errorf("stat config %s: %w", p, err)
	}
	if env != nil {
		if err := applyEnv(&c, env); err != nil {
			return c, err
		}
	}
	return c, c.Validate()
}

// Save writes c to home's config file (creating the directory).
func Save(home string, c Config) error {
	p := Path(home)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("create config dir: %w", err)
	}
	var b strings.Builder
	b.WriteString("# deai configuration. Precedence: flags > DEAI_<SECTION>_<KEY> env > this file > defaults.\n")
	if err := toml.NewEncoder(&b).Encode(c); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write config %s: %w", p, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("write config %s: %w", p, err)
	}
	return nil
}

// applyEnv sets each leaf field from DEAI_<SECTION>_<KEY> when present.
func applyEnv(c *Config, env func(string) (string, bool)) error {
	root := reflect.ValueOf(c).Elem()
	for i := 0; i < root.NumField(); i++ {
		sec := root.Type().Field(i).Tag.Get("toml")
		sv := root.Field(i)
		for j := 0; j < sv.NumField(); j++ {
			key := sv.Type().Field(j).Tag.Get("toml")
			name := "DEAI_" + strings.ToUpper(sec+"_"+key)
			val, ok := env(name)
			if !ok {
				continue
			}
			if err := setField(sv.Field(j), val); err != nil {
				return fmt.Errorf("env %s=%q: %w", name, val, err)
			}
		}
	}
	return nil
}

func setField(f reflect.Value, val string) error {
	if u, ok := f.Addr().Interface().(interface{ UnmarshalText([]byte) error }); ok {
		return u.UnmarshalText([]byte(val))
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(val)
	case reflect.Bool:
		b, err := strconv.ParseBool(val)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return err
		}
		f.SetInt(n)
	case reflect.Uint, reflect.Uint64:
		n, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			return err
		}
		f.SetUint(n)
	default:
		return fmt.Errorf("unsupported config field kind %s", f.Kind())
	}
	return nil
}
