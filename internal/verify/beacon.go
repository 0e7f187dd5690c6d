package verify

import (
	"crypto/sha256"
	"encoding/binary"
)

// AuditDomain separates the audit draw from every other use of a block
// hash.
const AuditDomain = "deai/verify/audit/v1\x00"

// Selected reports whether a receipt (named by its signature) is audited
// at rate parts per million, given the beacon: the hash of a block
// produced after the answer. A miner signs its receipt before that block
// exists, so it cannot tell which of its answers will be checked; anyone
// can recompute the draw from the chain.
func Selected(beacon, receiptSig []byte, ratePPM uint32) bool {
	if ratePPM >= 1_000_000 {
		return true
	}
	h := sha256.New()
	h.Write([]byte(AuditDomain))
	h.Write(beacon)
	h.Write(receiptSig)
	var sum [32]byte
	h.Sum(sum[:0])
	return binary.BigEndian.Uint64(sum[:8])%1_000_000 < uint64(ratePPM)
}
