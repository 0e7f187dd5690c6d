package agent

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/deai-network/deai/internal/tx"
)

// AuditDomain prefixes the bytes an agent signs for each audit entry, so an
// entry's signature is never valid as a tx, voucher or message.
const AuditDomain = "deai/agent/audit/v1\x00"

// Audit entry kinds.
const (
	AuditStart           = "start"            // the runtime started
	AuditRun             = "run"              // a trigger fired
	AuditRunDone         = "run_done"         // a run's steps all succeeded
	AuditRunFailed       = "run_failed"       // a step failed; the rest did not run
	AuditPayment         = "payment"          // a voucher the payee kept
	AuditPaymentRefused  = "payment_refused"  // a payment not made: budget, approval, failed call
	AuditApprovalPending = "approval_pending" // a payment waits for the owner
	AuditApproved        = "approved"         // the owner's approval was accepted
	AuditAction          = "action"           // an on-chain tx (transfer, stake, lease, channel)
	AuditEarned          = "earned"           // a paid call this agent served
	AuditRedeemed        = "redeemed"         // vouchers this agent redeemed on chain
	AuditOutput          = "output"           // a result written to a file or posted
	AuditStop            = "stop"             // the runtime stopped
)

// AuditEntry is one line of an agent's audit log. Every payment and every
// action is one entry; Prev chains it to the entry before (the hash of its
// signed bytes), so a line removed, changed or reordered breaks the chain.
type AuditEntry struct {
	Seq          uint64     `json:"seq"` // 1, 2, … without gaps
	TimeMs       int64      `json:"time_ms"`
	Agent        tx.Address `json:"agent"`
	Kind         string     `json:"kind"`
	Run          uint64     `json:"run,omitempty"`
	Step         string     `json:"step,omitempty"`
	Counterparty tx.Address `json:"counterparty,omitzero"`
	Amount       tx.Amount  `json:"amount,omitempty"`
	Channel      string     `json:"channel,omitempty"`
	Lane         uint32     `json:"lane,omitempty"`
	Nonce        uint64     `json:"nonce,omitempty"`
	TxHash       string     `json:"tx,omitempty"`
	Detail       string     `json:"detail,omitempty"`
	Prev         string     `json:"prev"` // hex sha256 of the previous line's entry bytes; "" for the first
}

// auditLine is how an entry is stored: the entry's exact JSON bytes, their
// hash and the agent's signature over the domain and those bytes.
type auditLine struct {
	Entry json.RawMessage `json:"entry"`
	Hash  string          `json:"hash"`
	Sig   string          `json:"sig"`
}

// Audit log errors.
var (
	ErrAuditBroken = errors.New("audit log does not verify")
)

// AuditLog is an append-only, hash-chained log of signed entries in a file
// (one JSON line each, fsynced per entry). Opening verifies what is
// already there and continues the chain; a log that does not verify is
// refused rather than extended. Safe for concurrent use.
type AuditLog struct {
	key  ed25519.PrivateKey
	addr tx.Address
	now  func() time.Time

	mu   sync.Mutex // guards f, seq and prev
	f    *os.File
	seq  uint64
	prev string
}

// OpenAuditLog opens (or creates) the log at path for the agent key; now
// is the clock (nil: time.Now).
func OpenAuditLog(path string, key ed25519.PrivateKey, now func() time.Time) (*AuditLog, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("open audit log: key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	l := &AuditLog{key: key, addr: tx.AddressFromPubKey(key.Public().(ed25519.PublicKey)), now: now, f: f}
	entries, err := ReadAuditLog(f, l.key.Public().(ed25519.PublicKey))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open audit log %s: %w", path, err)
	}
	if n := len(entries); n > 0 {
		last := entries[n-1]
		if last.Entry.Agent != l.addr {
			f.Close()
			return nil, fmt.Errorf("open audit log %s: %w: written by %s, this agent is %s", path, ErrAuditBroken, last.Entry.Agent, l.addr)
		}
		l.seq, l.prev = last.Entry.Seq, last.Hash
	}
	return l, nil
}

// Address is the agent whose key signs the entries.
func (l *AuditLog) Address() tx.Address { return l.addr }

// Append signs e (its Seq, TimeMs, Agent and Prev are filled in; an
// AuditStart entry's Detail also gets the agent's public key), writes it
// and syncs the file before returning.
func (l *AuditLog) Append(e AuditEntry) (AuditEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return e, errors.New("append audit entry: log closed")
	}
	e.Seq, e.TimeMs, e.Agent, e.Prev = l.seq+1, l.now().UnixMilli(), l.addr, l.prev
	if e.Kind == AuditStart {
		// The key rides along so that the log verifies without it.
		e.Detail = strings.TrimSpace("pubkey=" + hex.EncodeToString(l.key.Public().(ed25519.PublicKey)) + " " + e.Detail)
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return e, fmt.Errorf("append audit entry: %w", err)
	}
	sum := sha256.Sum256(raw)
	line, err := json.Marshal(auditLine{Entry: raw, Hash: hex.EncodeToString(sum[:]),
		Sig: hex.EncodeToString(ed25519.Sign(l.key, append([]byte(AuditDomain), raw...)))})
	if err != nil {
		return e, fmt.Errorf("append audit entry: %w", err)
	}
	if _, err := l.f.Write(append(line, '\n')); err != nil {
		return e, fmt.Errorf("append audit entry: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return e, fmt.Errorf("append audit entry: %w", err)
	}
	l.seq, l.prev = e.Seq, hex.EncodeToString(sum[:])
	return e, nil
}

// Close closes the file.
func (l *AuditLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// VerifiedEntry is an entry read back with the hash of its line.
type VerifiedEntry struct {
	Entry AuditEntry `json:"entry"`
	Hash  string     `json:"hash"`
}

// maxAuditLine bounds one line of the log.
const maxAuditLine = 1 << 20

// ReadAuditLog reads and verifies a whole log: every line's hash and
// signature (by pub, or, with pub nil, by the key whose address the first
// entry names, which every later entry must repeat), sequence numbers
// without gaps and each Prev naming the line before. The first fault is
// an error wrapping ErrAuditBroken that names the line.
func ReadAuditLog(r io.Reader, pub ed25519.PublicKey) ([]VerifiedEntry, error) {
	var out []VerifiedEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxAuditLine)
	prev := ""
	for n := 1; sc.Scan(); n++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			return out, fmt.Errorf("%w: line %d: empty", ErrAuditBroken, n)
		}
		var ln auditLine
		if err := json.Unmarshal(b, &ln); err != nil {
			return out, fmt.Errorf("%w: line %d: %v", ErrAuditBroken, n, err)
		}
		sum := sha256.Sum256(ln.Entry)
		if hex.EncodeToString(sum[:]) != ln.Hash {
			return out, fmt.Errorf("%w: line %d: hash does not match the entry", ErrAuditBroken, n)
		}
		var e AuditEntry
		if err := json.Unmarshal(ln.Entry, &e); err != nil {
			return out, fmt.Errorf("%w: line %d: entry: %v", ErrAuditBroken, n, err)
		}
		if pub == nil {
			pk, err := auditKeyFor(e.Agent, ln)
			if err != nil {
				return out, fmt.Errorf("%w: line %d: %v", ErrAuditBroken, n, err)
			}
			pub = pk
		}
		sig, err := hex.DecodeString(ln.Sig)
		switch {
		case err != nil || len(sig) != ed25519.SignatureSize:
			return out, fmt.Errorf("%w: line %d: malformed signature", ErrAuditBroken, n)
		case tx.AddressFromPubKey(pub) != e.Agent:
			return out, fmt.Errorf("%w: line %d: entry names agent %s, the log is %s's", ErrAuditBroken, n, e.Agent, tx.AddressFromPubKey(pub))
		case !ed25519.Verify(pub, append([]byte(AuditDomain), ln.Entry...), sig):
			return out, fmt.Errorf("%w: line %d: signature does not verify", ErrAuditBroken, n)
		case e.Seq != uint64(n):
			return out, fmt.Errorf("%w: line %d: sequence %d, want %d", ErrAuditBroken, n, e.Seq, n)
		case e.Prev != prev:
			return out, fmt.Errorf("%w: line %d: previous hash %q, the line before is %q", ErrAuditBroken, n, e.Prev, prev)
		}
		prev = ln.Hash
		out = append(out, VerifiedEntry{Entry: e, Hash: ln.Hash})
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("%w: %v", ErrAuditBroken, err)
	}
	return out, nil
}

// auditKeyFor recovers no key from an address (ed25519 public keys cannot
// be derived from their hash), so a log read without a key must carry it:
// the first entry of every log is AuditStart with the public key in
// Detail as "pubkey=HEX".
func auditKeyFor(agent tx.Address, ln auditLine) (ed25519.PublicKey, error) {
	var e AuditEntry
	if err := json.Unmarshal(ln.Entry, &e); err != nil {
		return nil, err
	}
	hexKey, ok := cutField(e.Detail, "pubkey=")
	if !ok {
		return nil, errors.New("the first entry does not carry the agent's public key (pubkey=HEX); pass the key")
	}
	pk, err := hex.DecodeString(hexKey)
	if err != nil || len(pk) != ed25519.PublicKeySize {
		return nil, errors.New("the first entry's public key is malformed")
	}
	if tx.AddressFromPubKey(pk) != agent {
		return nil, fmt.Errorf("the first entry's public key is not agent %s's", agent)
	}
	return pk, nil
}

// cutField returns the value after prefix in a space-separated detail.
func cutField(detail, prefix string) (string, bool) {
	for _, f := range bytes.Fields([]byte(detail)) {
		if v, ok := bytes.CutPrefix(f, []byte(prefix)); ok {
			return string(v), true
		}
	}
	return "", false
}

// ReadAuditFile reads and verifies the log at path (see ReadAuditLog).
func ReadAuditFile(path string) ([]VerifiedEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAuditLog(f, nil)
}

// SumAudit adds up the amounts of the entries of one kind and counts them.
func SumAudit(es []VerifiedEntry, kind string) (tx.Amount, int) {
	var s tx.Amount
	n := 0
	for _, e := range es {
		if e.Entry.Kind == kind {
			s += e.Entry.Amount
			n++
		}
	}
	return s, n
}
