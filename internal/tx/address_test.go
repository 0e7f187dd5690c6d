package tx

import (
	"crypto/sha256"
	"encoding/json"
	"testing"

	"github.com/btcsuite/btcd/btcutil/bech32"
)

func TestAddressStringMatchesBech32(t *testing.T) {
	for i := 0; i < 2000; i++ {
		var a Address
		sum := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		copy(a[:], sum[:])
		if i == 0 {
			a = Address{}
		}
		if i == 1 {
			for j := range a {
				a[j] = 0xff
			}
		}
		conv, err := bech32.ConvertBits(a[:], 8, 5, true)
		if err != nil {
			t.Fatal(err)
		}
		want, err := bech32.Encode(AddressPrefix, conv)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.String(); got != want {
			t.Fatalf("address %x: String %s, bech32 %s", a, got, want)
		}
		back, err := ParseAddress(want)
		if err != nil || back != a {
			t.Fatalf("ParseAddress(%s) = %x, %v", want, back, err)
		}
	}
}

func TestParseAddressRejects(t *testing.T) {
	good := Address{1, 2, 3}.String()
	for _, s := range []string{"", "deai1", good[:len(good)-1] + "q", "cosmos1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnrql8a", good + "q"} {
		if _, err := ParseAddress(s); err == nil {
			t.Errorf("ParseAddress(%q) accepted", s)
		}
	}
	var a Address
	if err := json.Unmarshal([]byte(`"`+good+`"`), &a); err != nil || a != (Address{1, 2, 3}) {
		t.Errorf("JSON round trip: %v", err)
	}
}

func BenchmarkAddressString(b *testing.B) {
	a := Address{1, 2, 3, 4, 5}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = a.String()
	}
}
