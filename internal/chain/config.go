package chain

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	cfg "github.com/cometbft/cometbft/config"
)

// ConfigFile is the path of CometBFT's config file inside a home.
func ConfigFile(home string) string { return filepath.Join(home, "config", "config.toml") }

// LoadConfig reads home/config/config.toml over CometBFT's defaults, roots
// every path at home and validates the result. Unknown keys are an error, so
// a misspelt setting is not silently ignored.
func LoadConfig(home string) (*cfg.Config, error) {
	path := ConfigFile(home)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("load config %s: %w", path, ErrNotInitialized)
		}
		return nil, fmt.Errorf("load config: %w", err)
	}
	c, err := DecodeConfig(data)
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	c.SetRoot(home)
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return c, nil
}

// DecodeConfig decodes config.toml bytes over cfg.DefaultConfig(). Keys are
// CometBFT's (the mapstructure tags of cfg.Config); durations are strings
// such as "500ms". RootDir is left for the caller to set with SetRoot.
func DecodeConfig(data []byte) (*cfg.Config, error) {
	var m map[string]any
	if _, err := toml.Decode(string(data), &m); err != nil {
		return nil, fmt.Errorf("decode toml: %w", err)
	}
	c := cfg.DefaultConfig()
	used := map[string]bool{}
	if err := decodeStruct(reflect.ValueOf(c).Elem(), m, "", used); err != nil {
		return nil, err
	}
	var unknown []string
	collectUnknown(m, "", used, &unknown)
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("unknown config keys: %s", strings.Join(unknown, ", "))
	}
	return c, nil
}

// writeConfig writes c as CometBFT's commented config.toml. CometBFT's
// writer exits the process on an I/O error, so the file is created here
// first and any failure is returned instead.
func writeConfig(path string, c *cfg.Config) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	cfg.WriteConfigFile(path, c)
	return nil
}

func decodeStruct(v reflect.Value, m map[string]any, prefix string, used map[string]bool) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("mapstructure")
		if tag == "" {
			continue
		}
		fv := v.Field(i)
		if tag == ",squash" {
			if err := decodeStruct(fv, m, prefix, used); err != nil {
				return err
			}
			continue
		}
		raw, ok := m[tag]
		if !ok {
			continue
		}
		key := prefix + tag
		used[key] = true
		if fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Struct {
			sub, ok := raw.(map[string]any)
			if !ok {
				return fmt.Errorf("config key %s: want a table, got %T", key, raw)
			}
			if fv.IsNil() {
				fv.Set(reflect.New(fv.Type().Elem()))
			}
			if err := decodeStruct(fv.Elem(), sub, key+".", used); err != nil {
				return err
			}
			continue
		}
		if err := setValue(fv, raw); err != nil {
			return fmt.Errorf("config key %s: %w", key, err)
		}
	}
	return nil
}

var durationType = reflect.TypeOf(time.Duration(0))

// setValue assigns a decoded TOML value to a config field, accepting the
// same loose forms CometBFT's viper loader does: durations and numbers as
// strings, and comma-separated strings for lists.
func setValue(fv reflect.Value, raw any) error {
	if fv.Type() == durationType {
		switch r := raw.(type) {
		case string:
			d, err := time.ParseDuration(r)
			if err != nil {
				return err
			}
			fv.SetInt(int64(d))
			return nil
		case int64:
			fv.SetInt(r)
			return nil
		}
		return fmt.Errorf("want a duration string, got %T", raw)
	}
	switch fv.Kind() {
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			return fmt.Errorf("want a string, got %T", raw)
		}
		fv.SetString(s)
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			return fmt.Errorf("want a bool, got %T", raw)
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := toInt(raw)
		if err != nil {
			return err
		}
		if fv.OverflowInt(n) {
			return fmt.Errorf("%d out of range", n)
		}
		fv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := toInt(raw)
		if err != nil {
			return err
		}
		if n < 0 || fv.OverflowUint(uint64(n)) {
			return fmt.Errorf("%d out of range", n)
		}
		fv.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		switch r := raw.(type) {
		case float64:
			fv.SetFloat(r)
		case int64:
			fv.SetFloat(float64(r))
		default:
			return fmt.Errorf("want a number, got %T", raw)
		}
	case reflect.Slice:
		if fv.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported list type %s", fv.Type())
		}
		var out []string
		switch r := raw.(type) {
		case string:
			for _, s := range strings.Split(r, ",") {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
		case []any:
			for _, e := range r {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("want a list of strings, got an element of type %T", e)
				}
				out = append(out, s)
			}
		default:
			return fmt.Errorf("want a list of strings, got %T", raw)
		}
		fv.Set(reflect.ValueOf(out))
	default:
		return fmt.Errorf("unsupported field type %s", fv.Type())
	}
	return nil
}

func toInt(raw any) (int64, error) {
	switch r := raw.(type) {
	case int64:
		return r, nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(r), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("want an integer: %w", err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("want an integer, got %T", raw)
}

func collectUnknown(m map[string]any, prefix string, used map[string]bool, out *[]string) {
	for k, v := range m {
		key := prefix + k
		if !used[key] {
			*out = append(*out, key)
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			collectUnknown(sub, key+".", used, out)
		}
	}
}
