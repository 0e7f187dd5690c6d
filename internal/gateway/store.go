package gateway

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/deai-network/deai/internal/tx"
)

// Record kinds in the store.
const (
	recordDeposit = "deposit" // an on-chain transfer credited to an account
	recordCharge  = "charge"  // a served request: its receipt and its price
	recordVoucher = "voucher" // a payment-channel voucher kept for a request: its delta is credited
	// Settlements: the signed tx before broadcast, then its outcome.
	recordSettleBegin  = "settle_begin"
	recordSettleDone   = "settle_done"
	recordSettleFailed = "settle_failed"
)

// Record is one line of the store: JSON, appended, never rewritten.
type Record struct {
	Kind    string     `json:"kind"`
	TimeMs  int64      `json:"time_ms"`
	Account tx.Address `json:"account"`
	Amount  tx.Amount  `json:"amount"`
	TxHash  string     `json:"tx_hash,omitempty"` // deposits
	// Charges: the model, the miner and its receipt (base64 canonical
	// encoding, as in X-Deai-Receipt), kept for audit and fraud proofs.
	Model            string     `json:"model,omitempty"`
	Miner            tx.Address `json:"miner,omitzero"`
	Receipt          string     `json:"receipt,omitempty"`
	PromptTokens     uint32     `json:"prompt_tokens,omitempty"`
	CompletionTokens uint32     `json:"completion_tokens,omitempty"`
	// KeyID names the API key that was charged (a hash prefix, not the
	// key), so that its quotas survive a restart.
	KeyID string `json:"key_id,omitempty"`
	// Fee is the gateway's cut of a charge's Amount; the miner earns the
	// rest.
	Fee tx.Amount `json:"fee,omitempty"`
	// Settlements: the tx's nonce, its bytes (hex, so that a tx whose
	// outcome a crash hid can be broadcast again) and what it pays.
	// Vouchers: the voucher's nonce on its lane.
	Nonce   uint64   `json:"nonce,omitempty"`
	RawTx   string   `json:"raw_tx,omitempty"`
	Payouts []Payout `json:"payouts,omitempty"`
	// Vouchers: Account is the payer and Amount the delta credited; the
	// channel (hex id), the lane, the lane's cumulative amount and the
	// signed voucher (base64 of its encoding, so that it can be redeemed
	// after a restart).
	Channel    string    `json:"channel,omitempty"`
	Lane       uint32    `json:"lane,omitempty"`
	Cumulative tx.Amount `json:"cumulative,omitempty"`
	Voucher    string    `json:"voucher,omitempty"`
}

// Store is the gateway's append-only log of deposits, kept vouchers,
// charges and settlements. The accounts' balances and the miners' dues are rebuilt
// from it on open. No record holds request or response text: a charge
// keeps the receipt, which binds the request by its hash only.
type Store interface {
	Append(r Record) error
	// Replay calls fn for every record in order.
	Replay(fn func(Record) error) error
}

// FileStore is a Store in a JSON-lines file.
type FileStore struct {
	path string
	mu   sync.Mutex // guards f and serializes appends
	f    *os.File
}

var _ Store = (*FileStore)(nil)

// OpenFileStore opens or creates the log at path.
func OpenFileStore(path string) (*FileStore, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open gateway store: %w", err)
	}
	return &FileStore{path: path, f: f}, nil
}

// Append writes r as one line and syncs it to disk, so that a credited
// deposit or a charge survives a crash.
func (s *FileStore) Append(r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("append %s record: %w", r.Kind, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return errors.New("append record: store closed")
	}
	if _, err := s.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("append %s record: %w", r.Kind, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("append %s record: sync: %w", r.Kind, err)
	}
	return nil
}

// Replay implements Store. A torn last line (a crash mid-write) is
// ignored; a bad line elsewhere is an error.
func (s *FileStore) Replay(fn func(Record) error) error {
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("replay gateway store: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err == io.EOF {
			return nil // a line without its newline is torn
		}
		if err != nil {
			return fmt.Errorf("replay gateway store: %w", err)
		}
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("replay gateway store: line %d: %w", line, err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
}

// Close closes the file.
func (s *FileStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// memStore is a Store in memory, for tests and a gateway without a data
// directory.
type memStore struct {
	mu   sync.Mutex // guards recs
	recs []Record
}

func (m *memStore) Append(r Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, r)
	return nil
}

func (m *memStore) Replay(fn func(Record) error) error {
	m.mu.Lock()
	recs := append([]Record(nil), m.recs...)
	m.mu.Unlock()
	for _, r := range recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}
