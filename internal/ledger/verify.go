package ledger

import (
	"crypto/ed25519"

	"github.com/deai-network/deai/internal/tx"
)

// SigVerifier checks tx signatures. An implementation must accept exactly
// the signatures tx.VerifySignature accepts (ed25519 with ZIP-215 rules),
// so that every node, and the in-memory twin, agree on every tx. abciapp
// supplies one that batch-verifies on several cores.
type SigVerifier interface {
	// Verify checks one signature.
	Verify(pub ed25519.PublicKey, msg, sig []byte) bool
	// VerifyBatch checks many and reports each; len(result) == len(items).
	VerifyBatch(items []SigItem) []bool
}

// SigItem is one signature to check.
type SigItem struct {
	PubKey ed25519.PublicKey
	Msg    []byte
	Sig    []byte
}

// DefaultVerifier checks signatures one by one with tx.VerifySignature.
type DefaultVerifier struct{}

var _ SigVerifier = DefaultVerifier{}

// Verify implements SigVerifier.
func (DefaultVerifier) Verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	return tx.VerifySignature(pub, msg, sig)
}

// VerifyBatch implements SigVerifier.
func (DefaultVerifier) VerifyBatch(items []SigItem) []bool {
	ok := make([]bool, len(items))
	for i, it := range items {
		ok[i] = tx.VerifySignature(it.PubKey, it.Msg, it.Sig)
	}
	return ok
}
