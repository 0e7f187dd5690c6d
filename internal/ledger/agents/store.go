package agents

import (
	"fmt"

	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// Name is the module name and key prefix.
const Name = "agents"

// State keys. Names are stored as their bytes; they never hold 0x00, which
// ends the capability in the capability index so that "gpu" and "gpu-x"
// do not share a prefix.
//
//	agents/params                       Params
//	agents/s/<name>                     Service
//	agents/o/<owner><name>              (empty) index of an owner's services
//	agents/c/<capability>0x00<name>     (empty) index of services by capability
//	agents/p/<owner><agent>             Permission
//	agents/wn/<height>                  u32: expiry slots used at height
//	agents/we/<height><slot>            expiry entry: a service name
//	agents/wc                           expiry cursor (height, slot), only while behind
var paramsKey = []byte("agents/params")

const (
	tagService    = 's'
	tagOwner      = 'o'
	tagCapability = 'c'
	tagPermission = 'p'
)

func prefix(tag byte) []byte { return []byte{'a', 'g', 'e', 'n', 't', 's', '/', tag, '/'} }

func serviceKey(name string) []byte { return append(prefix(tagService), name...) }
func ownerKey(owner tx.Address, name string) []byte {
	return append(append(prefix(tagOwner), owner[:]...), name...)
}
func capabilityPrefix(c string) []byte { return append(append(prefix(tagCapability), c...), 0) }
func capabilityKey(c, name string) []byte {
	return append(capabilityPrefix(c), name...)
}
func permissionKey(owner, agent tx.Address) []byte {
	return append(append(prefix(tagPermission), owner[:]...), agent[:]...)
}

// timer is a scheduled EndBlock entry (see wheel.go); Height 0 means none.
type timer struct {
	Height uint64
	Slot   uint32
}

func appendTimer(dst []byte, t timer) []byte {
	return tx.AppendU32(tx.AppendU64(dst, t.Height), t.Slot)
}

func readTimer(r *tx.Reader) timer { return timer{Height: r.U64(), Slot: r.U32()} }

// Service is a registry record. It is live through height Expiry; the
// EndBlock of that height removes it.
type Service struct {
	Name  string     `json:"name"`
	Owner tx.Address `json:"owner"`
	ServiceSpec
	Expiry       uint64 `json:"expiry"`
	RegisteredAt uint64 `json:"registered_at"`
	UpdatedAt    uint64 `json:"updated_at"`
	timer        timer
}

// Live reports whether the record is live at height.
func (s *Service) Live(height uint64) bool { return height <= s.Expiry }

func (s *Service) encode() []byte {
	b := tx.AppendStr8(make([]byte, 0, 128+len(s.Description)+len(s.Endpoint)), s.Name)
	b = append(b, s.Owner[:]...)
	b = s.appendSpec(b)
	b = tx.AppendU64(b, s.Expiry)
	b = tx.AppendU64(b, s.RegisteredAt)
	b = tx.AppendU64(b, s.UpdatedAt)
	return appendTimer(b, s.timer)
}

func decodeService(b []byte) (*Service, error) {
	r := tx.NewReader(b)
	s := &Service{Name: r.Str8(), Owner: r.Addr()}
	s.ServiceSpec = readSpec(r)
	s.Expiry = r.U64()
	s.RegisteredAt = r.U64()
	s.UpdatedAt = r.U64()
	s.timer = readTimer(r)
	return s, decodeDone(r, "service")
}

// Permission is a spend permission: what Agent may spend of Owner's funds
// and what it has spent. The current period is [PeriodStart,
// PeriodStart+PeriodBlocks); PeriodSpent counts it and is reset lazily by
// the first debit of a later period (see At for the view at a height).
type Permission struct {
	Owner tx.Address `json:"owner"`
	Agent tx.Address `json:"agent"`
	SpendLimits
	GrantedAt   uint64    `json:"granted_at"`
	PeriodStart uint64    `json:"period_start"`
	PeriodSpent tx.Amount `json:"period_spent"`
	TotalSpent  tx.Amount `json:"total_spent"`
	Revoked     bool      `json:"revoked"`
	RevokedAt   uint64    `json:"revoked_at,omitempty"`
}

// periodStartAt returns the start of the period that holds height (the
// grant's period before GrantedAt).
func (p *Permission) periodStartAt(height uint64) uint64 {
	if height <= p.GrantedAt {
		return p.GrantedAt
	}
	return p.GrantedAt + (height-p.GrantedAt)/p.PeriodBlocks*p.PeriodBlocks
}

// spentAt returns what was spent in the period that holds height.
func (p *Permission) spentAt(height uint64) (start uint64, spent tx.Amount) {
	start = p.periodStartAt(height)
	if start != p.PeriodStart {
		return start, 0
	}
	return start, p.PeriodSpent
}

func (p *Permission) encode() []byte {
	b := make([]byte, 0, 128+tx.AddressLen*len(p.Allowlist))
	b = append(b, p.Owner[:]...)
	b = append(b, p.Agent[:]...)
	b = p.appendLimits(b)
	b = tx.AppendU64(b, p.GrantedAt)
	b = tx.AppendU64(b, p.PeriodStart)
	b = tx.AppendU64(b, uint64(p.PeriodSpent))
	b = tx.AppendU64(b, uint64(p.TotalSpent))
	b = tx.AppendBool(b, p.Revoked)
	return tx.AppendU64(b, p.RevokedAt)
}

func decodePermission(b []byte) (*Permission, error) {
	r := tx.NewReader(b)
	p := &Permission{Owner: r.Addr(), Agent: r.Addr()}
	p.SpendLimits = readLimits(r)
	p.GrantedAt = r.U64()
	p.PeriodStart = r.U64()
	p.PeriodSpent = tx.Amount(r.U64())
	p.TotalSpent = tx.Amount(r.U64())
	p.Revoked = r.Bool()
	p.RevokedAt = r.U64()
	return p, decodeDone(r, "spend permission")
}

func decodeDone(r *tx.Reader, what string) error {
	if err := r.Done(); err != nil {
		return module.Errorf(module.ReasonInternal, "decode %s: %v", what, err)
	}
	return nil
}

// store wraps the module's reads with their encodings. Read errors are
// internal; a missing record is a nil result.
type store struct{ kv state.KV }

func (s store) get(key []byte, what string) ([]byte, error) {
	b, err := s.kv.Get(key)
	if err != nil {
		return nil, module.Wrap(module.ReasonInternal, fmt.Errorf("read %s: %w", what, err))
	}
	return b, nil
}

func (s store) params() (Params, error) {
	b, err := s.get(paramsKey, "agents params")
	if err != nil || b == nil {
		return DefaultParams(), err
	}
	r := tx.NewReader(b)
	p := readParams(r)
	return p, decodeDone(r, "agents params")
}

// service returns the record of name, live or not yet swept; nil if none.
func (s store) service(name string) (*Service, error) {
	b, err := s.get(serviceKey(name), "service")
	if err != nil || b == nil {
		return nil, err
	}
	return decodeService(b)
}

func (s store) permission(owner, agent tx.Address) (*Permission, error) {
	b, err := s.get(permissionKey(owner, agent), "spend permission")
	if err != nil || b == nil {
		return nil, err
	}
	return decodePermission(b)
}

// writer adds the writes.
type writer struct {
	store
	st state.Store
}

func newWriter(st state.Store) writer { return writer{store{st}, st} }

func (w writer) setPermission(p *Permission) { w.st.Set(permissionKey(p.Owner, p.Agent), p.encode()) }

// putService stores s and its index entries; old is the record it
// replaces (nil if none), whose index entries are dropped first.
func (w writer) putService(old, s *Service) {
	if old != nil {
		w.dropIndexes(old)
	}
	w.st.Set(serviceKey(s.Name), s.encode())
	w.st.Set(ownerKey(s.Owner, s.Name), []byte{})
	for _, c := range s.Capabilities {
		w.st.Set(capabilityKey(c, s.Name), []byte{})
	}
}

func (w writer) dropIndexes(s *Service) {
	w.st.Delete(ownerKey(s.Owner, s.Name))
	for _, c := range s.Capabilities {
		w.st.Delete(capabilityKey(c, s.Name))
	}
}

// deleteService removes s, its index entries and its expiry timer.
func (w writer) deleteService(s *Service) {
	w.dropIndexes(s)
	w.cancel(s.timer)
	w.st.Delete(serviceKey(s.Name))
}
