package agents

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
)

// Message type codes: module byte 5.
const (
	TypeMsgRegisterService   tx.MsgType = 0x0501
	TypeMsgUpdateService     tx.MsgType = 0x0502
	TypeMsgRenewService      tx.MsgType = 0x0503
	TypeMsgDeregisterService tx.MsgType = 0x0504
	TypeMsgGrantSpend        tx.MsgType = 0x0505
	TypeMsgRevokeSpend       tx.MsgType = 0x0506
	TypeMsgSpend             tx.MsgType = 0x0507
)

// Limits of message fields.
const (
	MaxNameLen        = 128 // service name, DNS-like
	MaxLabelLen       = 63  // one dot-separated label of a name
	MaxDescriptionLen = 512 // UTF-8 bytes
	MaxCapabilities   = 16  // tags per service
	MaxCapabilityLen  = 64
	MaxAllowlist      = 16 // counterparties of one spend permission
	MaxPeriodBlocks   = 100_000_000
)

func missing(what string) error { return fmt.Errorf("missing %s address", what) }

// ValidName checks a service name: 1..MaxNameLen bytes of dot-separated
// DNS labels, each 1..63 lower-case letters, digits and '-', not starting
// or ending with '-' (e.g. "summarize.acme", "fetch-v2").
func ValidName(s string) error {
	if len(s) == 0 || len(s) > MaxNameLen {
		return fmt.Errorf("service name %q: want 1 to %d bytes", s, MaxNameLen)
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			c := s[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("service name %q: byte %q at %d, want lower-case letters, digits, '-' and '.'", s, c, i)
			}
			continue
		}
		label := s[start:i]
		if len(label) == 0 || len(label) > MaxLabelLen || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("service name %q: label %q: want 1 to %d characters, not starting or ending with '-'", s, label, MaxLabelLen)
		}
		start = i + 1
	}
	return nil
}

// validCapability checks a capability tag: 1..MaxCapabilityLen bytes of
// lower-case letters, digits and '-', '.', '_', '/', starting with a
// letter or digit (e.g. "summarize", "llm/chat", "lang.en").
func validCapability(s string) error {
	if len(s) == 0 || len(s) > MaxCapabilityLen {
		return fmt.Errorf("capability %q: want 1 to %d bytes", s, MaxCapabilityLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '-' && c != '.' && c != '_' && c != '/') {
			return fmt.Errorf("capability %q: byte %q at %d, want lower-case letters, digits, '-', '.', '_' and '/', starting with a letter or digit", s, c, i)
		}
	}
	return nil
}

// validCapabilities checks up to MaxCapabilities tags, strictly ascending
// (so each appears once and the list has one encoding).
func validCapabilities(cs []string) error {
	if len(cs) > MaxCapabilities {
		return fmt.Errorf("%d capabilities, want at most %d", len(cs), MaxCapabilities)
	}
	for i, c := range cs {
		if err := validCapability(c); err != nil {
			return err
		}
		if i > 0 && c <= cs[i-1] {
			return fmt.Errorf("capabilities %q then %q: want them sorted, each once", cs[i-1], c)
		}
	}
	return nil
}

func validDescription(s string) error {
	if len(s) > MaxDescriptionLen {
		return fmt.Errorf("description of %d bytes, want at most %d", len(s), MaxDescriptionLen)
	}
	if !utf8.ValidString(s) {
		return errors.New("description is not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("description holds control character %U", r)
		}
	}
	return nil
}

// ServiceSpec is the part of a service record its owner writes: everything
// but the name, owner and expiry.
type ServiceSpec struct {
	Description  string    `json:"description"`
	Endpoint     string    `json:"endpoint"`      // http(s)://host[:port][/path]
	SchemaDigest Digest    `json:"schema_digest"` // sha256 of the service's canonical request/response schema
	Price        tx.Amount `json:"price"`         // udeai per call; 0 is free
	Capabilities []string  `json:"capabilities,omitempty"`
}

// appendSpec appends description(u16 len) ‖ endpoint(u8 len) ‖ schema
// digest(32) ‖ price u64 ‖ capabilities(u8 count × u8 len).
func (s *ServiceSpec) appendSpec(dst []byte) []byte {
	dst = tx.AppendStr16(dst, s.Description)
	dst = tx.AppendStr8(dst, s.Endpoint)
	dst = append(dst, s.SchemaDigest[:]...)
	dst = tx.AppendU64(dst, uint64(s.Price))
	return tx.AppendStrs(dst, s.Capabilities)
}

func readSpec(r *tx.Reader) ServiceSpec {
	var s ServiceSpec
	s.Description = r.Str16()
	s.Endpoint = r.Str8()
	copy(s.SchemaDigest[:], r.Fixed(32))
	s.Price = tx.Amount(r.U64())
	s.Capabilities = r.Strs()
	return s
}

func (s *ServiceSpec) validate() error {
	if err := validDescription(s.Description); err != nil {
		return err
	}
	if err := subnet.ValidEndpoint(s.Endpoint); err != nil {
		return err
	}
	if s.SchemaDigest.IsZero() {
		return errors.New("missing schema digest")
	}
	return validCapabilities(s.Capabilities)
}

// MsgRegisterService registers Name for Owner (the signer) until Expiry,
// the last height at which the record is live. The name must be free (an
// expired record frees it). The registration fee, Params.FeePerBlock for
// every block from the current one to Expiry, is burned. The tx signature
// is the record's signature: the chain verified it and stores Owner.
type MsgRegisterService struct {
	Owner tx.Address `json:"owner"`
	Name  string     `json:"name"`
	ServiceSpec
	Expiry uint64 `json:"expiry"`
}

// Type implements tx.Msg.
func (m *MsgRegisterService) Type() tx.MsgType { return TypeMsgRegisterService }

// AppendBody implements tx.Msg: owner(20) ‖ name(u8 len) ‖ spec ‖ expiry
// u64.
func (m *MsgRegisterService) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Owner[:]...)
	dst = tx.AppendStr8(dst, m.Name)
	dst = m.appendSpec(dst)
	return tx.AppendU64(dst, m.Expiry)
}

// ValidateBasic implements tx.Msg.
func (m *MsgRegisterService) ValidateBasic() error {
	if m.Owner.IsZero() {
		return fmt.Errorf("register service: %w", missing("owner"))
	}
	if err := ValidName(m.Name); err != nil {
		return fmt.Errorf("register service: %w", err)
	}
	if err := m.validate(); err != nil {
		return fmt.Errorf("register service %s: %w", m.Name, err)
	}
	if m.Expiry == 0 {
		return fmt.Errorf("register service %s: expiry 0, want a future height", m.Name)
	}
	return nil
}

func decodeMsgRegisterService(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgRegisterService{Owner: r.Addr(), Name: r.Str8()}
	m.ServiceSpec = readSpec(r)
	m.Expiry = r.U64()
	return m, r.Done()
}

// MsgUpdateService replaces the spec of Owner's (the signer's) live
// service Name; its expiry is unchanged.
type MsgUpdateService struct {
	Owner tx.Address `json:"owner"`
	Name  string     `json:"name"`
	ServiceSpec
}

// Type implements tx.Msg.
func (m *MsgUpdateService) Type() tx.MsgType { return TypeMsgUpdateService }

// AppendBody implements tx.Msg: owner(20) ‖ name(u8 len) ‖ spec.
func (m *MsgUpdateService) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Owner[:]...)
	dst = tx.AppendStr8(dst, m.Name)
	return m.appendSpec(dst)
}

// ValidateBasic implements tx.Msg.
func (m *MsgUpdateService) ValidateBasic() error {
	if m.Owner.IsZero() {
		return fmt.Errorf("update service: %w", missing("owner"))
	}
	if err := ValidName(m.Name); err != nil {
		return fmt.Errorf("update service: %w", err)
	}
	if err := m.validate(); err != nil {
		return fmt.Errorf("update service %s: %w", m.Name, err)
	}
	return nil
}

func decodeMsgUpdateService(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgUpdateService{Owner: r.Addr(), Name: r.Str8()}
	m.ServiceSpec = readSpec(r)
	return m, r.Done()
}

// MsgRenewService moves the expiry of Owner's (the signer's) live service
// Name to Expiry, which must be later. The fee for the added blocks is
// burned.
type MsgRenewService struct {
	Owner  tx.Address `json:"owner"`
	Name   string     `json:"name"`
	Expiry uint64     `json:"expiry"`
}

// Type implements tx.Msg.
func (m *MsgRenewService) Type() tx.MsgType { return TypeMsgRenewService }

// AppendBody implements tx.Msg: owner(20) ‖ name(u8 len) ‖ expiry u64.
func (m *MsgRenewService) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Owner[:]...)
	dst = tx.AppendStr8(dst, m.Name)
	return tx.AppendU64(dst, m.Expiry)
}

// ValidateBasic implements tx.Msg.
func (m *MsgRenewService) ValidateBasic() error {
	if m.Owner.IsZero() {
		return fmt.Errorf("renew service: %w", missing("owner"))
	}
	if err := ValidName(m.Name); err != nil {
		return fmt.Errorf("renew service: %w", err)
	}
	if m.Expiry == 0 {
		return fmt.Errorf("renew service %s: expiry 0, want a future height", m.Name)
	}
	return nil
}

func decodeMsgRenewService(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgRenewService{Owner: r.Addr(), Name: r.Str8(), Expiry: r.U64()}
	return m, r.Done()
}

// MsgDeregisterService removes Owner's (the signer's) service Name; the
// name is free at once. Nothing is refunded.
type MsgDeregisterService struct {
	Owner tx.Address `json:"owner"`
	Name  string     `json:"name"`
}

// Type implements tx.Msg.
func (m *MsgDeregisterService) Type() tx.MsgType { return TypeMsgDeregisterService }

// AppendBody implements tx.Msg: owner(20) ‖ name(u8 len).
func (m *MsgDeregisterService) AppendBody(dst []byte) []byte {
	return tx.AppendStr8(append(dst, m.Owner[:]...), m.Name)
}

// ValidateBasic implements tx.Msg.
func (m *MsgDeregisterService) ValidateBasic() error {
	if m.Owner.IsZero() {
		return fmt.Errorf("deregister service: %w", missing("owner"))
	}
	if err := ValidName(m.Name); err != nil {
		return fmt.Errorf("deregister service: %w", err)
	}
	return nil
}

func decodeMsgDeregisterService(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgDeregisterService{Owner: r.Addr(), Name: r.Str8()}
	return m, r.Done()
}

// SpendLimits are the terms of a spend permission.
type SpendLimits struct {
	// Allowance is the most the agent may spend per period.
	Allowance tx.Amount `json:"allowance"`
	// PeriodBlocks is the period's length; periods start at the grant's
	// height and follow each other without gaps.
	PeriodBlocks uint64 `json:"period_blocks"`
	// TotalCap is the most the agent may spend over the permission's life.
	TotalCap tx.Amount `json:"total_cap"`
	// PerCallMax bounds every single debit (a transfer, a channel deposit
	// or top-up); 0 means only the allowance bounds it.
	PerCallMax tx.Amount `json:"per_call_max,omitempty"`
	// Allowlist, when not empty, lists the only counterparties (transfer
	// recipients, channel payees), in ascending byte order.
	Allowlist []tx.Address `json:"allowlist,omitempty"`
	// Expiry is the last height at which the agent may spend; 0 is none.
	Expiry uint64 `json:"expiry,omitempty"`
}

func (l *SpendLimits) appendLimits(dst []byte) []byte {
	dst = tx.AppendU64(dst, uint64(l.Allowance))
	dst = tx.AppendU64(dst, l.PeriodBlocks)
	dst = tx.AppendU64(dst, uint64(l.TotalCap))
	dst = tx.AppendU64(dst, uint64(l.PerCallMax))
	dst = tx.AppendAddrs(dst, l.Allowlist)
	return tx.AppendU64(dst, l.Expiry)
}

func readLimits(r *tx.Reader) SpendLimits {
	var l SpendLimits
	l.Allowance = tx.Amount(r.U64())
	l.PeriodBlocks = r.U64()
	l.TotalCap = tx.Amount(r.U64())
	l.PerCallMax = tx.Amount(r.U64())
	l.Allowlist = r.Addrs()
	l.Expiry = r.U64()
	return l
}

func (l *SpendLimits) validate() error {
	switch {
	case l.Allowance.IsZero():
		return fmt.Errorf("allowance: %w", tx.ErrZeroAmount)
	case l.PeriodBlocks < 1 || l.PeriodBlocks > MaxPeriodBlocks:
		return fmt.Errorf("period of %d blocks, want 1 to %d", l.PeriodBlocks, MaxPeriodBlocks)
	case l.TotalCap.IsZero():
		return fmt.Errorf("total cap: %w", tx.ErrZeroAmount)
	case len(l.Allowlist) > MaxAllowlist:
		return fmt.Errorf("%d allowlisted counterparties, want at most %d", len(l.Allowlist), MaxAllowlist)
	}
	for i, a := range l.Allowlist {
		if a.IsZero() {
			return fmt.Errorf("allowlist entry %d: %w", i, missing("counterparty"))
		}
		if i > 0 && string(a[:]) <= string(l.Allowlist[i-1][:]) {
			return fmt.Errorf("allowlist entry %d (%s): want addresses in ascending byte order, each once", i, a)
		}
	}
	return nil
}

// allows reports whether to is an allowed counterparty.
func (l *SpendLimits) allows(to tx.Address) bool {
	if len(l.Allowlist) == 0 {
		return true
	}
	for _, a := range l.Allowlist {
		if a == to {
			return true
		}
	}
	return false
}

// MsgGrantSpend lets Agent move Owner's (the signer's) funds within
// Limits: with MsgSpend, or to fund payment channels that Agent opens or
// tops up (paych's Owner field). A grant replaces any earlier permission
// of the same agent, revoked or not, and its counters start at zero.
type MsgGrantSpend struct {
	Owner tx.Address `json:"owner"`
	Agent tx.Address `json:"agent"`
	SpendLimits
}

// Type implements tx.Msg.
func (m *MsgGrantSpend) Type() tx.MsgType { return TypeMsgGrantSpend }

// AppendBody implements tx.Msg: owner(20) ‖ agent(20) ‖ allowance u64 ‖
// period blocks u64 ‖ total cap u64 ‖ per-call max u64 ‖ allowlist (u8
// count × 20) ‖ expiry u64.
func (m *MsgGrantSpend) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Owner[:]...)
	dst = append(dst, m.Agent[:]...)
	return m.appendLimits(dst)
}

// ValidateBasic implements tx.Msg.
func (m *MsgGrantSpend) ValidateBasic() error {
	switch {
	case m.Owner.IsZero():
		return fmt.Errorf("grant spend: %w", missing("owner"))
	case m.Agent.IsZero():
		return fmt.Errorf("grant spend: %w", missing("agent"))
	case m.Agent == m.Owner:
		return fmt.Errorf("grant spend: agent %s is the owner, want another account", m.Agent)
	}
	if err := m.validate(); err != nil {
		return fmt.Errorf("grant spend to %s: %w", m.Agent, err)
	}
	return nil
}

func decodeMsgGrantSpend(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgGrantSpend{Owner: r.Addr(), Agent: r.Addr()}
	m.SpendLimits = readLimits(r)
	return m, r.Done()
}

// MsgRevokeSpend is the kill switch: Agent may no longer spend Owner's
// (the signer's) funds, from this block on.
type MsgRevokeSpend struct {
	Owner tx.Address `json:"owner"`
	Agent tx.Address `json:"agent"`
}

// Type implements tx.Msg.
func (m *MsgRevokeSpend) Type() tx.MsgType { return TypeMsgRevokeSpend }

// AppendBody implements tx.Msg: owner(20) ‖ agent(20).
func (m *MsgRevokeSpend) AppendBody(dst []byte) []byte {
	return append(append(dst, m.Owner[:]...), m.Agent[:]...)
}

// ValidateBasic implements tx.Msg.
func (m *MsgRevokeSpend) ValidateBasic() error {
	switch {
	case m.Owner.IsZero():
		return fmt.Errorf("revoke spend: %w", missing("owner"))
	case m.Agent.IsZero():
		return fmt.Errorf("revoke spend: %w", missing("agent"))
	}
	return nil
}

func decodeMsgRevokeSpend(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgRevokeSpend{Owner: r.Addr(), Agent: r.Addr()}
	return m, r.Done()
}

// MsgSpend is Agent (the signer) moving Amount from Owner's balance to To
// under Owner's spend permission. It is not a tx.Spender: the signer's own
// balance pays only the fee.
type MsgSpend struct {
	Owner  tx.Address `json:"owner"`
	Agent  tx.Address `json:"agent"`
	To     tx.Address `json:"to"`
	Amount tx.Amount  `json:"amount"`
}

// Type implements tx.Msg.
func (m *MsgSpend) Type() tx.MsgType { return TypeMsgSpend }

// AppendBody implements tx.Msg: owner(20) ‖ agent(20) ‖ to(20) ‖ amount
// u64.
func (m *MsgSpend) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Owner[:]...)
	dst = append(dst, m.Agent[:]...)
	dst = append(dst, m.To[:]...)
	return tx.AppendU64(dst, uint64(m.Amount))
}

// ValidateBasic implements tx.Msg.
func (m *MsgSpend) ValidateBasic() error {
	switch {
	case m.Owner.IsZero():
		return fmt.Errorf("spend: %w", missing("owner"))
	case m.Agent.IsZero():
		return fmt.Errorf("spend: %w", missing("agent"))
	case m.To.IsZero():
		return fmt.Errorf("spend: %w", missing("recipient"))
	case m.Amount.IsZero():
		return fmt.Errorf("spend: %w", tx.ErrZeroAmount)
	}
	return nil
}

func decodeMsgSpend(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgSpend{Owner: r.Addr(), Agent: r.Addr(), To: r.Addr(), Amount: tx.Amount(r.U64())}
	return m, r.Done()
}

// registerMsgs registers the decoders of the module's messages in r.
func registerMsgs(r *tx.Registry) error {
	for _, e := range []struct {
		t    tx.MsgType
		name string
		dec  tx.MsgDecoder
	}{
		{TypeMsgRegisterService, "agents/register_service", decodeMsgRegisterService},
		{TypeMsgUpdateService, "agents/update_service", decodeMsgUpdateService},
		{TypeMsgRenewService, "agents/renew_service", decodeMsgRenewService},
		{TypeMsgDeregisterService, "agents/deregister_service", decodeMsgDeregisterService},
		{TypeMsgGrantSpend, "agents/grant_spend", decodeMsgGrantSpend},
		{TypeMsgRevokeSpend, "agents/revoke_spend", decodeMsgRevokeSpend},
		{TypeMsgSpend, "agents/spend", decodeMsgSpend},
	} {
		if err := r.Register(e.t, e.name, e.dec); err != nil {
			return err
		}
	}
	return nil
}
