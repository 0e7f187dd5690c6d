package wallet

import (
	"fmt"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/scrypt"

	"github.com/deai-network/deai/internal/errs"
)

// The key derivation functions a keystore file may name.
const (
	KDFArgon2id = "argon2id"
	KDFScrypt   = "scrypt"
)

// KDF names a password hashing function and its cost. Only the fields of the
// named function are used.
type KDF struct {
	Name string // KDFArgon2id or KDFScrypt

	// argon2id (RFC 9106)
	Time      uint32 // passes
	MemoryKiB uint32
	Threads   uint8

	// scrypt
	N, R, P int
}

// DefaultKDF is argon2id with RFC 9106's second recommended option: t=3,
// 64 MiB, 4 lanes (about 0.15 s on a 2-core machine). Lower costs exist only
// for tests, through WithKDF.
func DefaultKDF() KDF {
	return KDF{Name: KDFArgon2id, Time: 3, MemoryKiB: 64 * 1024, Threads: 4}
}

// Upper bounds keep a hostile keystore file from making Load allocate or spin
// without limit.
const (
	maxArgonTime      = 64
	maxArgonMemoryKiB = 2 << 20 // 2 GiB
	maxArgonThreads   = 64
	maxScryptN        = 1 << 22
	maxScryptR        = 64
	maxScryptP        = 64
	maxScryptMemory   = 2 << 30 // bytes: 128·N·r
)

// Validate reports whether k names a known function with parameters in range.
func (k KDF) Validate() error {
	const op = "wallet: kdf"
	switch k.Name {
	case KDFArgon2id:
		if k.Time < 1 || k.Time > maxArgonTime {
			return errs.E(op, errs.Invalid, "argon2id time %d out of range [1, %d]", k.Time, maxArgonTime)
		}
		if k.Threads < 1 || k.Threads > maxArgonThreads {
			return errs.E(op, errs.Invalid, "argon2id threads %d out of range [1, %d]", k.Threads, maxArgonThreads)
		}
		if k.MemoryKiB < 8*uint32(k.Threads) || k.MemoryKiB > maxArgonMemoryKiB {
			return errs.E(op, errs.Invalid, "argon2id memory %d KiB out of range [%d, %d]", k.MemoryKiB, 8*uint32(k.Threads), maxArgonMemoryKiB)
		}
		if k.N != 0 || k.R != 0 || k.P != 0 {
			return errs.E(op, errs.Invalid, "argon2id with scrypt parameters")
		}
	case KDFScrypt:
		if k.N < 2 || k.N > maxScryptN || k.N&(k.N-1) != 0 {
			return errs.E(op, errs.Invalid, "scrypt N %d is not a power of two in [2, %d]", k.N, maxScryptN)
		}
		if k.R < 1 || k.R > maxScryptR || k.P < 1 || k.P > maxScryptP {
			return errs.E(op, errs.Invalid, "scrypt r=%d p=%d out of range [1, %d]", k.R, k.P, maxScryptR)
		}
		if 128*k.N*k.R > maxScryptMemory {
			return errs.E(op, errs.Invalid, "scrypt N=%d r=%d needs more than %d bytes", k.N, k.R, maxScryptMemory)
		}
		if k.Time != 0 || k.MemoryKiB != 0 || k.Threads != 0 {
			return errs.E(op, errs.Invalid, "scrypt with argon2id parameters")
		}
	default:
		return errs.E(op, errs.Invalid, "unknown kdf %q, want %q or %q", k.Name, KDFArgon2id, KDFScrypt)
	}
	return nil
}

// derivedLen is the KDF output: 32 bytes of AEAD key, 32 of check key.
const derivedLen = 64

// derive stretches passphrase with salt. k must be valid.
func (k KDF) derive(passphrase, salt []byte) ([]byte, error) {
	switch k.Name {
	case KDFArgon2id:
		return argon2.IDKey(passphrase, salt, k.Time, k.MemoryKiB, k.Threads, derivedLen), nil
	case KDFScrypt:
		out, err := scrypt.Key(passphrase, salt, k.N, k.R, k.P, derivedLen)
		if err != nil {
			return nil, fmt.Errorf("wallet: scrypt: %w", err)
		}
		return out, nil
	}
	return nil, errs.E("wallet: kdf", errs.Internal, "unknown kdf %q", k.Name)
}
