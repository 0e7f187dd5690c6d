package yuma

import (
	"math"
	"math/big"
	"testing"
)

// bigFloorDiv returns floor(a/b) for b > 0, saturated to int64.
func bigFloorDiv(a, b *big.Int) int64 {
	q, _ := new(big.Int).DivMod(a, b, new(big.Int)) // Euclidean = floor for b > 0
	return sat(q)
}

func sat(q *big.Int) int64 {
	if q.Cmp(big.NewInt(math.MaxInt64)) > 0 {
		return math.MaxInt64
	}
	if q.Cmp(big.NewInt(math.MinInt64)) < 0 {
		return math.MinInt64
	}
	return q.Int64()
}

func fixedCases() []int64 {
	g := splitmix64(7)
	vals := []int64{0, 1, -1, one, -one, half, one - 1, maxFix, minFix + 1, 3 * one / 7, -5 * one / 3, 1 << 40, -(1 << 40)}
	for range 300 {
		v := int64(g.next())
		vals = append(vals, v>>(g.next()%64))
	}
	return vals
}

func TestMulFixMatchesBig(t *testing.T) {
	vals := fixedCases()
	for _, a := range vals {
		for _, b := range vals {
			p := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
			want := bigFloorDiv(p, big.NewInt(one))
			if got := mulFix(a, b); got != want {
				t.Fatalf("mulFix(%d, %d) = %d, want %d", a, b, got, want)
			}
		}
	}
}

func TestDivFixMatchesBig(t *testing.T) {
	vals := fixedCases()
	for _, a := range vals {
		for _, b := range vals {
			if b == 0 {
				continue
			}
			num := new(big.Int).Lsh(big.NewInt(a), fracBits)
			want := sat(new(big.Int).Quo(num, big.NewInt(b))) // truncates towards zero
			if got := divFix(a, b); got != want {
				t.Fatalf("divFix(%d, %d) = %d, want %d", a, b, got, want)
			}
		}
	}
}

func TestDividerMatchesRatioFix(t *testing.T) {
	g := splitmix64(11)
	dens := []uint64{1, 2, 3, 65535, 1<<32 - 1, 1 << 32, 1<<32 + 1, 1 << 40, 1<<63 - 1, 7 << 32 / 3}
	for range 200 {
		dens = append(dens, 1+g.next()>>(g.next()%64))
	}
	for _, s := range dens {
		d := newDivider(s)
		nums := []uint64{0, 1, s, s - 1, s / 2, s / 3, min(s, 1<<32), min(s, 1<<32-1)}
		for range 50 {
			nums = append(nums, g.next()%(s+1))
		}
		for _, v := range nums {
			if got, want := d.div(v), ratioFix(v, s); got != want {
				t.Fatalf("divider(%d).div(%d) = %d, ratioFix = %d", s, v, got, want)
			}
		}
	}
}

func TestRatioAndU16(t *testing.T) {
	tests := []struct {
		name string
		got  int64
		want int64
	}{
		{"kappa default", u16Ratio(32767), 2147450879},
		{"u16 max is one", u16Ratio(65535), one},
		{"bma 0.9", emaAlpha(900_000), one - 3865470566},
		{"bma 1e6", emaAlpha(1_000_000), 0},
		{"bma 0", emaAlpha(0), one},
		{"3/4", ratioFix(3, 4), 3 * one / 4},
		{"toU16 one", int64(toU16(one)), 65535},
		{"toU16 half", int64(toU16(half)), 32767},
		{"toU16 negative", int64(toU16(-5)), 0},
		{"toU16 above one", int64(toU16(2 * one)), 65535},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

// TestExpFix compares the integer exponential with math.Exp (tests may
// use floats; the epoch does not).
func TestExpFix(t *testing.T) {
	for x := -25 * one; x <= 25*one; x += one / 64 {
		xf := math.Max(-20, math.Min(20, float64(x)/float64(one)))
		want := math.Exp(xf) * float64(one)
		got := float64(expFix(x))
		if d := math.Abs(got - want); d > 1+want*1e-12 {
			t.Fatalf("expFix(%v) = %v, want %v", xf, got/float64(one), want/float64(one))
		}
	}
	if got := expFix(0); got != one {
		t.Errorf("expFix(0) = %d, want %d", got, one)
	}
}
