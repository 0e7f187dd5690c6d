package tx

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"github.com/deai-network/deai/internal/errs"
)

// Denom is the base unit of the native token; every on-chain amount is an
// integer number of udeai.
const Denom = "udeai"

// DisplayDenom is the human unit: 1 deai = UnitsPerDEAI udeai.
const DisplayDenom = "deai"

// UnitsPerDEAI is the number of base units in one DEAI.
const UnitsPerDEAI = 1_000_000

// Sentinels for checked arithmetic. They are wrapped in *errs.Error values
// of kind Invalid (overflow) and Insufficient (underflow).
var (
	ErrOverflow  = errors.New("amount overflow")
	ErrUnderflow = errors.New("amount underflow")
)

// Amount is a quantity of udeai. Arithmetic on amounts goes through the
// checked methods; plain + and - are a bug.
type Amount uint64

// MaxAmount is the largest representable amount.
const MaxAmount = Amount(math.MaxUint64)

// Add returns a+b or an error wrapping ErrOverflow.
func (a Amount) Add(b Amount) (Amount, error) {
	s, carry := bits.Add64(uint64(a), uint64(b), 0)
	if carry != 0 {
		return 0, errs.Wrap("add amounts", errs.Invalid, fmt.Errorf("%w: %d + %d", ErrOverflow, a, b))
	}
	return Amount(s), nil
}

// Sub returns a-b or an error wrapping ErrUnderflow.
func (a Amount) Sub(b Amount) (Amount, error) {
	d, borrow := bits.Sub64(uint64(a), uint64(b), 0)
	if borrow != 0 {
		return 0, errs.Wrap("subtract amounts", errs.Insufficient, fmt.Errorf("%w: %d - %d", ErrUnderflow, a, b))
	}
	return Amount(d), nil
}

// Mul returns a*n or an error wrapping ErrOverflow.
func (a Amount) Mul(n uint64) (Amount, error) {
	hi, lo := bits.Mul64(uint64(a), n)
	if hi != 0 {
		return 0, errs.Wrap("multiply amount", errs.Invalid, fmt.Errorf("%w: %d * %d", ErrOverflow, a, n))
	}
	return Amount(lo), nil
}

// IsZero reports whether a is zero.
func (a Amount) IsZero() bool { return a == 0 }

// String formats a in base units: "1500000udeai".
func (a Amount) String() string { return strconv.FormatUint(uint64(a), 10) + Denom }

// DEAI formats a in whole tokens with up to six decimals and no trailing
// zeros: "1.5deai", "0.000001deai", "3deai".
func (a Amount) DEAI() string {
	whole, frac := uint64(a)/UnitsPerDEAI, uint64(a)%UnitsPerDEAI
	if frac == 0 {
		return strconv.FormatUint(whole, 10) + DisplayDenom
	}
	f := strings.TrimRight(fmt.Sprintf("%06d", frac), "0")
	return strconv.FormatUint(whole, 10) + "." + f + DisplayDenom
}

// ParseAmount parses "1500000udeai" or "1.5deai" (at most six decimals).
// A bare number is rejected so that a missing unit never silently means a
// million times more or less.
func ParseAmount(s string) (Amount, error) {
	op := "parse amount " + strconv.Quote(s)
	switch {
	case strings.HasSuffix(s, Denom):
		n, err := parseDigits(strings.TrimSuffix(s, Denom))
		if err != nil {
			return 0, errs.Wrap(op, errs.Invalid, err)
		}
		return Amount(n), nil
	case strings.HasSuffix(s, DisplayDenom):
		num := strings.TrimSuffix(s, DisplayDenom)
		whole, frac, hasDot := strings.Cut(num, ".")
		if hasDot && (frac == "" || len(frac) > 6) {
			return 0, errs.E(op, errs.Invalid, "want 1 to 6 decimals after the point")
		}
		w, err := parseDigits(whole)
		if err != nil {
			return 0, errs.Wrap(op, errs.Invalid, err)
		}
		var f uint64
		if hasDot {
			if f, err = parseDigits(frac + strings.Repeat("0", 6-len(frac))); err != nil {
				return 0, errs.Wrap(op, errs.Invalid, err)
			}
		}
		a, err := Amount(w).Mul(UnitsPerDEAI)
		if err != nil {
			return 0, errs.Wrap(op, errs.Invalid, err)
		}
		if a, err = a.Add(Amount(f)); err != nil {
			return 0, errs.Wrap(op, errs.Invalid, err)
		}
		return a, nil
	default:
		return 0, errs.E(op, errs.Invalid, "missing unit: write e.g. 1.5%s or 1500000%s", DisplayDenom, Denom)
	}
}

// parseDigits accepts only ASCII decimal digits (no sign, spaces or
// underscores) that fit in a uint64.
func parseDigits(s string) (uint64, error) {
	if s == "" {
		return 0, errors.New("missing number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("invalid digit %q", s[i])
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, ErrOverflow
	}
	return n, nil
}

// MarshalJSON encodes a as a JSON string of base units ("1500000"): JSON
// numbers lose precision above 2^53 in many clients.
func (a Amount) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatUint(uint64(a), 10) + `"`), nil
}

// UnmarshalJSON accepts a JSON string or number of base units, or a string
// with a unit ("1.5deai", "1500000udeai").
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if strings.HasSuffix(s, DisplayDenom) || strings.HasSuffix(s, Denom) {
		v, err := ParseAmount(s)
		if err != nil {
			return err
		}
		*a = v
		return nil
	}
	n, err := parseDigits(s)
	if err != nil {
		return errs.Wrap("parse amount "+strconv.Quote(s), errs.Invalid, err)
	}
	*a = Amount(n)
	return nil
}
