package manifest

import (
	"strings"
	"testing"
)

func TestParseMilliCPU(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  string
	}{
		{"1", 1000, ""},
		{"2", 2000, ""},
		{"0.5", 500, ""},
		{"1.25", 1250, ""},
		{"0.001", 1, ""},
		{"0.0010", 1, ""},
		{"500m", 500, ""},
		{"10m", 10, ""},
		{"384", 384000, ""},
		{"0", 0, "want more than 0"},
		{"0m", 0, "want more than 0"},
		{"0.0005", 0, "finer than a millicore"},
		{"1.5m", 0, "want a number of CPUs"},
		{"-1", 0, "want a number of CPUs"},
		{"1e3", 0, "want a number of CPUs"},
		{"", 0, "want a number of CPUs"},
		{"two", 0, "want a number of CPUs"},
		{"99999999999999999999", 0, "want a number of CPUs"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseMilliCPU(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseMilliCPU(%q) = %d, %v; want error %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseMilliCPU(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  string
	}{
		{"512Mi", 512 << 20, ""},
		{"4Gi", 4 << 30, ""},
		{"1.5Gi", 1536 << 20, ""},
		{"1Ki", 1024, ""},
		{"2Ti", 2 << 40, ""},
		{"1Pi", 1 << 50, ""},
		{"1k", 1000, ""},
		{"10M", 10_000_000, ""},
		{"16G", 16_000_000_000, ""},
		{"1T", 1_000_000_000_000, ""},
		{"1073741824", 1 << 30, ""},
		{"0.5k", 500, ""},
		{"0.0001Ki", 1, ""}, // a fraction of a byte rounds up
		{"15Ei", 15 << 60, ""},
		{"16Ei", 0, "too large"},
		{"12Q", 0, `want a quantity like 512Mi or 4Gi (unit "Q": use Ki, Mi, Gi, Ti or k, M, G, T)`},
		{"1GB", 0, `unit "GB"`},
		{"1gi", 0, `unit "gi"`},
		{"Gi", 0, "want a quantity like 512Mi or 4Gi"},
		{"-1Gi", 0, "want a quantity"},
		{"1 Gi", 0, "want a quantity"},
		{"", 0, "want a quantity"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseBytes(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseBytes(%q) = %d, %v; want error %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseBytes(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  string
	}{
		{"10000", 10000, ""},
		{"0", 0, ""},
		{"1000000", 1000000, ""},
		{"10000.0", 10000, ""},
		{"10000.000000", 10000, ""},
		{"0.5", 0, "fractional amount: prices are whole udeai per block per replica"},
		{"1.000001", 0, "fractional amount"},
		{"1e6", 0, "want a whole number of udeai"},
		{"-5", 0, "want a whole number of udeai"},
		{"ten", 0, "want a whole number of udeai"},
		{"99999999999999999999", 0, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseAmount(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseAmount(%q) = %d, %v; want error %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseAmount(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	sizes := map[uint64]string{
		0: "0", 1: "1", 1024: "1Ki", 512 << 20: "512Mi", 1536 << 20: "1536Mi", 28 << 30: "28Gi",
		100 << 30: "100Gi", 2 << 40: "2Ti", 16_000_000_000: "16G", 1000: "1k", 1500: "1500",
	}
	for in, want := range sizes {
		if got := FormatSize(in); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", in, got, want)
		}
		if in > 0 {
			if back, err := parseBytes(FormatSize(in)); err != nil || back != in {
				t.Errorf("parseBytes(FormatSize(%d)) = %d, %v", in, back, err)
			}
		}
	}
	cpus := map[uint64]string{1000: "1", 500: "0.5", 1250: "1.25", 10: "0.01", 384000: "384", 1: "0.001"}
	for in, want := range cpus {
		if got := FormatCPU(in); got != want {
			t.Errorf("FormatCPU(%d) = %q, want %q", in, got, want)
		}
		if back, err := parseMilliCPU(FormatCPU(in)); err != nil || back != in {
			t.Errorf("parseMilliCPU(FormatCPU(%d)) = %d, %v", in, back, err)
		}
	}
}
