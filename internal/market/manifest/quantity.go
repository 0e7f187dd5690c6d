package manifest

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// CPU, byte and price quantities as SDL writes them.

var (
	decimalRE  = regexp.MustCompile(`^([0-9]{1,12})(?:\.([0-9]{1,12}))?$`)
	milliRE    = regexp.MustCompile(`^([0-9]{1,15})m$`)
	quantityRE = regexp.MustCompile(`^([0-9]{1,20})(?:\.([0-9]{1,12}))?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$`)
	amountRE   = regexp.MustCompile(`^([0-9]{1,20})(?:\.([0-9]{1,18}))?$`)
)

// byteUnits are the quantity suffixes SDL sizes accept: binary Ki…Ei and
// decimal k…E, as in Kubernetes quantities.
var byteUnits = map[string]uint64{
	"":   1,
	"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60,
	"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
}

// parseMilliCPU reads cpu.units: a number of CPUs (2, "0.5", 1.25) or
// millicores ("500m"), to millicores. Finer than a millicore is an error.
func parseMilliCPU(s string) (uint64, error) {
	bad := fmt.Errorf("%q: want a number of CPUs like 1, 0.5 or 500m", s)
	if m := milliRE.FindStringSubmatch(s); m != nil {
		v, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil {
			return 0, bad
		}
		if v == 0 {
			return 0, fmt.Errorf("%q: want more than 0", s)
		}
		return v, nil
	}
	m := decimalRE.FindStringSubmatch(s)
	if m == nil {
		return 0, bad
	}
	whole, _ := strconv.ParseUint(m[1], 10, 64) // ≤ 12 digits: fits
	frac := strings.TrimRight(m[2], "0")
	if len(frac) > 3 {
		return 0, fmt.Errorf("%q: finer than a millicore (0.001): want at most 3 decimal places", s)
	}
	f, _ := strconv.ParseUint((frac + "000")[:3], 10, 64)
	v := whole*1000 + f
	if v == 0 {
		return 0, fmt.Errorf("%q: want more than 0", s)
	}
	return v, nil
}

// parseBytes reads a size such as 512Mi, 4Gi, 1.5Gi, 10G or 1073741824
// (bytes). A fraction of a byte rounds up, as Kubernetes does.
func parseBytes(s string) (uint64, error) {
	m := quantityRE.FindStringSubmatch(s)
	if m == nil {
		hint := ""
		if u := strings.TrimLeft(s, "0123456789."); u != "" && u != s {
			hint = fmt.Sprintf(" (unit %q: use Ki, Mi, Gi, Ti or k, M, G, T)", u)
		}
		return 0, fmt.Errorf("%q: want a quantity like 512Mi or 4Gi%s", s, hint)
	}
	unit := new(big.Int).SetUint64(byteUnits[m[3]])
	num, _ := new(big.Int).SetString(m[1]+m[2], 10)
	num.Mul(num, unit)
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(m[2]))), nil)
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsUint64() {
		return 0, fmt.Errorf("%q: too large", s)
	}
	return q.Uint64(), nil
}

// parseAmount reads a price amount: a whole number of udeai, written as
// a number or a decimal string ("10000", 10000, "10000.0").
func parseAmount(s string) (uint64, error) {
	m := amountRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q: want a whole number of udeai like 10000", s)
	}
	if strings.Trim(m[2], "0") != "" {
		return 0, fmt.Errorf("%q: fractional amount: prices are whole udeai per block per replica", s)
	}
	v, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: too large", s)
	}
	return v, nil
}

// FormatSize renders a size exactly, in the unit that gives the smallest
// number (binary first on a tie): 1073741824 → "1Gi", 16000000000 → "16G",
// 1610612736 → "1536Mi", 1500 → "1500".
func FormatSize(b uint64) string {
	if b == 0 {
		return "0"
	}
	best, unit := b, ""
	for _, u := range []struct {
		s string
		v uint64
	}{{"Ei", 1 << 60}, {"Pi", 1 << 50}, {"Ti", 1 << 40}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10},
		{"E", 1e18}, {"P", 1e15}, {"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"k", 1e3}} {
		if b%u.v == 0 && b/u.v < best {
			best, unit = b/u.v, u.s
		}
	}
	return strconv.FormatUint(best, 10) + unit
}

// FormatCPU renders millicores as CPUs: 1000 → "1", 500 → "0.5", 1250 → "1.25".
func FormatCPU(milli uint64) string {
	s := strconv.FormatUint(milli/1000, 10)
	if f := milli % 1000; f != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%03d", f), "0")
	}
	return s
}
