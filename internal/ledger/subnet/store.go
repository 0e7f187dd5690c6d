package subnet

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/ledger/yuma"
	"github.com/deai-network/deai/internal/tx"
)

// Name is the module name and key prefix.
const Name = "subnet"

// State keys. Integers in keys are big-endian, so key order is numeric
// order.
//
//	subnet/params                       ModuleParams
//	subnet/count                        u16: subnets created (netuids 1..count)
//	subnet/height                       u64: the last block whose EndBlock ran (for queries)
//	subnet/s/<netuid>                   Subnet
//	subnet/e/<netuid>                   emission state: pending, last epoch, epochs
//	subnet/n/<netuid>/<uid>             Neuron
//	subnet/h/<netuid>/<hotkey>          uid of a registered hotkey
//	subnet/w/<netuid>/<uid>             weights row
//	subnet/b/<netuid>/<uid>             bonds row
//	subnet/c/<netuid>/<uid>             unrevealed commits
//	subnet/k/<netuid>/<hotkey>/<staker> stake of one staker on a hotkey
//	subnet/t/<netuid>/<hotkey>          total stake on a hotkey
var (
	paramsKey = []byte("subnet/params")
	countKey  = []byte("subnet/count")
	heightKey = []byte("subnet/height")
)

func netKey(tag byte, netuid uint16) []byte {
	return tx.AppendU16([]byte{'s', 'u', 'b', 'n', 'e', 't', '/', tag, '/'}, netuid)
}

func uidKey(tag byte, netuid, uid uint16) []byte {
	return tx.AppendU16(append(netKey(tag, netuid), '/'), uid)
}

func hotkeyKey(tag byte, netuid uint16, hotkey tx.Address) []byte {
	return append(append(netKey(tag, netuid), '/'), hotkey[:]...)
}

func stakeKey(netuid uint16, hotkey, staker tx.Address) []byte {
	return append(append(hotkeyKey('k', netuid, hotkey), '/'), staker[:]...)
}

// moduleAddress derives an address nobody holds a key for: finding a
// public key whose hash starts with these 20 bytes is a preimage attack.
func moduleAddress(purpose string) tx.Address {
	sum := sha256.Sum256([]byte("deai/module/subnet/" + purpose))
	var a tx.Address
	copy(a[:], sum[:tx.AddressLen])
	return a
}

var (
	// StakeAccount holds every staked amount.
	StakeAccount = moduleAddress("stake")
	// RecycleAccount receives, and at once burns, the emission an epoch
	// cannot pay to anyone.
	RecycleAccount = moduleAddress("recycle")
)

// Digest is a sha256 model digest, pinned on a subnet and named by miners.
// JSON and String use lower-case hex.
type Digest [32]byte

// ParseDigest parses 64 hex digits, optionally prefixed with "sha256:".
func ParseDigest(s string) (Digest, error) {
	var d Digest
	h := strings.TrimPrefix(s, "sha256:")
	if len(h) != 2*len(d) {
		return d, fmt.Errorf("parse digest %q: want 64 hex digits", s)
	}
	if _, err := hex.Decode(d[:], []byte(h)); err != nil {
		return d, fmt.Errorf("parse digest %q: %w", s, err)
	}
	return d, nil
}

// String returns lower-case hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// IsZero reports whether d is all zeros (no digest).
func (d Digest) IsZero() bool { return d == Digest{} }

// MarshalText implements encoding.TextMarshaler.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Digest) UnmarshalText(b []byte) error {
	v, err := ParseDigest(string(b))
	*d = v
	return err
}

// Subnet is a subnet's registry record.
type Subnet struct {
	Netuid    uint16     `json:"netuid"`
	Name      string     `json:"name"`
	Owner     tx.Address `json:"owner"`
	TaskType  string     `json:"task_type"`
	Digests   []Digest   `json:"allowed_digests"` // ascending
	CreatedAt uint64     `json:"created_at"`
	Params    Params     `json:"params"`
	// N is the number of uids in use (0..N-1).
	N uint16 `json:"n"`
	// Burn is the registration price at BurnBlock, before decay.
	Burn          tx.Amount `json:"burn_base"`
	BurnBlock     uint64    `json:"burn_block"`
	Registrations uint64    `json:"registrations"`
}

func (s *Subnet) encode() []byte {
	b := make([]byte, 0, 128+paramsLen+32*len(s.Digests))
	b = tx.AppendBytes8(b, []byte(s.Name))
	b = append(b, s.Owner[:]...)
	b = tx.AppendBytes8(b, []byte(s.TaskType))
	b = appendDigests(b, s.Digests)
	b = tx.AppendU64(b, s.CreatedAt)
	b = appendBaseParams(b, &s.Params)
	b = tx.AppendU16(b, s.N)
	b = tx.AppendU64(b, uint64(s.Burn))
	b = tx.AppendU64(b, s.BurnBlock)
	b = tx.AppendU64(b, s.Registrations)
	return appendDisputeParams(b, &s.Params)
}

func decodeSubnet(netuid uint16, b []byte) (*Subnet, error) {
	r := tx.NewReader(b)
	s := &Subnet{Netuid: netuid}
	s.Name = string(r.Bytes8(MaxNameLen))
	copy(s.Owner[:], r.Fixed(tx.AddressLen))
	s.TaskType = string(r.Bytes8(MaxTaskTypeLen))
	s.Digests = readDigests(r)
	s.CreatedAt = r.U64()
	s.Params = readBaseParams(r)
	s.N = r.U16()
	s.Burn = tx.Amount(r.U64())
	s.BurnBlock = r.U64()
	s.Registrations = r.U64()
	if r.Err() == nil && r.Len() == 0 {
		// Written before the dispute params existed: they take the defaults.
		d := DefaultParams()
		s.Params.AuditRatePPM, s.Params.SlashBPS, s.Params.ChallengerRewardBPS = d.AuditRatePPM, d.SlashBPS, d.ChallengerRewardBPS
		s.Params.JailBlocks, s.Params.DisputeBond, s.Params.CommitteeSize = d.JailBlocks, d.DisputeBond, d.CommitteeSize
		s.Params.DisputeBlocks, s.Params.ReceiptTTL = d.DisputeBlocks, d.ReceiptTTL
	} else {
		readDisputeParams(r, &s.Params)
	}
	if err := r.Done(); err != nil {
		return nil, module.Errorf(module.ReasonInternal, "decode subnet %d: %v", netuid, err)
	}
	return s, nil
}

func appendDigests(dst []byte, ds []Digest) []byte {
	dst = append(dst, byte(len(ds)))
	for _, d := range ds {
		dst = append(dst, d[:]...)
	}
	return dst
}

func readDigests(r *tx.Reader) []Digest {
	n := int(r.U8())
	if r.Err() == nil && n*32 > r.Len() {
		r.Fail(fmt.Errorf("%d digests cannot fit in %d bytes", n, r.Len()))
	}
	if r.Err() != nil {
		return nil
	}
	ds := make([]Digest, n)
	for i := range ds {
		copy(ds[i][:], r.Fixed(32))
	}
	return ds
}

// emission is a subnet's accrual and epoch bookkeeping, written every
// block, so it is kept apart from the Subnet record.
type emission struct {
	Pending   tx.Amount // accrued since the last epoch, not yet minted
	LastEpoch uint64    // block of the last epoch (the creation block before the first)
	Epochs    uint64    // epochs run so far
}

func (e *emission) encode() []byte {
	b := tx.AppendU64(make([]byte, 0, 24), uint64(e.Pending))
	b = tx.AppendU64(b, e.LastEpoch)
	return tx.AppendU64(b, e.Epochs)
}

// Neuron is one uid slot of a subnet: its hotkey, serving info and what
// the last epoch recorded for it. Ratios are u16 (value/65535).
type Neuron struct {
	UID          uint16     `json:"uid"`
	Hotkey       tx.Address `json:"hotkey"`
	RegisteredAt uint64     `json:"registered_at"`
	// LastUpdate is the block of the last weight set or reveal (the
	// registration block before the first).
	LastUpdate uint64 `json:"last_update"`
	// WeightsAt and CommitAt are the blocks of the last weight set (or
	// reveal) and commit, 0 for never: the rate limits count from them.
	WeightsAt uint64 `json:"weights_at"`
	CommitAt  uint64 `json:"commit_at"`
	// Serving info, set by MsgServe at ServedAt (0: never).
	ServedAt        uint64 `json:"served_at"`
	Endpoint        string `json:"endpoint"`
	ProtocolVersion uint32 `json:"protocol_version"`
	ModelDigest     Digest `json:"model_digest"`
	Region          string `json:"region"`
	// Epoch results.
	ValidatorPermit bool      `json:"validator_permit"`
	Active          bool      `json:"active"`
	StakeWeight     uint16    `json:"stake_weight"`
	Rank            uint16    `json:"rank"`
	Trust           uint16    `json:"trust"`
	Consensus       uint16    `json:"consensus"`
	Incentive       uint16    `json:"incentive"`
	Dividends       uint16    `json:"dividends"`
	ValidatorTrust  uint16    `json:"validator_trust"`
	Emission        tx.Amount `json:"emission"`
}

func (n *Neuron) encode() []byte {
	b := make([]byte, 0, 160+len(n.Endpoint)+len(n.Region))
	b = append(b, n.Hotkey[:]...)
	b = tx.AppendU64(b, n.RegisteredAt)
	b = tx.AppendU64(b, n.LastUpdate)
	b = tx.AppendU64(b, n.WeightsAt)
	b = tx.AppendU64(b, n.CommitAt)
	b = tx.AppendU64(b, n.ServedAt)
	b = tx.AppendBytes8(b, []byte(n.Endpoint))
	b = tx.AppendU32(b, n.ProtocolVersion)
	b = append(b, n.ModelDigest[:]...)
	b = tx.AppendBytes8(b, []byte(n.Region))
	b = tx.AppendBool(b, n.ValidatorPermit)
	b = tx.AppendBool(b, n.Active)
	for _, v := range []uint16{n.StakeWeight, n.Rank, n.Trust, n.Consensus, n.Incentive, n.Dividends, n.ValidatorTrust} {
		b = tx.AppendU16(b, v)
	}
	return tx.AppendU64(b, uint64(n.Emission))
}

func decodeNeuron(netuid, uid uint16, b []byte) (*Neuron, error) {
	r := tx.NewReader(b)
	n := &Neuron{UID: uid}
	copy(n.Hotkey[:], r.Fixed(tx.AddressLen))
	n.RegisteredAt = r.U64()
	n.LastUpdate = r.U64()
	n.WeightsAt = r.U64()
	n.CommitAt = r.U64()
	n.ServedAt = r.U64()
	n.Endpoint = string(r.Bytes8(MaxEndpointLen))
	n.ProtocolVersion = r.U32()
	copy(n.ModelDigest[:], r.Fixed(32))
	n.Region = string(r.Bytes8(MaxRegionLen))
	n.ValidatorPermit = r.Bool()
	n.Active = r.Bool()
	for _, p := range []*uint16{&n.StakeWeight, &n.Rank, &n.Trust, &n.Consensus, &n.Incentive, &n.Dividends, &n.ValidatorTrust} {
		*p = r.U16()
	}
	n.Emission = tx.Amount(r.U64())
	if err := r.Done(); err != nil {
		return nil, module.Errorf(module.ReasonInternal, "decode neuron %d/%d: %v", netuid, uid, err)
	}
	return n, nil
}

// Commit is an unrevealed weights commit.
type Commit struct {
	Hash  Digest `json:"hash"`
	Block uint64 `json:"block"` // committed at
	Epoch uint64 `json:"epoch"` // the subnet's epoch counter at commit time
}

func encodeCommits(cs []Commit) []byte {
	b := make([]byte, 0, 1+len(cs)*48)
	b = append(b, byte(len(cs)))
	for _, c := range cs {
		b = append(b, c.Hash[:]...)
		b = tx.AppendU64(b, c.Block)
		b = tx.AppendU64(b, c.Epoch)
	}
	return b
}

func decodeCommits(b []byte) ([]Commit, error) {
	r := tx.NewReader(b)
	n := int(r.U8())
	if r.Err() == nil && n*48 != r.Len() {
		return nil, module.Errorf(module.ReasonInternal, "decode commits: %d commits in %d bytes", n, r.Len())
	}
	cs := make([]Commit, n)
	for i := range cs {
		copy(cs[i].Hash[:], r.Fixed(32))
		cs[i].Block = r.U64()
		cs[i].Epoch = r.U64()
	}
	if err := r.Done(); err != nil {
		return nil, module.Errorf(module.ReasonInternal, "decode commits: %v", err)
	}
	return cs, nil
}

// encodeRow encodes a sparse row (weights or bonds): (uid u16, value u16)*.
func encodeRow(row []yuma.Entry) []byte {
	b := make([]byte, 0, 4*len(row))
	for _, e := range row {
		b = tx.AppendU16(tx.AppendU16(b, e.UID), e.Value)
	}
	return b
}

func decodeRow(b []byte) ([]yuma.Entry, error) {
	if len(b)%4 != 0 {
		return nil, module.Errorf(module.ReasonInternal, "decode row: %d bytes", len(b))
	}
	row := make([]yuma.Entry, len(b)/4)
	for i := range row {
		row[i] = yuma.Entry{UID: uint16(b[4*i])<<8 | uint16(b[4*i+1]), Value: uint16(b[4*i+2])<<8 | uint16(b[4*i+3])}
	}
	return row, nil
}

// store wraps the module's reads and writes with their encodings. Read
// errors are internal: a missing record is reported by the bool.
type store struct{ kv state.KV }

func readErr(what string, err error) error {
	return module.Wrap(module.ReasonInternal, fmt.Errorf("read %s: %w", what, err))
}

func (s store) get(key []byte, what string) ([]byte, error) {
	b, err := s.kv.Get(key)
	if err != nil {
		return nil, readErr(what, err)
	}
	return b, nil
}

func (s store) moduleParams() (ModuleParams, error) {
	b, err := s.get(paramsKey, "subnet params")
	if err != nil {
		return ModuleParams{}, err
	}
	if b == nil {
		return DefaultModuleParams(), nil
	}
	r := tx.NewReader(b)
	p := readModuleParams(r)
	if err := r.Done(); err != nil {
		return p, module.Errorf(module.ReasonInternal, "decode subnet params: %v", err)
	}
	return p, nil
}

func (s store) u64(key []byte, what string) (uint64, error) {
	b, err := s.get(key, what)
	if err != nil || b == nil {
		return 0, err
	}
	r := tx.NewReader(b)
	v := r.U64()
	if err := r.Done(); err != nil {
		return 0, module.Errorf(module.ReasonInternal, "decode %s: %v", what, err)
	}
	return v, nil
}

func (s store) count() (uint16, error) {
	b, err := s.get(countKey, "subnet count")
	if err != nil || b == nil {
		return 0, err
	}
	r := tx.NewReader(b)
	v := r.U16()
	if err := r.Done(); err != nil {
		return 0, module.Errorf(module.ReasonInternal, "decode subnet count: %v", err)
	}
	return v, nil
}

// subnet returns the subnet or a ReasonNotFound error.
func (s store) subnet(netuid uint16) (*Subnet, error) {
	b, err := s.get(netKey('s', netuid), "subnet")
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, module.Errorf(module.ReasonNotFound, "subnet %d does not exist", netuid)
	}
	return decodeSubnet(netuid, b)
}

func (s store) emission(netuid uint16) (emission, error) {
	b, err := s.get(netKey('e', netuid), "subnet emission")
	if err != nil || b == nil {
		return emission{}, err
	}
	r := tx.NewReader(b)
	e := emission{Pending: tx.Amount(r.U64()), LastEpoch: r.U64(), Epochs: r.U64()}
	if err := r.Done(); err != nil {
		return e, module.Errorf(module.ReasonInternal, "decode emission of subnet %d: %v", netuid, err)
	}
	return e, nil
}

func (s store) neuron(netuid, uid uint16) (*Neuron, error) {
	b, err := s.get(uidKey('n', netuid, uid), "neuron")
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, module.Errorf(module.ReasonInternal, "neuron %d/%d is missing", netuid, uid)
	}
	return decodeNeuron(netuid, uid, b)
}

// uidOf returns the uid of hotkey on netuid and whether it is registered.
func (s store) uidOf(netuid uint16, hotkey tx.Address) (uint16, bool, error) {
	b, err := s.get(hotkeyKey('h', netuid, hotkey), "hotkey index")
	if err != nil || b == nil {
		return 0, false, err
	}
	if len(b) != 2 {
		return 0, false, module.Errorf(module.ReasonInternal, "decode hotkey index: %d bytes", len(b))
	}
	return uint16(b[0])<<8 | uint16(b[1]), true, nil
}

// registered returns hotkey's neuron on netuid, or a ReasonNotFound error.
func (s store) registered(netuid uint16, hotkey tx.Address) (*Neuron, error) {
	uid, ok, err := s.uidOf(netuid, hotkey)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, module.Errorf(module.ReasonNotFound, "hotkey %s is not registered on subnet %d", hotkey, netuid)
	}
	return s.neuron(netuid, uid)
}

func (s store) row(tag byte, netuid, uid uint16) ([]yuma.Entry, error) {
	b, err := s.get(uidKey(tag, netuid, uid), "row")
	if err != nil || b == nil {
		return nil, err
	}
	return decodeRow(b)
}

func (s store) commits(netuid, uid uint16) ([]Commit, error) {
	b, err := s.get(uidKey('c', netuid, uid), "commits")
	if err != nil || b == nil {
		return nil, err
	}
	return decodeCommits(b)
}

func (s store) amount(key []byte, what string) (tx.Amount, error) {
	v, err := s.u64(key, what)
	return tx.Amount(v), err
}

func (s store) totalStake(netuid uint16, hotkey tx.Address) (tx.Amount, error) {
	return s.amount(hotkeyKey('t', netuid, hotkey), "total stake")
}

// writer adds the writes.
type writer struct {
	store
	st state.Store
}

func newWriter(st state.Store) writer { return writer{store{st}, st} }

func (w writer) setSubnet(s *Subnet)                    { w.st.Set(netKey('s', s.Netuid), s.encode()) }
func (w writer) setEmission(netuid uint16, e *emission) { w.st.Set(netKey('e', netuid), e.encode()) }
func (w writer) setNeuron(netuid uint16, n *Neuron)     { w.st.Set(uidKey('n', netuid, n.UID), n.encode()) }

func (w writer) setU64(key []byte, v uint64) { w.st.Set(key, tx.AppendU64(make([]byte, 0, 8), v)) }

// setAmount stores a, deleting the key when a is zero.
func (w writer) setAmount(key []byte, a tx.Amount) {
	if a == 0 {
		w.st.Delete(key)
		return
	}
	w.setU64(key, uint64(a))
}

// setRow stores a weights or bonds row, deleting the key when it is empty.
func (w writer) setRow(tag byte, netuid, uid uint16, row []yuma.Entry) {
	k := uidKey(tag, netuid, uid)
	if len(row) == 0 {
		w.st.Delete(k)
		return
	}
	w.st.Set(k, encodeRow(row))
}

func (w writer) setCommits(netuid, uid uint16, cs []Commit) {
	k := uidKey('c', netuid, uid)
	if len(cs) == 0 {
		w.st.Delete(k)
		return
	}
	w.st.Set(k, encodeCommits(cs))
}
