package tx

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/deai-network/deai/internal/errs"
)

func TestAmountArithmetic(t *testing.T) {
	if s, err := Amount(2).Add(3); err != nil || s != 5 {
		t.Errorf("2+3 = %v, %v", s, err)
	}
	if _, err := MaxAmount.Add(1); !errors.Is(err, ErrOverflow) || errs.KindOf(err) != errs.Invalid {
		t.Errorf("max+1: err = %v, want overflow of kind invalid", err)
	}
	if d, err := Amount(5).Sub(5); err != nil || d != 0 {
		t.Errorf("5-5 = %v, %v", d, err)
	}
	if _, err := Amount(1).Sub(2); !errors.Is(err, ErrUnderflow) || errs.KindOf(err) != errs.Insufficient {
		t.Errorf("1-2: err = %v, want underflow of kind insufficient", err)
	}
	if p, err := Amount(1 << 32).Mul(1 << 31); err != nil || p != 1<<63 {
		t.Errorf("2^32*2^31 = %v, %v", p, err)
	}
	if _, err := Amount(1 << 32).Mul(1 << 32); !errors.Is(err, ErrOverflow) {
		t.Errorf("2^32*2^32: err = %v, want overflow", err)
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in      string
		want    Amount
		wantErr bool
	}{
		{"1500000udeai", 1_500_000, false},
		{"0udeai", 0, false},
		{"1.5deai", 1_500_000, false},
		{"3deai", 3_000_000, false},
		{"0.000001deai", 1, false},
		{"18446744073709551615udeai", MaxAmount, false},
		{"18446744073709551616udeai", 0, true},
		{"18446744073709.551616deai", 0, true},
		{"18446744073709.551615deai", MaxAmount, false},
		{"1.0000001deai", 0, true},
		{"1.deai", 0, true},
		{".5deai", 0, true},
		{"-1udeai", 0, true},
		{"+1udeai", 0, true},
		{"1 udeai", 0, true},
		{"1_000udeai", 0, true},
		{"1000", 0, true},
		{"udeai", 0, true},
		{"1.5udeai", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAmount(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseAmount(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err != nil && errs.KindOf(err) != errs.Invalid {
				t.Errorf("kind = %v, want invalid", errs.KindOf(err))
			}
		})
	}
}

func TestAmountFormat(t *testing.T) {
	for _, tt := range []struct {
		a          Amount
		base, deai string
	}{
		{0, "0udeai", "0deai"},
		{1, "1udeai", "0.000001deai"},
		{1_500_000, "1500000udeai", "1.5deai"},
		{3_000_000, "3000000udeai", "3deai"},
		{MaxAmount, "18446744073709551615udeai", "18446744073709.551615deai"},
	} {
		if got := tt.a.String(); got != tt.base {
			t.Errorf("String(%d) = %q, want %q", uint64(tt.a), got, tt.base)
		}
		if got := tt.a.DEAI(); got != tt.deai {
			t.Errorf("DEAI(%d) = %q, want %q", uint64(tt.a), got, tt.deai)
		}
		for _, s := range []string{tt.base, tt.deai} {
			if back, err := ParseAmount(s); err != nil || back != tt.a {
				t.Errorf("ParseAmount(%q) = %d, %v", s, back, err)
			}
		}
	}
}

func TestAmountJSON(t *testing.T) {
	b, err := json.Marshal(Amount(MaxAmount))
	if err != nil || string(b) != `"18446744073709551615"` {
		t.Fatalf("marshal = %s, %v", b, err)
	}
	for in, want := range map[string]Amount{`"42"`: 42, `42`: 42, `"1.5deai"`: 1_500_000, `"7udeai"`: 7} {
		var a Amount
		if err := json.Unmarshal([]byte(in), &a); err != nil || a != want {
			t.Errorf("unmarshal %s = %d, %v; want %d", in, a, err, want)
		}
	}
	for _, in := range []string{`"-1"`, `1e3`, `"x"`, `"18446744073709551616"`, `""`} {
		var a Amount
		if err := json.Unmarshal([]byte(in), &a); err == nil {
			t.Errorf("unmarshal %s: no error", in)
		}
	}
}
