package wallet

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeFile feeds arbitrary bytes to the keystore file decoder. It must
// never panic, and whatever it accepts must re-encode to a file that decodes
// to the same fields and encodes to the same bytes. The seed corpus in
// testdata/fuzz/FuzzDecodeFile holds valid scrypt and argon2id files and
// damaged variants. (It never decrypts: a hostile file could name a costly
// KDF, which Validate bounds but which is still too slow for fuzzing.)
func FuzzDecodeFile(f *testing.F) {
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		kf, err := decodeFile(data)
		if err != nil {
			if kf != nil {
				t.Fatal("non-nil file with an error")
			}
			return
		}
		enc := kf.encode()
		kf2, err := decodeFile(enc)
		if err != nil {
			t.Fatalf("re-decode of accepted file: %v\n%s", err, enc)
		}
		if diff := cmp.Diff(kf.info(), kf2.info()); diff != "" {
			t.Errorf("info changed (-first +second):\n%s", diff)
		}
		if !bytes.Equal(enc, kf2.encode()) {
			t.Errorf("encoding is not stable")
		}
		if !bytes.Equal(kf.associatedData(), kf2.associatedData()) {
			t.Errorf("associated data changed")
		}
	})
}
