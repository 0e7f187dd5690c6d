// Package wallet holds deai account keys: ed25519 keys, BIP-39 recovery
// mnemonics with SLIP-0010 derivation, and an encrypted on-disk keystore.
//
// A Key never reveals its private half through String, Format, JSON or slog;
// code that must sign transactions calls Key.Sign or, where a raw key is
// unavoidable, Key.PrivateKey. The Keystore stores one JSON file per named
// key, encrypted with a passphrase (argon2id or scrypt, then
// XChaCha20-Poly1305), and never overwrites an existing file.
//
// It imports only internal/tx (addresses) and internal/errs from the project;
// never the ledger, the chain or the network.
package wallet
