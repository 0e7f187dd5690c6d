package subnet

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	"github.com/deai-network/deai/internal/tx"
)

// Message type codes: module byte 2.
const (
	TypeMsgCreateSubnet      tx.MsgType = 0x0201
	TypeMsgSetSubnetParams   tx.MsgType = 0x0202
	TypeMsgSetAllowedDigests tx.MsgType = 0x0203
	TypeMsgRegister          tx.MsgType = 0x0204
	TypeMsgServe             tx.MsgType = 0x0205
	TypeMsgAddStake          tx.MsgType = 0x0206
	TypeMsgRemoveStake       tx.MsgType = 0x0207
	TypeMsgSetWeights        tx.MsgType = 0x0208
	TypeMsgCommitWeights     tx.MsgType = 0x0209
	TypeMsgRevealWeights     tx.MsgType = 0x020a
)

// Limits of message fields.
const (
	MaxNameLen     = 64   // subnet name: printable ASCII
	MaxTaskTypeLen = 32   // task type: lower-case letters, digits and '-'
	MaxDigests     = 32   // allowed model digests per subnet
	MaxEndpointLen = 255  // serving URL
	MaxRegionLen   = 32   // serving region: lower-case letters, digits and '-'
	MaxWeights     = 4096 // entries in one weight vector (MaxMaxUIDs); a tx of max_tx_bytes 16 KiB fits about 4,000
	MinSaltLen     = 8
	MaxSaltLen     = 64
	MaxCommits     = 10 // unrevealed commits per hotkey and subnet
)

// Task types known to the daemons. Any task type that passes
// ValidTaskType may be registered; scoring is pluggable per type.
const (
	TaskTextGeneration = "text-generation"
	TaskEmbedding      = "embedding"
)

// ValidTaskType checks a task type: 1 to 32 lower-case letters, digits and
// '-', starting with a letter and not ending with '-'.
func ValidTaskType(s string) error {
	if !validToken(s, MaxTaskTypeLen) {
		return fmt.Errorf("task type %q: want 1 to %d lower-case letters, digits and '-', starting with a letter (e.g. %s, %s)",
			s, MaxTaskTypeLen, TaskTextGeneration, TaskEmbedding)
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

func validName(s string) error {
	if len(s) == 0 || len(s) > MaxNameLen || s[0] == ' ' || s[len(s)-1] == ' ' {
		return fmt.Errorf("name %q: want 1 to %d characters without leading or trailing spaces", s, MaxNameLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return fmt.Errorf("name %q: want printable ASCII", s)
		}
	}
	return nil
}

// validDigests requires 1..MaxDigests digests in strictly ascending order
// (one canonical encoding of the set), none zero.
func validDigests(ds []Digest) error {
	if len(ds) == 0 || len(ds) > MaxDigests {
		return fmt.Errorf("%d model digests, want 1 to %d", len(ds), MaxDigests)
	}
	for i, d := range ds {
		if d.IsZero() {
			return fmt.Errorf("model digest %d is zero", i)
		}
		if i > 0 && slices.Compare(ds[i-1][:], d[:]) >= 0 {
			return fmt.Errorf("model digests must be sorted ascending without duplicates (digest %d)", i)
		}
	}
	return nil
}

// SortDigests sorts ds ascending and removes duplicates, giving the form
// MsgCreateSubnet and MsgSetAllowedDigests require.
func SortDigests(ds []Digest) []Digest {
	out := slices.Clone(ds)
	slices.SortFunc(out, func(a, b Digest) int { return slices.Compare(a[:], b[:]) })
	return slices.Compact(out)
}

func missing(what string) error { return fmt.Errorf("missing %s address", what) }

// MsgCreateSubnet creates a subnet owned by Owner (the signer), who pays
// ModuleParams.CreateBurn. It starts with DefaultParams.
type MsgCreateSubnet struct {
	Owner    tx.Address `json:"owner"`
	Name     string     `json:"name"`
	TaskType string     `json:"task_type"`
	Digests  []Digest   `json:"allowed_digests"`
}

// Type implements tx.Msg.
func (m *MsgCreateSubnet) Type() tx.MsgType { return TypeMsgCreateSubnet }

// AppendBody implements tx.Msg: owner(20) ‖ name(u8 len) ‖ task type(u8
// len) ‖ u8 count ‖ count × digest(32).
func (m *MsgCreateSubnet) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Owner[:]...)
	dst = tx.AppendStr8(dst, m.Name)
	dst = tx.AppendStr8(dst, m.TaskType)
	return appendDigests(dst, m.Digests)
}

// ValidateBasic implements tx.Msg.
func (m *MsgCreateSubnet) ValidateBasic() error {
	if m.Owner.IsZero() {
		return fmt.Errorf("create subnet: %w", missing("owner"))
	}
	if err := validName(m.Name); err != nil {
		return fmt.Errorf("create subnet: %w", err)
	}
	if err := ValidTaskType(m.TaskType); err != nil {
		return fmt.Errorf("create subnet: %w", err)
	}
	if err := validDigests(m.Digests); err != nil {
		return fmt.Errorf("create subnet: %w", err)
	}
	return nil
}

func decodeMsgCreateSubnet(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgCreateSubnet{}
	copy(m.Owner[:], r.Fixed(tx.AddressLen))
	m.Name = string(r.Bytes8(255))
	m.TaskType = string(r.Bytes8(255))
	m.Digests = readDigests(r)
	return m, r.Done()
}

// MsgSetSubnetParams replaces a subnet's parameters; only its owner may.
type MsgSetSubnetParams struct {
	Owner  tx.Address `json:"owner"`
	Netuid uint16     `json:"netuid"`
	Params Params     `json:"params"`
}

// Type implements tx.Msg.
func (m *MsgSetSubnetParams) Type() tx.MsgType { return TypeMsgSetSubnetParams }

// AppendBody implements tx.Msg: owner(20) ‖ netuid u16 ‖ params (every
// field in order, big-endian, bools as 0/1).
func (m *MsgSetSubnetParams) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Owner[:]...)
	dst = tx.AppendU16(dst, m.Netuid)
	return appendParams(dst, &m.Params)
}

// ValidateBasic implements tx.Msg: the owner and the parameters' bounds.
func (m *MsgSetSubnetParams) ValidateBasic() error {
	if m.Owner.IsZero() {
		return fmt.Errorf("set subnet params: %w", missing("owner"))
	}
	if err := m.Params.Validate(); err != nil {
		return fmt.Errorf("set subnet params: %w", err)
	}
	return nil
}

func decodeMsgSetSubnetParams(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgSetSubnetParams{}
	copy(m.Owner[:], r.Fixed(tx.AddressLen))
	m.Netuid = r.U16()
	m.Params = readParams(r)
	return m, r.Done()
}

// MsgSetAllowedDigests replaces the model digests miners may serve on a
// subnet; only its owner may.
type MsgSetAllowedDigests struct {
	Owner   tx.Address `json:"owner"`
	Netuid  uint16     `json:"netuid"`
	Digests []Digest   `json:"allowed_digests"`
}

// Type implements tx.Msg.
func (m *MsgSetAllowedDigests) Type() tx.MsgType { return TypeMsgSetAllowedDigests }

// AppendBody implements tx.Msg: owner(20) ‖ netuid u16 ‖ u8 count ‖
// count × digest(32).
func (m *MsgSetAllowedDigests) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Owner[:]...)
	dst = tx.AppendU16(dst, m.Netuid)
	return appendDigests(dst, m.Digests)
}

// ValidateBasic implements tx.Msg.
func (m *MsgSetAllowedDigests) ValidateBasic() error {
	if m.Owner.IsZero() {
		return fmt.Errorf("set allowed digests: %w", missing("owner"))
	}
	if err := validDigests(m.Digests); err != nil {
		return fmt.Errorf("set allowed digests: %w", err)
	}
	return nil
}

func decodeMsgSetAllowedDigests(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgSetAllowedDigests{}
	copy(m.Owner[:], r.Fixed(tx.AddressLen))
	m.Netuid = r.U16()
	m.Digests = readDigests(r)
	return m, r.Done()
}

// MsgRegister registers Hotkey (the signer) on a subnet. The hotkey pays
// the current registration price, which is burned; MaxBurn, when not
// zero, refuses a price above it.
type MsgRegister struct {
	Hotkey  tx.Address `json:"hotkey"`
	Netuid  uint16     `json:"netuid"`
	MaxBurn tx.Amount  `json:"max_burn"`
}

// Type implements tx.Msg.
func (m *MsgRegister) Type() tx.MsgType { return TypeMsgRegister }

// AppendBody implements tx.Msg: hotkey(20) ‖ netuid u16 ‖ max burn u64.
func (m *MsgRegister) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Hotkey[:]...)
	dst = tx.AppendU16(dst, m.Netuid)
	return tx.AppendU64(dst, uint64(m.MaxBurn))
}

// ValidateBasic implements tx.Msg.
func (m *MsgRegister) ValidateBasic() error {
	if m.Hotkey.IsZero() {
		return fmt.Errorf("register: %w", missing("hotkey"))
	}
	return nil
}

func decodeMsgRegister(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgRegister{}
	copy(m.Hotkey[:], r.Fixed(tx.AddressLen))
	m.Netuid = r.U16()
	m.MaxBurn = tx.Amount(r.U64())
	return m, r.Done()
}

// MsgServe sets the serving info of Hotkey's (the signer's) neuron.
type MsgServe struct {
	Hotkey   tx.Address `json:"hotkey"`
	Netuid   uint16     `json:"netuid"`
	Endpoint string     `json:"endpoint"` // http(s)://host[:port][/path]
	// ProtocolVersion is the version of the wire protocol the miner speaks.
	ProtocolVersion uint32 `json:"protocol_version"`
	// ModelDigest must be one of the subnet's allowed digests.
	ModelDigest Digest `json:"model_digest"`
	// Region is optional: lower-case letters, digits and '-' (e.g. eu-west).
	Region string `json:"region"`
}

// Type implements tx.Msg.
func (m *MsgServe) Type() tx.MsgType { return TypeMsgServe }

// AppendBody implements tx.Msg: hotkey(20) ‖ netuid u16 ‖ endpoint(u8 len)
// ‖ protocol version u32 ‖ model digest(32) ‖ region(u8 len).
func (m *MsgServe) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Hotkey[:]...)
	dst = tx.AppendU16(dst, m.Netuid)
	dst = tx.AppendStr8(dst, m.Endpoint)
	dst = tx.AppendU32(dst, m.ProtocolVersion)
	dst = append(dst, m.ModelDigest[:]...)
	return tx.AppendStr8(dst, m.Region)
}

// ValidateBasic implements tx.Msg.
func (m *MsgServe) ValidateBasic() error {
	if m.Hotkey.IsZero() {
		return fmt.Errorf("serve: %w", missing("hotkey"))
	}
	if err := ValidEndpoint(m.Endpoint); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if m.ModelDigest.IsZero() {
		return errors.New("serve: missing model digest")
	}
	if m.Region != "" && !validToken(m.Region, MaxRegionLen) {
		return fmt.Errorf("serve: region %q: want up to %d lower-case letters, digits and '-', starting with a letter", m.Region, MaxRegionLen)
	}
	return nil
}

func decodeMsgServe(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgServe{}
	copy(m.Hotkey[:], r.Fixed(tx.AddressLen))
	m.Netuid = r.U16()
	m.Endpoint = string(r.Bytes8(255))
	m.ProtocolVersion = r.U32()
	copy(m.ModelDigest[:], r.Fixed(32))
	m.Region = string(r.Bytes8(255))
	return m, r.Done()
}

// MsgAddStake locks Amount of Staker's (the signer's) balance as stake on
// Hotkey, a neuron registered on Netuid.
type MsgAddStake struct {
	Staker tx.Address `json:"staker"`
	Hotkey tx.Address `json:"hotkey"`
	Netuid uint16     `json:"netuid"`
	Amount tx.Amount  `json:"amount"`
}

// MsgRemoveStake returns Amount of Staker's (the signer's) stake on Hotkey
// to Staker's balance.
type MsgRemoveStake struct {
	Staker tx.Address `json:"staker"`
	Hotkey tx.Address `json:"hotkey"`
	Netuid uint16     `json:"netuid"`
	Amount tx.Amount  `json:"amount"`
}

// Type implements tx.Msg.
func (m *MsgAddStake) Type() tx.MsgType { return TypeMsgAddStake }

// Type implements tx.Msg.
func (m *MsgRemoveStake) Type() tx.MsgType { return TypeMsgRemoveStake }

// AppendBody implements tx.Msg: staker(20) ‖ hotkey(20) ‖ netuid u16 ‖
// amount u64.
func (m *MsgAddStake) AppendBody(dst []byte) []byte {
	return appendStake(dst, m.Staker, m.Hotkey, m.Netuid, m.Amount)
}

// AppendBody implements tx.Msg, with MsgAddStake's layout.
func (m *MsgRemoveStake) AppendBody(dst []byte) []byte {
	return appendStake(dst, m.Staker, m.Hotkey, m.Netuid, m.Amount)
}

// ValidateBasic implements tx.Msg.
func (m *MsgAddStake) ValidateBasic() error {
	return validStake("add stake", m.Staker, m.Hotkey, m.Amount)
}

// ValidateBasic implements tx.Msg.
func (m *MsgRemoveStake) ValidateBasic() error {
	return validStake("remove stake", m.Staker, m.Hotkey, m.Amount)
}

// Spend implements tx.Spender: the ledger checks up front that the
// staker's balance covers the fee plus the stake.
func (m *MsgAddStake) Spend() tx.Amount { return m.Amount }

func appendStake(dst []byte, staker, hotkey tx.Address, netuid uint16, amt tx.Amount) []byte {
	dst = append(dst, staker[:]...)
	dst = append(dst, hotkey[:]...)
	dst = tx.AppendU16(dst, netuid)
	return tx.AppendU64(dst, uint64(amt))
}

func validStake(op string, staker, hotkey tx.Address, amt tx.Amount) error {
	switch {
	case staker.IsZero():
		return fmt.Errorf("%s: %w", op, missing("staker"))
	case hotkey.IsZero():
		return fmt.Errorf("%s: %w", op, missing("hotkey"))
	case amt.IsZero():
		return fmt.Errorf("%s: %w", op, tx.ErrZeroAmount)
	}
	return nil
}

func readStake(b []byte) (staker, hotkey tx.Address, netuid uint16, amt tx.Amount, err error) {
	r := tx.NewReader(b)
	copy(staker[:], r.Fixed(tx.AddressLen))
	copy(hotkey[:], r.Fixed(tx.AddressLen))
	netuid = r.U16()
	amt = tx.Amount(r.U64())
	return staker, hotkey, netuid, amt, r.Done()
}

func decodeMsgAddStake(b []byte) (tx.Msg, error) {
	m := &MsgAddStake{}
	var err error
	m.Staker, m.Hotkey, m.Netuid, m.Amount, err = readStake(b)
	return m, err
}

func decodeMsgRemoveStake(b []byte) (tx.Msg, error) {
	m := &MsgRemoveStake{}
	var err error
	m.Staker, m.Hotkey, m.Netuid, m.Amount, err = readStake(b)
	return m, err
}

// MsgSetWeights sets Hotkey's (the signer's) weights on a subnet: Weights[k]
// is the raw u16 weight of uid UIDs[k].
type MsgSetWeights struct {
	Hotkey  tx.Address `json:"hotkey"`
	Netuid  uint16     `json:"netuid"`
	UIDs    []uint16   `json:"uids"`
	Weights []uint16   `json:"weights"`
}

// Type implements tx.Msg.
func (m *MsgSetWeights) Type() tx.MsgType { return TypeMsgSetWeights }

// AppendBody implements tx.Msg: hotkey(20) ‖ netuid u16 ‖ weight vector
// (u16 count ‖ uids, u16 count ‖ weights).
func (m *MsgSetWeights) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Hotkey[:]...)
	dst = tx.AppendU16(dst, m.Netuid)
	return appendVector(dst, m.UIDs, m.Weights)
}

// ValidateBasic implements tx.Msg.
func (m *MsgSetWeights) ValidateBasic() error {
	if m.Hotkey.IsZero() {
		return fmt.Errorf("set weights: %w", missing("hotkey"))
	}
	if err := validVector(m.UIDs, m.Weights); err != nil {
		return fmt.Errorf("set weights: %w", err)
	}
	return nil
}

func decodeMsgSetWeights(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgSetWeights{}
	copy(m.Hotkey[:], r.Fixed(tx.AddressLen))
	m.Netuid = r.U16()
	m.UIDs, m.Weights = readVector(r)
	return m, r.Done()
}

// MsgCommitWeights commits to weights to be revealed later:
// Hash = CommitHash(netuid, hotkey, uids, weights, salt).
type MsgCommitWeights struct {
	Hotkey tx.Address `json:"hotkey"`
	Netuid uint16     `json:"netuid"`
	Hash   Digest     `json:"hash"`
}

// Type implements tx.Msg.
func (m *MsgCommitWeights) Type() tx.MsgType { return TypeMsgCommitWeights }

// AppendBody implements tx.Msg: hotkey(20) ‖ netuid u16 ‖ hash(32).
func (m *MsgCommitWeights) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Hotkey[:]...)
	dst = tx.AppendU16(dst, m.Netuid)
	return append(dst, m.Hash[:]...)
}

// ValidateBasic implements tx.Msg.
func (m *MsgCommitWeights) ValidateBasic() error {
	if m.Hotkey.IsZero() {
		return fmt.Errorf("commit weights: %w", missing("hotkey"))
	}
	if m.Hash.IsZero() {
		return errors.New("commit weights: missing hash")
	}
	return nil
}

func decodeMsgCommitWeights(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgCommitWeights{}
	copy(m.Hotkey[:], r.Fixed(tx.AddressLen))
	m.Netuid = r.U16()
	copy(m.Hash[:], r.Fixed(32))
	return m, r.Done()
}

// MsgRevealWeights reveals committed weights; they take effect as if set
// by MsgSetWeights.
type MsgRevealWeights struct {
	Hotkey  tx.Address `json:"hotkey"`
	Netuid  uint16     `json:"netuid"`
	UIDs    []uint16   `json:"uids"`
	Weights []uint16   `json:"weights"`
	Salt    []byte     `json:"salt"`
}

// Type implements tx.Msg.
func (m *MsgRevealWeights) Type() tx.MsgType { return TypeMsgRevealWeights }

// AppendBody implements tx.Msg: hotkey(20) ‖ netuid u16 ‖ weight vector ‖
// salt(u8 len).
func (m *MsgRevealWeights) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Hotkey[:]...)
	dst = tx.AppendU16(dst, m.Netuid)
	dst = appendVector(dst, m.UIDs, m.Weights)
	return tx.AppendStr8(dst, string(m.Salt))
}

// ValidateBasic implements tx.Msg.
func (m *MsgRevealWeights) ValidateBasic() error {
	if m.Hotkey.IsZero() {
		return fmt.Errorf("reveal weights: %w", missing("hotkey"))
	}
	if err := validVector(m.UIDs, m.Weights); err != nil {
		return fmt.Errorf("reveal weights: %w", err)
	}
	if len(m.Salt) < MinSaltLen || len(m.Salt) > MaxSaltLen {
		return fmt.Errorf("reveal weights: salt is %d bytes, want %d to %d", len(m.Salt), MinSaltLen, MaxSaltLen)
	}
	return nil
}

func decodeMsgRevealWeights(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgRevealWeights{}
	copy(m.Hotkey[:], r.Fixed(tx.AddressLen))
	m.Netuid = r.U16()
	m.UIDs, m.Weights = readVector(r)
	m.Salt = append([]byte{}, r.Bytes8(255)...)
	return m, r.Done()
}

// commitDomain separates commit hashes from every other sha256 in deai.
const commitDomain = "deai/subnet/commit/v1\x00"

// CommitHash is the hash MsgCommitWeights carries and MsgRevealWeights
// must match: sha256(domain ‖ weight vector ‖ salt(u8 len) ‖ hotkey(20) ‖
// netuid u16), the weight vector encoded as in MsgSetWeights.
func CommitHash(netuid uint16, hotkey tx.Address, uids, weights []uint16, salt []byte) Digest {
	b := make([]byte, 0, len(commitDomain)+4+4*len(uids)+1+len(salt)+tx.AddressLen+2)
	b = append(b, commitDomain...)
	b = appendVector(b, uids, weights)
	b = tx.AppendStr8(b, string(salt))
	b = append(b, hotkey[:]...)
	b = tx.AppendU16(b, netuid)
	return sha256.Sum256(b)
}

func appendVector(dst []byte, uids, weights []uint16) []byte {
	dst = tx.AppendU16(dst, uint16(len(uids)))
	for _, u := range uids {
		dst = tx.AppendU16(dst, u)
	}
	dst = tx.AppendU16(dst, uint16(len(weights)))
	for _, w := range weights {
		dst = tx.AppendU16(dst, w)
	}
	return dst
}

func readU16s(r *tx.Reader) []uint16 {
	n := int(r.U16())
	if r.Err() == nil && 2*n > r.Len() {
		r.Fail(fmt.Errorf("%d u16 values cannot fit in %d bytes", n, r.Len()))
	}
	if r.Err() != nil {
		return nil
	}
	v := make([]uint16, n)
	for i := range v {
		v[i] = r.U16()
	}
	return v
}

func readVector(r *tx.Reader) (uids, weights []uint16) {
	uids = readU16s(r)
	weights = readU16s(r)
	return uids, weights
}

// validVector checks a weight vector without state: equal lengths, 1 to
// MaxWeights entries, no uid twice, not all zero.
func validVector(uids, weights []uint16) error {
	if len(uids) != len(weights) {
		return fmt.Errorf("%d uids but %d weights: the lengths must match", len(uids), len(weights))
	}
	if len(uids) == 0 || len(uids) > MaxWeights {
		return fmt.Errorf("%d weights, want 1 to %d", len(uids), MaxWeights)
	}
	sorted := slices.Clone(uids)
	slices.Sort(sorted)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return fmt.Errorf("uid %d appears twice", sorted[i])
		}
	}
	for _, w := range weights {
		if w != 0 {
			return nil
		}
	}
	return errors.New("all weights are zero")
}

// RegisterMsgs registers the decoders of the module's messages in r.
func registerMsgs(r *tx.Registry) error {
	for _, e := range []struct {
		t    tx.MsgType
		name string
		dec  tx.MsgDecoder
	}{
		{TypeMsgCreateSubnet, "subnet/create", decodeMsgCreateSubnet},
		{TypeMsgSetSubnetParams, "subnet/set_params", decodeMsgSetSubnetParams},
		{TypeMsgSetAllowedDigests, "subnet/set_allowed_digests", decodeMsgSetAllowedDigests},
		{TypeMsgRegister, "subnet/register", decodeMsgRegister},
		{TypeMsgServe, "subnet/serve", decodeMsgServe},
		{TypeMsgAddStake, "subnet/add_stake", decodeMsgAddStake},
		{TypeMsgRemoveStake, "subnet/remove_stake", decodeMsgRemoveStake},
		{TypeMsgSetWeights, "subnet/set_weights", decodeMsgSetWeights},
		{TypeMsgCommitWeights, "subnet/commit_weights", decodeMsgCommitWeights},
		{TypeMsgRevealWeights, "subnet/reveal_weights", decodeMsgRevealWeights},
		{TypeMsgOpenDispute, "subnet/open_dispute", decodeMsgOpenDispute},
		{TypeMsgDisputeVote, "subnet/dispute_vote", decodeMsgDisputeVote},
		{TypeMsgEquivocation, "subnet/equivocation", decodeMsgEquivocation},
	} {
		if err := r.Register(e.t, e.name, e.dec); err != nil {
			return err
		}
	}
	return nil
}
