package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/deai-network/deai/internal/tx"
)

// Quota limits one API key; a zero field means no limit of its own (for
// RPM and Streams: the gateway-wide RatePerSecond and MaxStreams apply).
type Quota struct {
	// TokensPerDay caps prompt plus completion tokens per UTC day.
	TokensPerDay uint64
	// MaxSpend caps what the key may ever spend, in base units.
	MaxSpend tx.Amount
	// RPM is requests per minute (bursts up to RPM).
	RPM int
	// Streams is the number of concurrent streams.
	Streams int
}

// parseQuota reads "name=value" fields of a keys file line.
func parseQuota(fields []string) (Quota, error) {
	var q Quota
	seen := map[string]bool{}
	for _, f := range fields {
		name, val, ok := strings.Cut(f, "=")
		if !ok || val == "" {
			return q, fmt.Errorf("field %q: want NAME=VALUE", f)
		}
		if seen[name] {
			return q, fmt.Errorf("field %s given twice", name)
		}
		seen[name] = true
		positive := func() (uint64, error) {
			n, err := strconv.ParseUint(val, 10, 63)
			if err != nil || n == 0 {
				return 0, fmt.Errorf("%s=%s: want a positive integer", name, val)
			}
			return n, nil
		}
		switch name {
		case "tokens_per_day":
			n, err := positive()
			if err != nil {
				return q, err
			}
			q.TokensPerDay = n
		case "max_spend":
			a, err := tx.ParseAmount(val)
			if err != nil {
				return q, fmt.Errorf("max_spend: %w", err)
			}
			if a == 0 {
				return q, fmt.Errorf("max_spend=%s: want a positive amount", val)
			}
			q.MaxSpend = a
		case "rpm", "streams":
			n, err := positive()
			if err != nil {
				return q, err
			}
			if n > 1<<31-1 {
				return q, fmt.Errorf("%s=%s: too large", name, val)
			}
			if name == "rpm" {
				q.RPM = int(n)
			} else {
				q.Streams = int(n)
			}
		default:
			return q, fmt.Errorf("unknown field %q (want tokens_per_day, max_spend, rpm or streams)", name)
		}
	}
	return q, nil
}

// keyID names an API key in the store without revealing it: the first 8
// bytes of its SHA-256, hex.
func keyID(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:8])
}

// dayOf is the UTC day number of t, for daily token quotas.
func dayOf(t time.Time) int64 { return t.Unix() / 86400 }

// ParsePrices reads "MODEL=AMOUNT" pairs (such as "stories260K=10udeai"),
// the price per token of each model, for Options.Prices.
func ParsePrices(pairs []string) (map[string]tx.Amount, error) {
	prices := map[string]tx.Amount{}
	for _, p := range pairs {
		model, amt, ok := strings.Cut(p, "=")
		model = strings.TrimSpace(model)
		if !ok || model == "" {
			return nil, fmt.Errorf("price %q: want MODEL=AMOUNT_PER_TOKEN", p)
		}
		if _, dup := prices[model]; dup {
			return nil, fmt.Errorf("price %q: model %s priced twice", p, model)
		}
		a, err := tx.ParseAmount(strings.TrimSpace(amt))
		if err != nil {
			return nil, fmt.Errorf("price %q: %w", p, err)
		}
		prices[model] = a
	}
	return prices, nil
}
