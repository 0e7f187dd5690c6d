package wallet

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/deai-network/deai/internal/errs"
	"github.com/deai-network/deai/internal/tx"
)

// FileVersion is the keystore file format this package writes and reads.
const FileVersion = 1

// CipherXChaCha20Poly1305 is the only AEAD keystore files use.
const CipherXChaCha20Poly1305 = "xchacha20-poly1305"

// Sizes in a version 1 file.
const (
	saltLen       = 32
	minSaltLen    = 16
	maxSaltLen    = 64
	checkLen      = 32
	secretLen     = ed25519.SeedSize
	ciphertextLen = secretLen + chacha20poly1305.Overhead
	maxFileSize   = 64 << 10
	checkLabel    = "deai keystore v1 passphrase check"
	adLabel       = "deai keystore v1\x00"
	encKeyLen     = chacha20poly1305.KeySize
)

// Errors callers branch on. Every error from this package that means one of
// these wraps it, so errors.Is works.
var (
	ErrNotExist        = errors.New("no such key")
	ErrExist           = errors.New("a key with this name already exists")
	ErrInvalidName     = errors.New("invalid key name")
	ErrCorrupt         = errors.New("keystore file is corrupt")
	ErrVersion         = errors.New("unsupported keystore file version")
	ErrTampered        = errors.New("keystore file was modified after it was written")
	ErrWrongPassphrase = errors.New("wrong passphrase")
)

// fileJSON is the on-disk form. Binary fields are lower-case hex.
type fileJSON struct {
	Version int        `json:"version"`
	Name    string     `json:"name"`
	Address string     `json:"address"`
	PubKey  string     `json:"pub_key"`
	KDF     kdfJSON    `json:"kdf"`
	Cipher  cipherJSON `json:"cipher"`
}

type kdfJSON struct {
	Name      string `json:"name"`
	Salt      string `json:"salt"`
	Time      uint32 `json:"time,omitempty"`
	MemoryKiB uint32 `json:"memory_kib,omitempty"`
	Threads   uint8  `json:"threads,omitempty"`
	N         int    `json:"n,omitempty"`
	R         int    `json:"r,omitempty"`
	P         int    `json:"p,omitempty"`
	// Check is HMAC-SHA256(second half of the KDF output, checkLabel). It
	// tells a wrong passphrase apart from a modified file; it gives an
	// offline guesser nothing the AEAD tag does not already give.
	Check string `json:"check"`
}

type cipherJSON struct {
	Name       string `json:"name"`
	Nonce      string `json:"nonce"`
	Ciphertext string `json:"ciphertext"`
}

// keyFile is a decoded, structurally valid keystore file. Decoding checks
// shapes and the address/public key relation; only decrypt checks integrity.
type keyFile struct {
	name       string
	addr       tx.Address
	pub        ed25519.PublicKey
	kdf        KDF
	salt       []byte
	check      []byte
	nonce      []byte
	ciphertext []byte
}

// corrupt and friends build the package's classified errors.
func fail(op string, kind errs.Kind, sentinel error, format string, args ...any) error {
	if format == "" {
		return errs.Wrap(op, kind, sentinel)
	}
	return errs.Wrap(op, kind, fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...))
}

// decodeFile parses a keystore file. It never needs the passphrase.
func decodeFile(data []byte) (*keyFile, error) {
	const op = "wallet: decode keystore file"
	if len(data) > maxFileSize {
		return nil, fail(op, errs.Invalid, ErrCorrupt, "%d bytes, more than %d", len(data), maxFileSize)
	}
	// Version first, leniently, so a newer file gets "unsupported version"
	// rather than "unknown field".
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fail(op, errs.Invalid, ErrCorrupt, "not valid JSON: %v", err)
	}
	if head.Version == nil {
		return nil, fail(op, errs.Invalid, ErrCorrupt, "no version field")
	}
	if *head.Version != FileVersion {
		return nil, fail(op, errs.Invalid, ErrVersion, "version %d, this build reads version %d", *head.Version, FileVersion)
	}
	var fj fileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fj); err != nil {
		return nil, fail(op, errs.Invalid, ErrCorrupt, "%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail(op, errs.Invalid, ErrCorrupt, "trailing data after the JSON object")
	}

	f := &keyFile{name: fj.Name}
	if err := ValidateName(fj.Name); err != nil {
		return nil, fail(op, errs.Invalid, ErrCorrupt, "name: %v", err)
	}
	addr, err := tx.ParseAddress(fj.Address)
	if err != nil {
		return nil, fail(op, errs.Invalid, ErrCorrupt, "address: %v", err)
	}
	f.addr = addr
	if f.pub, err = decodeHex("pub_key", fj.PubKey, ed25519.PublicKeySize, ed25519.PublicKeySize); err != nil {
		return nil, fail(op, errs.Invalid, ErrCorrupt, "%v", err)
	}
	f.kdf = KDF{Name: fj.KDF.Name, Time: fj.KDF.Time, MemoryKiB: fj.KDF.MemoryKiB, Threads: fj.KDF.Threads, N: fj.KDF.N, R: fj.KDF.R, P: fj.KDF.P}
	if err := f.kdf.Validate(); err != nil {
		return nil, fail(op, errs.Invalid, ErrCorrupt, "%v", err)
	}
	if f.salt, err = decodeHex("kdf salt", fj.KDF.Salt, minSaltLen, maxSaltLen); err != nil {
		return nil, fail(op, errs.Invalid, ErrCorrupt, "%v", err)
	}
	if f.check, err = decodeHex("kdf check", fj.KDF.Check, checkLen, checkLen); err != nil {
		return nil, fail(op, errs.Invalid, ErrCorrupt, "%v", err)
	}
	if fj.Cipher.Name != CipherXChaCha20Poly1305 {
		return nil, fail(op, errs.Invalid, ErrCorrupt, "cipher %q, want %q", fj.Cipher.Name, CipherXChaCha20Poly1305)
	}
	if f.nonce, err = decodeHex("cipher nonce", fj.Cipher.Nonce, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX); err != nil {
		return nil, fail(op, errs.Invalid, ErrCorrupt, "%v", err)
	}
	if f.ciphertext, err = decodeHex("ciphertext", fj.Cipher.Ciphertext, 0, maxFileSize); err != nil {
		return nil, fail(op, errs.Invalid, ErrCorrupt, "%v", err)
	}
	if len(f.ciphertext) != ciphertextLen {
		return nil, fail(op, errs.Invalid, ErrCorrupt, "ciphertext is %d bytes, want %d: the file is truncated or damaged", len(f.ciphertext), ciphertextLen)
	}
	// A header edited by hand (or by a careless tool) is caught here, before
	// any passphrase is asked for; a consistent forgery is caught by the AEAD.
	if tx.AddressFromPubKey(f.pub) != f.addr {
		return nil, fail(op, errs.Permission, ErrTampered, "address %s does not belong to public key %x", f.addr, []byte(f.pub))
	}
	return f, nil
}

func decodeHex(field, s string, minLen, maxLen int) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not hex: %w", field, err)
	}
	if len(b) < minLen || len(b) > maxLen {
		if minLen == maxLen {
			return nil, fmt.Errorf("%s is %d bytes, want %d", field, len(b), minLen)
		}
		return nil, fmt.Errorf("%s is %d bytes, want %d to %d", field, len(b), minLen, maxLen)
	}
	return b, nil
}

// encode writes the canonical JSON form of f.
func (f *keyFile) encode() []byte {
	fj := fileJSON{
		Version: FileVersion,
		Name:    f.name,
		Address: f.addr.String(),
		PubKey:  hex.EncodeToString(f.pub),
		KDF: kdfJSON{
			Name: f.kdf.Name, Salt: hex.EncodeToString(f.salt),
			Time: f.kdf.Time, MemoryKiB: f.kdf.MemoryKiB, Threads: f.kdf.Threads,
			N: f.kdf.N, R: f.kdf.R, P: f.kdf.P,
			Check: hex.EncodeToString(f.check),
		},
		Cipher: cipherJSON{
			Name:       CipherXChaCha20Poly1305,
			Nonce:      hex.EncodeToString(f.nonce),
			Ciphertext: hex.EncodeToString(f.ciphertext),
		},
	}
	b, err := json.MarshalIndent(fj, "", "  ")
	if err != nil {
		panic(err) // unreachable: plain strings and integers
	}
	return append(b, '\n')
}

// associatedData binds every header field to the ciphertext: editing the
// name, address, public key or KDF makes decryption fail.
func (f *keyFile) associatedData() []byte {
	b := []byte(adLabel)
	b = binary.BigEndian.AppendUint32(b, FileVersion)
	field := func(p []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	field([]byte(f.name))
	field(f.addr[:])
	field(f.pub)
	field([]byte(f.kdf.Name))
	for _, v := range []uint64{uint64(f.kdf.Time), uint64(f.kdf.MemoryKiB), uint64(f.kdf.Threads), uint64(f.kdf.N), uint64(f.kdf.R), uint64(f.kdf.P)} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	field(f.salt)
	field([]byte(CipherXChaCha20Poly1305))
	return b
}

// sealKey encrypts k's seed under passphrase into a new keyFile named name.
func sealKey(name string, k *Key, passphrase []byte, kdf KDF) (*keyFile, error) {
	f := &keyFile{
		name:  name,
		addr:  k.Address(),
		pub:   k.PubKey(),
		kdf:   kdf,
		salt:  make([]byte, saltLen),
		nonce: make([]byte, chacha20poly1305.NonceSizeX),
	}
	if _, err := rand.Read(f.salt); err != nil {
		return nil, fmt.Errorf("wallet: read salt: %w", err)
	}
	if _, err := rand.Read(f.nonce); err != nil {
		return nil, fmt.Errorf("wallet: read nonce: %w", err)
	}
	derived, err := kdf.derive(passphrase, f.salt)
	if err != nil {
		return nil, err
	}
	defer clear(derived)
	f.check = passphraseCheck(derived)
	aead, err := chacha20poly1305.NewX(derived[:encKeyLen])
	if err != nil {
		return nil, fmt.Errorf("wallet: new aead: %w", err)
	}
	seed := k.seed()
	defer clear(seed)
	f.ciphertext = aead.Seal(nil, f.nonce, seed, f.associatedData())
	return f, nil
}

func passphraseCheck(derived []byte) []byte {
	mac := hmac.New(sha256.New, derived[encKeyLen:])
	mac.Write([]byte(checkLabel))
	return mac.Sum(nil)
}

// open decrypts f with passphrase and returns its key.
func (f *keyFile) open(passphrase []byte) (*Key, error) {
	op := fmt.Sprintf("wallet: unlock key %q", f.name)
	derived, err := f.kdf.derive(passphrase, f.salt)
	if err != nil {
		return nil, err
	}
	defer clear(derived)
	if subtle.ConstantTimeCompare(passphraseCheck(derived), f.check) != 1 {
		return nil, fail(op, errs.Permission, ErrWrongPassphrase, "")
	}
	aead, err := chacha20poly1305.NewX(derived[:encKeyLen])
	if err != nil {
		return nil, fmt.Errorf("wallet: new aead: %w", err)
	}
	seed, err := aead.Open(nil, f.nonce, f.ciphertext, f.associatedData())
	if err != nil {
		// The passphrase is right (the check matched), so the header or the
		// ciphertext changed since the file was written.
		return nil, fail(op, errs.Permission, ErrTampered, "the header or ciphertext does not match its authentication tag")
	}
	defer clear(seed)
	k, err := FromSeed(seed)
	if err != nil {
		return nil, fail(op, errs.Invalid, ErrCorrupt, "%v", err)
	}
	if !k.PubKey().Equal(f.pub) {
		return nil, fail(op, errs.Permission, ErrTampered, "decrypted key does not match the public key in the file")
	}
	return k, nil
}
