package wallet

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/deai-network/deai/internal/errs"
	"github.com/deai-network/deai/internal/tx"
)

// fileExt is the extension of keystore files; the file name is the key name.
const fileExt = ".json"

// maxNameLen bounds key names.
const maxNameLen = 64

// ValidateName reports whether name can name a key: 1 to 64 characters of
// a-z, 0-9, '_' and '-', starting with a letter or digit.
//
// Names are file names, so they are lower case only (case-insensitive file
// systems) and have no dots (no "..", no hidden files).
func ValidateName(name string) error {
	if !validName(name) {
		return fail("wallet: key name", errs.Invalid, ErrInvalidName,
			"%q: use 1 to 64 of a-z, 0-9, '_' and '-', starting with a letter or digit", name)
	}
	return nil
}

func validName(name string) bool {
	if len(name) == 0 || len(name) > maxNameLen {
		return false
	}
	for i, c := range []byte(name) {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// Keystore is a directory of encrypted key files, one per name. It holds no
// open files or locks; several processes may use the same directory, and
// creating a name is atomic: of two concurrent creators exactly one wins.
type Keystore struct {
	dir string
	kdf KDF
}

// Option configures Open.
type Option func(*Keystore)

// WithKDF sets the KDF that new and imported key files are encrypted with.
// The default is DefaultKDF; tests pass cheap parameters here. Loading always
// uses the parameters recorded in each file.
func WithKDF(k KDF) Option { return func(ks *Keystore) { ks.kdf = k } }

// Open returns the keystore in dir (conventionally <home>/keys). The
// directory is created, mode 0700, when the first key is written.
func Open(dir string, opts ...Option) (*Keystore, error) {
	ks := &Keystore{dir: dir, kdf: DefaultKDF()}
	for _, o := range opts {
		o(ks)
	}
	if err := ks.kdf.Validate(); err != nil {
		return nil, fmt.Errorf("wallet: open keystore: %w", err)
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("wallet: open keystore: %w", err)
	case !fi.IsDir():
		return nil, errs.E("wallet: open keystore", errs.Invalid, "%s is not a directory", dir)
	}
	return ks, nil
}

// Dir returns the keystore directory.
func (ks *Keystore) Dir() string { return ks.dir }

// Path returns the file that holds (or would hold) the key called name.
func (ks *Keystore) Path(name string) string { return filepath.Join(ks.dir, name+fileExt) }

// Info is the public part of a stored key, readable without the passphrase.
type Info struct {
	Name    string
	Address tx.Address
	PubKey  ed25519.PublicKey
	KDF     string // KDFArgon2id or KDFScrypt
}

// Create makes a new key from a fresh 24-word mnemonic (empty BIP-39
// passphrase), stores it under name encrypted with passphrase, and returns
// the key and the mnemonic. The mnemonic is not stored: the caller must show
// it to the user exactly once for backup.
func (ks *Keystore) Create(name string, passphrase []byte) (*Key, string, error) {
	if err := ks.checkFree(name); err != nil {
		return nil, "", err
	}
	mnemonic, err := NewMnemonic()
	if err != nil {
		return nil, "", err
	}
	k, err := FromMnemonic(mnemonic, "")
	if err != nil {
		return nil, "", err
	}
	if err := ks.Add(name, k, passphrase); err != nil {
		return nil, "", err
	}
	return k, mnemonic, nil
}

// Import recovers the key of mnemonic (and optional BIP-39 passphrase) and
// stores it under name encrypted with passphrase.
func (ks *Keystore) Import(name, mnemonic, bip39Passphrase string, passphrase []byte) (*Key, error) {
	if err := ks.checkFree(name); err != nil {
		return nil, err
	}
	k, err := FromMnemonic(mnemonic, bip39Passphrase)
	if err != nil {
		return nil, err
	}
	if err := ks.Add(name, k, passphrase); err != nil {
		return nil, err
	}
	return k, nil
}

// ImportFile stores the key of an exported keystore file under name. The
// file is decrypted with passphrase first, so a damaged file or a wrong
// passphrase is reported and nothing is written; it is then re-encrypted,
// with the same passphrase and this keystore's KDF, because the name is bound
// into the ciphertext.
func (ks *Keystore) ImportFile(name string, data []byte, passphrase []byte) (*Key, error) {
	if err := ks.checkFree(name); err != nil {
		return nil, err
	}
	f, err := decodeFile(data)
	if err != nil {
		return nil, err
	}
	k, err := f.open(passphrase)
	if err != nil {
		return nil, err
	}
	if err := ks.Add(name, k, passphrase); err != nil {
		return nil, err
	}
	return k, nil
}

// Add stores k under name, encrypted with passphrase. It fails with ErrExist
// if the name is taken, and never replaces a file. An empty passphrase is
// accepted (for throwaway dev accounts) but protects nothing.
func (ks *Keystore) Add(name string, k *Key, passphrase []byte) error {
	op := fmt.Sprintf("wallet: add key %q", name)
	if err := ks.checkFree(name); err != nil {
		return err
	}
	f, err := sealKey(name, k, passphrase, ks.kdf)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := ks.ensureDir(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := writeNew(ks.dir, ks.Path(name), f.encode()); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fail(op, errs.Exist, ErrExist, "%s", ks.Path(name))
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// Load decrypts the key called name. A missing key, a damaged or edited file
// and a wrong passphrase give ErrNotExist, ErrCorrupt or ErrVersion,
// ErrTampered and ErrWrongPassphrase. Load never writes.
func (ks *Keystore) Load(name string, passphrase []byte) (*Key, error) {
	f, err := ks.read(name)
	if err != nil {
		return nil, err
	}
	return f.open(passphrase)
}

// Info returns the public fields of the key called name.
func (ks *Keystore) Info(name string) (Info, error) {
	f, err := ks.read(name)
	if err != nil {
		return Info{}, err
	}
	return f.info(), nil
}

// Export returns the encrypted keystore file of name, exactly as stored,
// after checking that it decodes. It never decrypts.
func (ks *Keystore) Export(name string) ([]byte, error) {
	data, err := ks.readRaw(name)
	if err != nil {
		return nil, err
	}
	if _, err := ks.decodeNamed(name, data); err != nil {
		return nil, err
	}
	return data, nil
}

// List returns the public fields of every key, sorted by name. Files that
// cannot be read are reported together in the error; the readable keys are
// returned even then.
func (ks *Keystore) List() ([]Info, error) {
	entries, err := os.ReadDir(ks.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("wallet: list keys: %w", err)
	}
	var infos []Info
	var bad []error
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), fileExt)
		if !ok || strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
			continue
		}
		f, err := ks.read(name)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		infos = append(infos, f.info())
	}
	return infos, errors.Join(bad...)
}

func (f *keyFile) info() Info {
	return Info{Name: f.name, Address: f.addr, PubKey: f.pub, KDF: f.kdf.Name}
}

// Has reports whether a file for name exists (readable or not). It lets a
// caller fail fast, before asking for a passphrase; Add still refuses to
// overwrite if the name is taken in between.
func (ks *Keystore) Has(name string) (bool, error) {
	err := ks.checkFree(name)
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, ErrExist):
		return true, nil
	default:
		return false, err
	}
}

// checkFree reports ErrInvalidName or ErrExist early, before any costly work.
func (ks *Keystore) checkFree(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	_, err := os.Lstat(ks.Path(name))
	switch {
	case err == nil:
		return fail(fmt.Sprintf("wallet: add key %q", name), errs.Exist, ErrExist, "%s", ks.Path(name))
	case errors.Is(err, fs.ErrNotExist):
		return nil
	default:
		return fmt.Errorf("wallet: add key %q: %w", name, err)
	}
}

func (ks *Keystore) readRaw(name string) ([]byte, error) {
	op := fmt.Sprintf("wallet: read key %q", name)
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	fh, err := os.Open(ks.Path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fail(op, errs.NotExist, ErrNotExist, "no file %s", ks.Path(name))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return data, nil
}

func (ks *Keystore) read(name string) (*keyFile, error) {
	data, err := ks.readRaw(name)
	if err != nil {
		return nil, err
	}
	return ks.decodeNamed(name, data)
}

func (ks *Keystore) decodeNamed(name string, data []byte) (*keyFile, error) {
	op := fmt.Sprintf("wallet: read key %q", name)
	f, err := decodeFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", op, ks.Path(name), err)
	}
	if f.name != name {
		return nil, fail(op, errs.Permission, ErrTampered, "file %s holds the key named %q", ks.Path(name), f.name)
	}
	return f, nil
}

// ensureDir creates the keystore directory, or tightens an existing one, to
// mode 0700.
func (ks *Keystore) ensureDir() error {
	if err := os.MkdirAll(ks.dir, 0o700); err != nil {
		return fmt.Errorf("create keystore dir: %w", err)
	}
	fi, err := os.Stat(ks.dir)
	if err != nil {
		return fmt.Errorf("stat keystore dir: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(ks.dir, 0o700); err != nil {
			return fmt.Errorf("restrict keystore dir: %w", err)
		}
	}
	return nil
}

// writeNew writes data to path, mode 0600, atomically and without ever
// replacing an existing file: the data goes to a synced temp file that is
// then hard-linked into place (link fails if path exists). On file systems
// without hard links it falls back to a checked rename, which is atomic but
// can race with a concurrent creator of the same name.
func writeNew(dir, path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	tmpName := tmp.Name()
	defer func() {
		tmp.Close()
		if rmErr := os.Remove(tmpName); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) && err == nil {
			err = fmt.Errorf("remove temp file: %w", rmErr)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("chmod temp file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write temp file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync temp file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close temp file: %w", err)
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		if _, statErr := os.Lstat(path); statErr == nil {
			return fs.ErrExist
		}
		if err := os.Rename(tmpName, path); err != nil {
			return fmt.Errorf("rename into place: %w", err)
		}
	}
	return syncDir(dir)
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open keystore dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("sync keystore dir: %w", err)
	}
	return nil
}
