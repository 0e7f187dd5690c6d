package hub

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in          string
		start, size int64
		ok          bool
	}{
		{"bytes 0-99/100", 0, 100, true},
		{"bytes 10-99/100", 10, 100, true},
		{"bytes 10-99/*", 10, -1, true},
		{"bytes */100", -1, 100, true},
		{"bytes */*", 0, 0, false},
		{"bytes 10-200/100", 0, 0, false},
		{"bytes 20-10/100", 0, 0, false},
		{"bytes -1-10/100", 0, 0, false},
		{"items 0-1/2", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			start, size, ok := parseContentRange(tt.in)
			if ok != tt.ok || (ok && (start != tt.start || size != tt.size)) {
				t.Errorf("parseContentRange(%q) = %d, %d, %v; want %d, %d, %v", tt.in, start, size, ok, tt.start, tt.size, tt.ok)
			}
		})
	}
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-99/100", "bytes */100", "bytes 5-/7", "bytes 1-2/*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, size, ok := parseContentRange(s)
		if !ok {
			return
		}
		if start < -1 || size < -1 || (start >= 0 && size >= 0 && start >= size) {
			t.Errorf("parseContentRange(%q) = %d, %d: inconsistent", s, start, size)
		}
	})
}

func TestNormalizeDigest(t *testing.T) {
	const d = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"
	tests := []struct {
		in, want string
		ok       bool
	}{
		{d, d, true},
		{`"` + d + `"`, d, true},
		{`W/"` + d + `"`, d, true},
		{"SHA256:" + d[:0] + "270CBA1BD5109F42D03350F60406024560464DB173C0E387D91F0426D3BD256D", d, true},
		{`"a945bfc3fe886d62f15aab34b798331ff433e85e"`, "", false}, // a git blob id
		{d[:63] + "g", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := normalizeDigest(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("normalizeDigest(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBarPlainLines(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	b := NewBar(&buf, false, func() time.Time { return clock })
	for done := int64(0); done <= 1000; done += 50 {
		clock = clock.Add(time.Second)
		b.Update(Progress{Done: done, Total: 1000, Resumed: 0})
	}
	want := `[                              ]   0%  0 B / 1000 B
[===                           ]  10%  100 B / 1000 B  50 B/s
[======                        ]  20%  200 B / 1000 B  50 B/s
[=========                     ]  30%  300 B / 1000 B  50 B/s
[============                  ]  40%  400 B / 1000 B  50 B/s
[===============               ]  50%  500 B / 1000 B  50 B/s
[==================            ]  60%  600 B / 1000 B  50 B/s
[=====================         ]  70%  700 B / 1000 B  50 B/s
[========================      ]  80%  800 B / 1000 B  50 B/s
[===========================   ]  90%  900 B / 1000 B  50 B/s
[==============================] 100%  1000 B / 1000 B  50 B/s
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestBarTerminalRedraws(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	b := NewBar(&buf, true, func() time.Time { return clock })
	b.Update(Progress{Done: 2048, Total: 4096, Resumed: 2048})
	clock = clock.Add(10 * time.Millisecond)
	b.Update(Progress{Done: 3000, Total: 4096, Resumed: 2048}) // throttled
	clock = clock.Add(time.Second)
	b.Update(Progress{Done: 4096, Total: 4096, Resumed: 2048})
	want := "resuming at 2.0 KiB\n" +
		"\r[===============               ]  50%  2.0 KiB / 4.0 KiB" +
		"\r[==============================] 100%  4.0 KiB / 4.0 KiB  2.0 KiB/s\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}
