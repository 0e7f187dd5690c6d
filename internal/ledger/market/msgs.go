package market

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
)

// Message type codes: module byte 3.
const (
	TypeMsgCreateProvider           tx.MsgType = 0x0301
	TypeMsgUpdateProvider           tx.MsgType = 0x0302
	TypeMsgDeleteProvider           tx.MsgType = 0x0303
	TypeMsgSignProviderAttributes   tx.MsgType = 0x0304
	TypeMsgDeleteProviderAttributes tx.MsgType = 0x0305
	TypeMsgCreateDeployment         tx.MsgType = 0x0306
	TypeMsgUpdateDeployment         tx.MsgType = 0x0307
	TypeMsgDepositDeployment        tx.MsgType = 0x0308
	TypeMsgCloseDeployment          tx.MsgType = 0x0309
	TypeMsgCloseGroup               tx.MsgType = 0x030a
	TypeMsgPauseGroup               tx.MsgType = 0x030b
	TypeMsgStartGroup               tx.MsgType = 0x030c
	TypeMsgCreateBid                tx.MsgType = 0x030d
	TypeMsgCloseBid                 tx.MsgType = 0x030e
	TypeMsgCreateLease              tx.MsgType = 0x030f
	TypeMsgCloseLease               tx.MsgType = 0x0310
	TypeMsgWithdrawLease            tx.MsgType = 0x0311
	TypeMsgReportUsage              tx.MsgType = 0x0312
)

// Limits of message fields beyond those of types.go.
const (
	MaxHostURILen         = 255 // provider host URI
	MaxRegionLen          = 32  // provider region: lower-case letters, digits and '-'
	MaxEmailLen           = 128
	MaxProviderAttributes = 64 // a provider's own attributes, and those one auditor signs
	MaxDeposits           = 32 // separate depositors' entries in one escrow account
)

func missing(what string) error { return fmt.Errorf("missing %s address", what) }

// ManifestHash is the SHA-256 of a deployment's canonical manifest; the
// chain stores it and the provider checks the manifest it receives
// against it. JSON and String use lower-case hex.
type ManifestHash [32]byte

// ParseManifestHash parses 64 hex digits.
func ParseManifestHash(s string) (ManifestHash, error) {
	var h ManifestHash
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("parse manifest hash %q: want 64 hex digits", s)
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("parse manifest hash %q: %w", s, err)
	}
	return h, nil
}

func (h ManifestHash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zeros (no hash).
func (h ManifestHash) IsZero() bool { return h == ManifestHash{} }

// MarshalText implements encoding.TextMarshaler.
func (h ManifestHash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *ManifestHash) UnmarshalText(b []byte) error {
	v, err := ParseManifestHash(string(b))
	*h = v
	return err
}

// ProviderInfo is a provider's contact information.
type ProviderInfo struct {
	Email   string `json:"email,omitempty"`
	Website string `json:"website,omitempty"`
}

// MsgCreateProvider registers Owner (the signer) as a provider. The
// provider's attributes are what placement requirements match (market spec
// §5); Region, when set, also counts as the attribute region=<Region>.
type MsgCreateProvider struct {
	Owner      tx.Address   `json:"owner"`
	HostURI    string       `json:"host_uri"` // http(s)://host[:port][/path], where tenants send manifests
	Region     string       `json:"region,omitempty"`
	Attributes []Attribute  `json:"attributes,omitempty"`
	Info       ProviderInfo `json:"info"`
}

// MsgUpdateProvider replaces every field of Owner's provider record.
type MsgUpdateProvider MsgCreateProvider

// Type implements tx.Msg.
func (m *MsgCreateProvider) Type() tx.MsgType { return TypeMsgCreateProvider }

// Type implements tx.Msg.
func (m *MsgUpdateProvider) Type() tx.MsgType { return TypeMsgUpdateProvider }

// AppendBody implements tx.Msg: owner(20) ‖ host uri(u8 len) ‖ region(u8
// len) ‖ attributes ‖ email(u8 len) ‖ website(u8 len).
func (m *MsgCreateProvider) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Owner[:]...)
	dst = tx.AppendStr8(dst, m.HostURI)
	dst = tx.AppendStr8(dst, m.Region)
	dst = appendAttrs(dst, m.Attributes)
	dst = tx.AppendStr8(dst, m.Info.Email)
	return tx.AppendStr8(dst, m.Info.Website)
}

// AppendBody implements tx.Msg, with MsgCreateProvider's layout.
func (m *MsgUpdateProvider) AppendBody(dst []byte) []byte {
	return (*MsgCreateProvider)(m).AppendBody(dst)
}

// ValidateBasic implements tx.Msg.
func (m *MsgCreateProvider) ValidateBasic() error { return m.validate("create provider") }

// ValidateBasic implements tx.Msg.
func (m *MsgUpdateProvider) ValidateBasic() error {
	return (*MsgCreateProvider)(m).validate("update provider")
}

func (m *MsgCreateProvider) validate(op string) error {
	if m.Owner.IsZero() {
		return fmt.Errorf("%s: %w", op, missing("owner"))
	}
	if err := subnet.ValidEndpoint(m.HostURI); err != nil {
		return fmt.Errorf("%s: host uri: %w", op, err)
	}
	if m.Region != "" && !validToken(m.Region, MaxRegionLen) {
		return fmt.Errorf("%s: region %q: want up to %d lower-case letters, digits and '-', starting with a letter", op, m.Region, MaxRegionLen)
	}
	if err := validProviderAttrs(m.Attributes); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	for _, a := range m.Attributes {
		if a.Key == "region" && m.Region != "" && a.Value != m.Region {
			return fmt.Errorf("%s: attribute region=%q disagrees with region %q", op, a.Value, m.Region)
		}
	}
	if e := m.Info.Email; e != "" && (len(e) > MaxEmailLen || !printable(e) || strings.ContainsRune(e, ' ') || strings.Count(e, "@") != 1) {
		return fmt.Errorf("%s: email %q: want up to %d printable characters with one '@'", op, e, MaxEmailLen)
	}
	if w := m.Info.Website; w != "" {
		if err := subnet.ValidEndpoint(w); err != nil {
			return fmt.Errorf("%s: website: %w", op, err)
		}
	}
	return nil
}

func decodeProviderBody(b []byte) (MsgCreateProvider, error) {
	r := tx.NewReader(b)
	var m MsgCreateProvider
	copy(m.Owner[:], r.Fixed(tx.AddressLen))
	m.HostURI = r.Str8()
	m.Region = r.Str8()
	m.Attributes = readAttrs(r)
	m.Info.Email = r.Str8()
	m.Info.Website = r.Str8()
	return m, r.Done()
}

func decodeMsgCreateProvider(b []byte) (tx.Msg, error) {
	m, err := decodeProviderBody(b)
	return &m, err
}

func decodeMsgUpdateProvider(b []byte) (tx.Msg, error) {
	m, err := decodeProviderBody(b)
	u := MsgUpdateProvider(m)
	return &u, err
}

// validProviderAttrs checks a provider's attributes (or those an auditor
// signs): 1..MaxProviderAttributes plain keys (no glob), each once, values
// of at most MaxAttrValueLen bytes. An empty list is allowed.
func validProviderAttrs(as []Attribute) error {
	if len(as) > MaxProviderAttributes {
		return fmt.Errorf("%d attributes: want at most %d", len(as), MaxProviderAttributes)
	}
	seen := make(map[string]bool, len(as))
	for _, a := range as {
		if err := ValidAttrKey(a.Key, false); err != nil {
			return err
		}
		if seen[a.Key] {
			return fmt.Errorf("attribute %q listed twice", a.Key)
		}
		seen[a.Key] = true
		if len(a.Value) > MaxAttrValueLen {
			return fmt.Errorf("attribute %q: value of %d bytes, want at most %d", a.Key, len(a.Value), MaxAttrValueLen)
		}
	}
	return nil
}

func validToken(s string, maxLen int) bool {
	if len(s) == 0 || len(s) > maxLen || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// MsgDeleteProvider removes Owner's provider record. It is refused while
// the provider has open bids or active leases.
type MsgDeleteProvider struct {
	Owner tx.Address `json:"owner"`
}

// Type implements tx.Msg.
func (m *MsgDeleteProvider) Type() tx.MsgType { return TypeMsgDeleteProvider }

// AppendBody implements tx.Msg: owner(20).
func (m *MsgDeleteProvider) AppendBody(dst []byte) []byte { return append(dst, m.Owner[:]...) }

// ValidateBasic implements tx.Msg.
func (m *MsgDeleteProvider) ValidateBasic() error {
	if m.Owner.IsZero() {
		return fmt.Errorf("delete provider: %w", missing("owner"))
	}
	return nil
}

func decodeMsgDeleteProvider(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgDeleteProvider{}
	copy(m.Owner[:], r.Fixed(tx.AddressLen))
	return m, r.Done()
}

// MsgSignProviderAttributes records that Auditor (the signer) vouches for
// Attributes of Provider. Keys already signed by the auditor take the new
// values; the others are kept.
type MsgSignProviderAttributes struct {
	Auditor    tx.Address  `json:"auditor"`
	Provider   tx.Address  `json:"provider"`
	Attributes []Attribute `json:"attributes"`
}

// Type implements tx.Msg.
func (m *MsgSignProviderAttributes) Type() tx.MsgType { return TypeMsgSignProviderAttributes }

// AppendBody implements tx.Msg: auditor(20) ‖ provider(20) ‖ attributes.
func (m *MsgSignProviderAttributes) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Auditor[:]...)
	dst = append(dst, m.Provider[:]...)
	return appendAttrs(dst, m.Attributes)
}

// ValidateBasic implements tx.Msg.
func (m *MsgSignProviderAttributes) ValidateBasic() error {
	switch {
	case m.Auditor.IsZero():
		return fmt.Errorf("sign provider attributes: %w", missing("auditor"))
	case m.Provider.IsZero():
		return fmt.Errorf("sign provider attributes: %w", missing("provider"))
	case m.Auditor == m.Provider:
		return fmt.Errorf("sign provider attributes: %s cannot audit itself", m.Auditor)
	case len(m.Attributes) == 0:
		return errors.New("sign provider attributes: no attributes, want at least one")
	}
	if err := validProviderAttrs(m.Attributes); err != nil {
		return fmt.Errorf("sign provider attributes: %w", err)
	}
	return nil
}

func decodeMsgSignProviderAttributes(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgSignProviderAttributes{}
	copy(m.Auditor[:], r.Fixed(tx.AddressLen))
	copy(m.Provider[:], r.Fixed(tx.AddressLen))
	m.Attributes = readAttrs(r)
	return m, r.Done()
}

// MsgDeleteProviderAttributes withdraws Auditor's (the signer's)
// signature from the listed keys of Provider's attributes, or from all of
// them when Keys is empty.
type MsgDeleteProviderAttributes struct {
	Auditor  tx.Address `json:"auditor"`
	Provider tx.Address `json:"provider"`
	Keys     []string   `json:"keys,omitempty"`
}

// Type implements tx.Msg.
func (m *MsgDeleteProviderAttributes) Type() tx.MsgType { return TypeMsgDeleteProviderAttributes }

// AppendBody implements tx.Msg: auditor(20) ‖ provider(20) ‖ u8 count ‖
// keys(u8 len).
func (m *MsgDeleteProviderAttributes) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Auditor[:]...)
	dst = append(dst, m.Provider[:]...)
	return tx.AppendStrs(dst, m.Keys)
}

// ValidateBasic implements tx.Msg.
func (m *MsgDeleteProviderAttributes) ValidateBasic() error {
	switch {
	case m.Auditor.IsZero():
		return fmt.Errorf("delete provider attributes: %w", missing("auditor"))
	case m.Provider.IsZero():
		return fmt.Errorf("delete provider attributes: %w", missing("provider"))
	case len(m.Keys) > MaxProviderAttributes:
		return fmt.Errorf("delete provider attributes: %d keys, want at most %d", len(m.Keys), MaxProviderAttributes)
	}
	for _, k := range m.Keys {
		if err := ValidAttrKey(k, false); err != nil {
			return fmt.Errorf("delete provider attributes: %w", err)
		}
	}
	return nil
}

func decodeMsgDeleteProviderAttributes(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgDeleteProviderAttributes{}
	copy(m.Auditor[:], r.Fixed(tx.AddressLen))
	copy(m.Provider[:], r.Fixed(tx.AddressLen))
	m.Keys = r.Strs()
	return m, r.Done()
}

// MsgCreateDeployment creates deployment ID for ID.Owner (the signer):
// one group and one open order per GroupSpec, and an escrow account funded
// with Deposit from the owner's balance.
type MsgCreateDeployment struct {
	ID      DeploymentID `json:"id"`
	Groups  []GroupSpec  `json:"groups"`
	Hash    ManifestHash `json:"hash"`
	Deposit tx.Amount    `json:"deposit"`
}

// Type implements tx.Msg.
func (m *MsgCreateDeployment) Type() tx.MsgType { return TypeMsgCreateDeployment }

// AppendBody implements tx.Msg: owner(20) ‖ dseq u64 ‖ u8 count × group
// spec ‖ hash(32) ‖ deposit u64.
func (m *MsgCreateDeployment) AppendBody(dst []byte) []byte {
	dst = m.ID.appendKey(dst)
	dst = appendGroupSpecs(dst, m.Groups)
	dst = append(dst, m.Hash[:]...)
	return tx.AppendU64(dst, uint64(m.Deposit))
}

// ValidateBasic implements tx.Msg: the ID, 1..MaxGroups valid groups
// with distinct names, a hash and a deposit.
func (m *MsgCreateDeployment) ValidateBasic() error {
	if err := m.ID.validate(); err != nil {
		return fmt.Errorf("create deployment: %w", err)
	}
	if len(m.Groups) == 0 || len(m.Groups) > MaxGroups {
		return fmt.Errorf("create deployment: %d groups, want 1 to %d", len(m.Groups), MaxGroups)
	}
	names := make(map[string]bool, len(m.Groups))
	for i := range m.Groups {
		g := &m.Groups[i]
		if err := g.Validate(); err != nil {
			return fmt.Errorf("create deployment: %w", err)
		}
		if names[g.Name] {
			return fmt.Errorf("create deployment: group name %q used twice", g.Name)
		}
		names[g.Name] = true
	}
	if m.Hash.IsZero() {
		return errors.New("create deployment: missing manifest hash")
	}
	if m.Deposit.IsZero() {
		return fmt.Errorf("create deployment: deposit: %w", tx.ErrZeroAmount)
	}
	return nil
}

// Spend implements tx.Spender: the deposit comes from the signer.
func (m *MsgCreateDeployment) Spend() tx.Amount { return m.Deposit }

func decodeMsgCreateDeployment(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgCreateDeployment{ID: readDeploymentID(r)}
	m.Groups = readGroupSpecs(r)
	copy(m.Hash[:], r.Fixed(32))
	m.Deposit = tx.Amount(r.U64())
	return m, r.Done()
}

// MsgUpdateDeployment replaces an active deployment's manifest hash; the
// new hash must differ. Resources, placement and prices cannot change.
type MsgUpdateDeployment struct {
	ID   DeploymentID `json:"id"`
	Hash ManifestHash `json:"hash"`
}

// Type implements tx.Msg.
func (m *MsgUpdateDeployment) Type() tx.MsgType { return TypeMsgUpdateDeployment }

// AppendBody implements tx.Msg: owner(20) ‖ dseq u64 ‖ hash(32).
func (m *MsgUpdateDeployment) AppendBody(dst []byte) []byte {
	return append(m.ID.appendKey(dst), m.Hash[:]...)
}

// ValidateBasic implements tx.Msg.
func (m *MsgUpdateDeployment) ValidateBasic() error {
	if err := m.ID.validate(); err != nil {
		return fmt.Errorf("update deployment: %w", err)
	}
	if m.Hash.IsZero() {
		return errors.New("update deployment: missing manifest hash")
	}
	return nil
}

func decodeMsgUpdateDeployment(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgUpdateDeployment{ID: readDeploymentID(r)}
	copy(m.Hash[:], r.Fixed(32))
	return m, r.Done()
}

// MsgDepositDeployment adds Amount from Depositor (the signer, anyone) to
// an active deployment's escrow. Deposits are drawn first in, first out;
// what is left when the deployment closes goes back to each depositor.
type MsgDepositDeployment struct {
	ID        DeploymentID `json:"id"`
	Depositor tx.Address   `json:"depositor"`
	Amount    tx.Amount    `json:"amount"`
}

// Type implements tx.Msg.
func (m *MsgDepositDeployment) Type() tx.MsgType { return TypeMsgDepositDeployment }

// AppendBody implements tx.Msg: owner(20) ‖ dseq u64 ‖ depositor(20) ‖
// amount u64.
func (m *MsgDepositDeployment) AppendBody(dst []byte) []byte {
	dst = append(m.ID.appendKey(dst), m.Depositor[:]...)
	return tx.AppendU64(dst, uint64(m.Amount))
}

// ValidateBasic implements tx.Msg.
func (m *MsgDepositDeployment) ValidateBasic() error {
	if err := m.ID.validate(); err != nil {
		return fmt.Errorf("deposit: %w", err)
	}
	if m.Depositor.IsZero() {
		return fmt.Errorf("deposit: %w", missing("depositor"))
	}
	if m.Amount.IsZero() {
		return fmt.Errorf("deposit: %w", tx.ErrZeroAmount)
	}
	return nil
}

// Spend implements tx.Spender.
func (m *MsgDepositDeployment) Spend() tx.Amount { return m.Amount }

func decodeMsgDepositDeployment(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgDepositDeployment{ID: readDeploymentID(r)}
	copy(m.Depositor[:], r.Fixed(tx.AddressLen))
	m.Amount = tx.Amount(r.U64())
	return m, r.Done()
}

// MsgCloseDeployment closes a deployment as its owner: its leases are
// settled and closed, providers paid, open bids refunded and the rest of
// the escrow returned to the depositors.
type MsgCloseDeployment struct {
	ID DeploymentID `json:"id"`
}

// Type implements tx.Msg.
func (m *MsgCloseDeployment) Type() tx.MsgType { return TypeMsgCloseDeployment }

// AppendBody implements tx.Msg: owner(20) ‖ dseq u64.
func (m *MsgCloseDeployment) AppendBody(dst []byte) []byte { return m.ID.appendKey(dst) }

// ValidateBasic implements tx.Msg.
func (m *MsgCloseDeployment) ValidateBasic() error {
	if err := m.ID.validate(); err != nil {
		return fmt.Errorf("close deployment: %w", err)
	}
	return nil
}

func decodeMsgCloseDeployment(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgCloseDeployment{ID: readDeploymentID(r)}
	return m, r.Done()
}

// MsgCloseGroup closes a group for good (its order, bids and lease with
// it); closing the last open group closes the deployment.
type MsgCloseGroup struct {
	ID GroupID `json:"id"`
}

// MsgPauseGroup pauses an open group: its order, bids and lease close,
// and no new order is made until MsgStartGroup.
type MsgPauseGroup struct {
	ID GroupID `json:"id"`
}

// MsgStartGroup re-opens a paused group with a new order (oseq+1).
type MsgStartGroup struct {
	ID GroupID `json:"id"`
}

// Type implements tx.Msg.
func (m *MsgCloseGroup) Type() tx.MsgType { return TypeMsgCloseGroup }

// Type implements tx.Msg.
func (m *MsgPauseGroup) Type() tx.MsgType { return TypeMsgPauseGroup }

// Type implements tx.Msg.
func (m *MsgStartGroup) Type() tx.MsgType { return TypeMsgStartGroup }

// AppendBody implements tx.Msg: owner(20) ‖ dseq u64 ‖ gseq u32.
func (m *MsgCloseGroup) AppendBody(dst []byte) []byte { return m.ID.appendKey(dst) }

// AppendBody implements tx.Msg, with MsgCloseGroup's layout.
func (m *MsgPauseGroup) AppendBody(dst []byte) []byte { return m.ID.appendKey(dst) }

// AppendBody implements tx.Msg, with MsgCloseGroup's layout.
func (m *MsgStartGroup) AppendBody(dst []byte) []byte { return m.ID.appendKey(dst) }

// ValidateBasic implements tx.Msg.
func (m *MsgCloseGroup) ValidateBasic() error { return wrapErr("close group", m.ID.validate()) }

// ValidateBasic implements tx.Msg.
func (m *MsgPauseGroup) ValidateBasic() error { return wrapErr("pause group", m.ID.validate()) }

// ValidateBasic implements tx.Msg.
func (m *MsgStartGroup) ValidateBasic() error { return wrapErr("start group", m.ID.validate()) }

func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}

func readGroupMsg(b []byte) (GroupID, error) {
	r := tx.NewReader(b)
	id := readGroupID(r)
	return id, r.Done()
}

func decodeMsgCloseGroup(b []byte) (tx.Msg, error) {
	id, err := readGroupMsg(b)
	return &MsgCloseGroup{ID: id}, err
}

func decodeMsgPauseGroup(b []byte) (tx.Msg, error) {
	id, err := readGroupMsg(b)
	return &MsgPauseGroup{ID: id}, err
}

func decodeMsgStartGroup(b []byte) (tx.Msg, error) {
	id, err := readGroupMsg(b)
	return &MsgStartGroup{ID: id}, err
}

// UnitOffer is the concrete GPU a bid offers for one resource unit of the
// group: a GPU attribute with a concrete model, e.g.
// "vendor/nvidia/model/h100/ram/80Gi/interface/sxm". It must satisfy one
// of the unit's GPU alternatives (GPUAttr.Matches) and be among the
// provider's capabilities/gpu/… attributes.
type UnitOffer struct {
	Unit uint32 `json:"unit"` // ResourceUnit.ID
	GPU  string `json:"gpu"`
}

// UnitPrices are a usage-billed bid's prices per unit consumed. A report's
// cost is cpu_milli_seconds·CPU/1000 + memory_mib_seconds·Memory/1024 +
// gpu_seconds·GPU, each term rounded down, capped by the bid's price per
// block times the blocks the report covers.
type UnitPrices struct {
	CPU    tx.Amount `json:"cpu"`    // per core-second (1000 cpu-milli-seconds)
	Memory tx.Amount `json:"memory"` // per GiB-second (1024 MiB-seconds)
	GPU    tx.Amount `json:"gpu"`    // per GPU-second
}

// IsZero reports whether no unit price is set.
func (p UnitPrices) IsZero() bool { return p == UnitPrices{} }

// MsgCreateBid is Provider's (the signer's) bid on an open order: Price
// udeai per block for the whole group (at most the order's max price), a
// refundable Deposit held in escrow while the bid is open or active, the
// concrete GPUs offered for the group's GPU units (one entry per unit
// with GPUs, ascending by unit), and for usage-billed groups the
// UnitPrices (for per-block groups they must be zero).
type MsgCreateBid struct {
	Order      OrderID     `json:"order"`
	Provider   tx.Address  `json:"provider"`
	Price      tx.Amount   `json:"price"`
	Deposit    tx.Amount   `json:"deposit"`
	Offer      []UnitOffer `json:"resources_offer,omitempty"`
	UnitPrices UnitPrices  `json:"unit_prices"`
}

// Type implements tx.Msg.
func (m *MsgCreateBid) Type() tx.MsgType { return TypeMsgCreateBid }

// ID returns the ID the bid will have.
func (m *MsgCreateBid) ID() BidID { return m.Order.Bid(m.Provider) }

// AppendBody implements tx.Msg: bid id (owner(20) ‖ dseq u64 ‖ gseq u32 ‖
// oseq u32 ‖ provider(20)) ‖ price u64 ‖ deposit u64 ‖ u8 count × (unit
// u32 ‖ gpu(u8 len)) ‖ cpu, memory, gpu unit prices u64.
func (m *MsgCreateBid) AppendBody(dst []byte) []byte {
	dst = m.ID().appendKey(dst)
	dst = tx.AppendU64(dst, uint64(m.Price))
	dst = tx.AppendU64(dst, uint64(m.Deposit))
	n := tx.Count8(len(m.Offer))
	dst = append(dst, byte(n))
	for _, o := range m.Offer[:n] {
		dst = tx.AppendU32(dst, o.Unit)
		dst = tx.AppendStr8(dst, o.GPU)
	}
	dst = tx.AppendU64(dst, uint64(m.UnitPrices.CPU))
	dst = tx.AppendU64(dst, uint64(m.UnitPrices.Memory))
	return tx.AppendU64(dst, uint64(m.UnitPrices.GPU))
}

// ValidateBasic implements tx.Msg.
func (m *MsgCreateBid) ValidateBasic() error {
	if err := m.ID().validate(); err != nil {
		return fmt.Errorf("create bid: %w", err)
	}
	if m.Price.IsZero() {
		return fmt.Errorf("create bid: price: %w", tx.ErrZeroAmount)
	}
	if m.Deposit.IsZero() {
		return fmt.Errorf("create bid: deposit: %w", tx.ErrZeroAmount)
	}
	if len(m.Offer) > MaxUnitsPerGroup {
		return fmt.Errorf("create bid: %d unit offers, want at most %d", len(m.Offer), MaxUnitsPerGroup)
	}
	for i, o := range m.Offer {
		if o.Unit == 0 || (i > 0 && o.Unit <= m.Offer[i-1].Unit) {
			return fmt.Errorf("create bid: offer %d: unit %d: want units from 1, ascending, each once", i, o.Unit)
		}
		a, err := ParseGPUAttr(o.GPU)
		if err != nil {
			return fmt.Errorf("create bid: offer for unit %d: %w", o.Unit, err)
		}
		if a.Model == "*" || a.String() != o.GPU {
			return fmt.Errorf("create bid: offer for unit %d: gpu %q: want a concrete model in canonical form", o.Unit, o.GPU)
		}
	}
	return nil
}

// Spend implements tx.Spender: the deposit comes from the provider.
func (m *MsgCreateBid) Spend() tx.Amount { return m.Deposit }

func decodeMsgCreateBid(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	id := readBidID(r)
	m := &MsgCreateBid{Order: id.Order(), Provider: id.Provider}
	m.Price = tx.Amount(r.U64())
	m.Deposit = tx.Amount(r.U64())
	if n := r.Count(5, "unit offers"); n > 0 {
		m.Offer = make([]UnitOffer, n)
		for i := range m.Offer {
			m.Offer[i].Unit = r.U32()
			m.Offer[i].GPU = r.Str8()
		}
	}
	m.UnitPrices.CPU = tx.Amount(r.U64())
	m.UnitPrices.Memory = tx.Amount(r.U64())
	m.UnitPrices.GPU = tx.Amount(r.U64())
	return m, r.Done()
}

// MsgCloseBid closes the provider's (the signer's) bid. An open bid's
// deposit is refunded. An active bid's lease is closed with Reason (one
// of the provider's, 0 meaning ReasonUnspecified) and its group paused.
type MsgCloseBid struct {
	ID     BidID       `json:"id"`
	Reason CloseReason `json:"reason,omitempty"`
}

// Type implements tx.Msg.
func (m *MsgCloseBid) Type() tx.MsgType { return TypeMsgCloseBid }

// AppendBody implements tx.Msg: bid id ‖ reason u32.
func (m *MsgCloseBid) AppendBody(dst []byte) []byte {
	return tx.AppendU32(m.ID.appendKey(dst), uint32(m.Reason))
}

// ValidateBasic implements tx.Msg.
func (m *MsgCloseBid) ValidateBasic() error {
	if err := m.ID.validate(); err != nil {
		return fmt.Errorf("close bid: %w", err)
	}
	if m.Reason != ReasonNone && !m.Reason.IsProvider() {
		return fmt.Errorf("close bid: reason %d: want 0 or a provider's reason (%d to %d)", m.Reason, ReasonUnstable, ReasonManifestTimeout)
	}
	return nil
}

func decodeMsgCloseBid(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgCloseBid{ID: readBidID(r), Reason: CloseReason(r.U32())}
	return m, r.Done()
}

// MsgCreateLease accepts an open bid as the deployment's owner (the
// signer): the lease pays the bid's price.
type MsgCreateLease struct {
	Bid BidID `json:"bid"`
}

// Type implements tx.Msg.
func (m *MsgCreateLease) Type() tx.MsgType { return TypeMsgCreateLease }

// AppendBody implements tx.Msg: bid id.
func (m *MsgCreateLease) AppendBody(dst []byte) []byte { return m.Bid.appendKey(dst) }

// ValidateBasic implements tx.Msg.
func (m *MsgCreateLease) ValidateBasic() error { return wrapErr("create lease", m.Bid.validate()) }

func decodeMsgCreateLease(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgCreateLease{Bid: readBidID(r)}
	return m, r.Done()
}

// MsgCloseLease closes an active lease. Sender (the signer) is the
// deployment's owner, with Reason ReasonOwner (or 0), and the group gets a
// new order; or the lease's provider, with one of its reasons (0 meaning
// ReasonUnspecified), and the group is paused.
type MsgCloseLease struct {
	ID     LeaseID     `json:"id"`
	Sender tx.Address  `json:"sender"`
	Reason CloseReason `json:"reason,omitempty"`
}

// Type implements tx.Msg.
func (m *MsgCloseLease) Type() tx.MsgType { return TypeMsgCloseLease }

// AppendBody implements tx.Msg: lease id ‖ sender(20) ‖ reason u32.
func (m *MsgCloseLease) AppendBody(dst []byte) []byte {
	dst = append(m.ID.appendKey(dst), m.Sender[:]...)
	return tx.AppendU32(dst, uint32(m.Reason))
}

// ValidateBasic implements tx.Msg.
func (m *MsgCloseLease) ValidateBasic() error {
	if err := m.ID.validate(); err != nil {
		return fmt.Errorf("close lease: %w", err)
	}
	if m.Sender.IsZero() {
		return fmt.Errorf("close lease: %w", missing("sender"))
	}
	if m.Reason != ReasonNone && !m.Reason.IsOwner() && !m.Reason.IsProvider() {
		return fmt.Errorf("close lease: reason %d: want 0, %d (owner) or %d to %d (provider)", m.Reason, ReasonOwner, ReasonUnstable, ReasonManifestTimeout)
	}
	return nil
}

func decodeMsgCloseLease(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgCloseLease{ID: readBidID(r)}
	copy(m.Sender[:], r.Fixed(tx.AddressLen))
	m.Reason = CloseReason(r.U32())
	return m, r.Done()
}

// MsgWithdrawLease pays the lease's provider (the signer) what the lease
// has earned so far: the account is settled first.
type MsgWithdrawLease struct {
	ID LeaseID `json:"id"`
}

// Type implements tx.Msg.
func (m *MsgWithdrawLease) Type() tx.MsgType { return TypeMsgWithdrawLease }

// AppendBody implements tx.Msg: lease id.
func (m *MsgWithdrawLease) AppendBody(dst []byte) []byte { return m.ID.appendKey(dst) }

// ValidateBasic implements tx.Msg.
func (m *MsgWithdrawLease) ValidateBasic() error { return wrapErr("withdraw lease", m.ID.validate()) }

func decodeMsgWithdrawLease(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgWithdrawLease{ID: readBidID(r)}
	return m, r.Done()
}

// MsgReportUsage is the provider's (the signer's) report of what a
// usage-billed lease consumed in the blocks after the previous report (or
// the lease's start) up to and including UpToHeight (0: the block the
// report is included in). Seq must exceed the previous report's. The
// amounts are summed over all replicas of the group.
type MsgReportUsage struct {
	ID               LeaseID `json:"id"`
	Seq              uint64  `json:"seq"`
	UpToHeight       uint64  `json:"up_to_height,omitempty"`
	CPUMilliSeconds  uint64  `json:"cpu_milli_seconds"`
	MemoryMiBSeconds uint64  `json:"memory_mib_seconds"`
	GPUSeconds       uint64  `json:"gpu_seconds"`
}

// Type implements tx.Msg.
func (m *MsgReportUsage) Type() tx.MsgType { return TypeMsgReportUsage }

// AppendBody implements tx.Msg: lease id ‖ seq u64 ‖ up to height u64 ‖
// cpu, memory, gpu u64.
func (m *MsgReportUsage) AppendBody(dst []byte) []byte {
	dst = m.ID.appendKey(dst)
	for _, v := range []uint64{m.Seq, m.UpToHeight, m.CPUMilliSeconds, m.MemoryMiBSeconds, m.GPUSeconds} {
		dst = tx.AppendU64(dst, v)
	}
	return dst
}

// ValidateBasic implements tx.Msg.
func (m *MsgReportUsage) ValidateBasic() error {
	if err := m.ID.validate(); err != nil {
		return fmt.Errorf("report usage: %w", err)
	}
	if m.Seq == 0 {
		return errors.New("report usage: seq 0, want at least 1")
	}
	return nil
}

func decodeMsgReportUsage(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgReportUsage{ID: readBidID(r)}
	for _, p := range []*uint64{&m.Seq, &m.UpToHeight, &m.CPUMilliSeconds, &m.MemoryMiBSeconds, &m.GPUSeconds} {
		*p = r.U64()
	}
	return m, r.Done()
}

// registerMsgs registers the decoders of the module's messages in r.
func registerMsgs(r *tx.Registry) error {
	for _, e := range []struct {
		t    tx.MsgType
		name string
		dec  tx.MsgDecoder
	}{
		{TypeMsgCreateProvider, "market/create_provider", decodeMsgCreateProvider},
		{TypeMsgUpdateProvider, "market/update_provider", decodeMsgUpdateProvider},
		{TypeMsgDeleteProvider, "market/delete_provider", decodeMsgDeleteProvider},
		{TypeMsgSignProviderAttributes, "market/sign_provider_attributes", decodeMsgSignProviderAttributes},
		{TypeMsgDeleteProviderAttributes, "market/delete_provider_attributes", decodeMsgDeleteProviderAttributes},
		{TypeMsgCreateDeployment, "market/create_deployment", decodeMsgCreateDeployment},
		{TypeMsgUpdateDeployment, "market/update_deployment", decodeMsgUpdateDeployment},
		{TypeMsgDepositDeployment, "market/deposit_deployment", decodeMsgDepositDeployment},
		{TypeMsgCloseDeployment, "market/close_deployment", decodeMsgCloseDeployment},
		{TypeMsgCloseGroup, "market/close_group", decodeMsgCloseGroup},
		{TypeMsgPauseGroup, "market/pause_group", decodeMsgPauseGroup},
		{TypeMsgStartGroup, "market/start_group", decodeMsgStartGroup},
		{TypeMsgCreateBid, "market/create_bid", decodeMsgCreateBid},
		{TypeMsgCloseBid, "market/close_bid", decodeMsgCloseBid},
		{TypeMsgCreateLease, "market/create_lease", decodeMsgCreateLease},
		{TypeMsgCloseLease, "market/close_lease", decodeMsgCloseLease},
		{TypeMsgWithdrawLease, "market/withdraw_lease", decodeMsgWithdrawLease},
		{TypeMsgReportUsage, "market/report_usage", decodeMsgReportUsage},
	} {
		if err := r.Register(e.t, e.name, e.dec); err != nil {
			return err
		}
	}
	return nil
}
