package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
)

// CanonicalJSON returns the canonical encoding of m that Hash digests: the
// JSON of m (field names from the json tags, empty omitempty fields left
// out) re-encoded with every object's keys sorted bytewise, no
// insignificant whitespace, '<', '>' and '&' not escaped, and numbers
// written as the integers they are. Map order in the source file,
// YAML formatting and comments therefore never change it; list order
// (env, args, expose, volumes) does, because it means something.
func (m Manifest) CanonicalJSON() ([]byte, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep integers exact
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("re-read manifest: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// encoding/json writes map keys sorted, which is the canonical order.
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode canonical manifest: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Hash is the manifest's on-chain hash: SHA-256 of CanonicalJSON. The
// provider that wins a lease recomputes it from the manifest it receives
// and refuses one that does not match the deployment's hash.
func (m Manifest) Hash() [32]byte {
	b, err := m.CanonicalJSON()
	if err != nil {
		// Manifest holds only strings, numbers, bools and slices of them:
		// encoding cannot fail.
		panic(err)
	}
	return sha256.Sum256(b)
}
