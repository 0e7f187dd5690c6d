package subnet

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wire"
)

// Events of disputes and slashing.
const (
	EventDisputeOpened   = "subnet_dispute_opened"   // id, netuid, miner, challenger, bond, deadline, committee (comma-separated addresses)
	EventDisputeVoted    = "subnet_dispute_voted"    // id, voter, guilty, tokens_digest
	EventDisputeResolved = "subnet_dispute_resolved" // id, netuid, state
	EventSlashed         = "subnet_slashed"          // netuid, miner, amount, reward, burned, reporter, cause ("dispute" or "equivocation"), id (dispute id or "")
	EventJailed          = "subnet_jailed"           // netuid, miner, until
)

// DisputeAccount holds the bonds of open disputes, an address nobody holds
// a key for. Its balance always equals the sum of those bonds.
var DisputeAccount = moduleAddress("dispute")

// MaxFutureReceiptMs is how far a receipt's time may lie ahead of the block
// time (clock skew) and still be disputed.
const MaxFutureReceiptMs = 300_000

// DisputeState is the state of a dispute; JSON uses its name.
type DisputeState uint8

// The states of a dispute.
const (
	DisputeOpen         DisputeState = 0
	DisputeGuilty       DisputeState = 1 // a majority of the committee found the answer wrong: the miner was slashed
	DisputeInnocent     DisputeState = 2 // the challenge was frivolous: the bond went to the innocent voters
	DisputeInconclusive DisputeState = 3 // no majority by the deadline: the bond went back to the challenger
)

var disputeStateNames = [...]string{"open", "guilty", "innocent", "inconclusive"}

// String returns "open", "guilty", "innocent" or "inconclusive".
func (s DisputeState) String() string {
	if int(s) < len(disputeStateNames) {
		return disputeStateNames[s]
	}
	return "state_" + strconv.Itoa(int(s))
}

// ParseDisputeState parses the name of a state.
func ParseDisputeState(name string) (DisputeState, error) {
	if i := slices.Index(disputeStateNames[:], name); i >= 0 {
		return DisputeState(i), nil
	}
	return 0, fmt.Errorf("dispute state %q: want one of %s", name, strings.Join(disputeStateNames[:], ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (s DisputeState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *DisputeState) UnmarshalText(b []byte) error {
	v, err := ParseDisputeState(string(b))
	*s = v
	return err
}

// Vote is one committee member's verdict.
type Vote struct {
	Voter        tx.Address `json:"voter"`
	Guilty       bool       `json:"guilty"`
	TokensDigest string     `json:"tokens_digest"`
	Height       uint64     `json:"height"`
}

// Dispute is a challenge of one miner receipt, the answer of
// /subnet/dispute/<id>. Request is the body the committee re-executes
// (base64 in JSON); ModelDigest, TokensDigest and the token counts are the
// receipt's claims.
type Dispute struct {
	ID               uint64       `json:"id"`
	Netuid           uint16       `json:"netuid"`
	Miner            tx.Address   `json:"miner"`
	Challenger       tx.Address   `json:"challenger"`
	ReceiptHash      Digest       `json:"receipt_hash"` // ReceiptHash of the receipt
	RequestHash      Digest       `json:"request_hash"`
	ModelDigest      string       `json:"model_digest"`
	TokensDigest     string       `json:"tokens_digest"`
	PromptTokens     uint32       `json:"prompt_tokens"`
	CompletionTokens uint32       `json:"completion_tokens"`
	Request          []byte       `json:"request"`
	Bond             tx.Amount    `json:"bond"`
	Committee        []tx.Address `json:"committee"`
	Votes            []Vote       `json:"votes"`
	OpenedAt         uint64       `json:"opened_at"`
	Deadline         uint64       `json:"deadline"` // the last block in which votes count
	State            DisputeState `json:"state"`
	ResolvedAt       uint64       `json:"resolved_at"`
	// Slashed, Reward and Burned are set when State is guilty: the stake
	// taken, the challenger's part of it and the burned rest.
	Slashed tx.Amount `json:"slashed"`
	Reward  tx.Amount `json:"reward"`
	Burned  tx.Amount `json:"burned"`
}

// ReceiptHash identifies a receipt for disputes: sha256 of its signed
// bytes (wire.Receipt.SignBytes, which leave the signature out, so a
// re-encoded signature does not make a new receipt).
func ReceiptHash(r *wire.Receipt) (Digest, error) {
	b, err := r.SignBytes()
	if err != nil {
		return Digest{}, err
	}
	return sha256.Sum256(b), nil
}

// Keys of disputes (see store.go for the others):
//
//	subnet/dseq                          last dispute id
//	subnet/d/<id u64>                    Dispute
//	subnet/o/<deadline u64>/<id u64>     open dispute, by deadline
//	subnet/x/<netuid>/<id u64>           dispute of a subnet
//	subnet/r/<receipt hash>              id of the dispute of a receipt
//	subnet/q/<netuid>/<miner>/<req hash> an equivocation already slashed
//	subnet/j/<netuid>/<hotkey>           jailed until (block)
var disputeSeqKey = []byte("subnet/dseq")

func disputeKey(id uint64) []byte { return tx.AppendU64([]byte("subnet/d/"), id) }

func openKey(deadline, id uint64) []byte {
	return tx.AppendU64(append(tx.AppendU64([]byte("subnet/o/"), deadline), '/'), id)
}

func netDisputeKey(netuid uint16, id uint64) []byte {
	return tx.AppendU64(append(netKey('x', netuid), '/'), id)
}

func receiptKey(h Digest) []byte { return append([]byte("subnet/r/"), h[:]...) }

func equivocationKey(netuid uint16, miner tx.Address, req Digest) []byte {
	return append(append(hotkeyKey('q', netuid, miner), '/'), req[:]...)
}

func jailKey(netuid uint16, hotkey tx.Address) []byte { return hotkeyKey('j', netuid, hotkey) }

func (d *Dispute) encode() []byte {
	b := make([]byte, 0, 256+len(d.Request)+len(d.TokensDigest)+20*len(d.Committee))
	b = tx.AppendU16(b, d.Netuid)
	b = append(b, d.Miner[:]...)
	b = append(b, d.Challenger[:]...)
	b = append(b, d.ReceiptHash[:]...)
	b = append(b, d.RequestHash[:]...)
	b = tx.AppendStr8(b, d.ModelDigest)
	b = tx.AppendStr16(b, d.TokensDigest)
	b = tx.AppendU32(b, d.PromptTokens)
	b = tx.AppendU32(b, d.CompletionTokens)
	b = appendBytes32(b, d.Request)
	b = tx.AppendU64(b, uint64(d.Bond))
	b = append(b, byte(len(d.Committee)))
	for _, a := range d.Committee {
		b = append(b, a[:]...)
	}
	b = append(b, byte(len(d.Votes)))
	for _, v := range d.Votes {
		b = append(b, v.Voter[:]...)
		b = tx.AppendBool(b, v.Guilty)
		b = tx.AppendStr16(b, v.TokensDigest)
		b = tx.AppendU64(b, v.Height)
	}
	b = tx.AppendU64(b, d.OpenedAt)
	b = tx.AppendU64(b, d.Deadline)
	b = append(b, byte(d.State))
	b = tx.AppendU64(b, d.ResolvedAt)
	b = tx.AppendU64(b, uint64(d.Slashed))
	b = tx.AppendU64(b, uint64(d.Reward))
	return tx.AppendU64(b, uint64(d.Burned))
}

func decodeDispute(id uint64, b []byte) (*Dispute, error) {
	r := tx.NewReader(b)
	d := &Dispute{ID: id}
	d.Netuid = r.U16()
	copy(d.Miner[:], r.Fixed(tx.AddressLen))
	copy(d.Challenger[:], r.Fixed(tx.AddressLen))
	copy(d.ReceiptHash[:], r.Fixed(32))
	copy(d.RequestHash[:], r.Fixed(32))
	d.ModelDigest = r.Str8()
	d.TokensDigest = r.Str16()
	d.PromptTokens = r.U32()
	d.CompletionTokens = r.U32()
	d.Request = clone(readBytes32(r, MaxRequestLen))
	d.Bond = tx.Amount(r.U64())
	d.Committee = make([]tx.Address, r.U8())
	for i := range d.Committee {
		copy(d.Committee[i][:], r.Fixed(tx.AddressLen))
	}
	d.Votes = make([]Vote, r.U8())
	for i := range d.Votes {
		v := &d.Votes[i]
		copy(v.Voter[:], r.Fixed(tx.AddressLen))
		v.Guilty = r.Bool()
		v.TokensDigest = r.Str16()
		v.Height = r.U64()
	}
	d.OpenedAt = r.U64()
	d.Deadline = r.U64()
	d.State = DisputeState(r.U8())
	d.ResolvedAt = r.U64()
	d.Slashed = tx.Amount(r.U64())
	d.Reward = tx.Amount(r.U64())
	d.Burned = tx.Amount(r.U64())
	if err := r.Done(); err != nil {
		return nil, module.Errorf(module.ReasonInternal, "decode dispute %d: %v", id, err)
	}
	return d, nil
}

// dispute returns dispute id or a ReasonNotFound error.
func (s store) dispute(id uint64) (*Dispute, error) {
	b, err := s.get(disputeKey(id), "dispute")
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, module.Errorf(module.ReasonNotFound, "dispute %d does not exist", id)
	}
	return decodeDispute(id, b)
}

// jailedUntil returns the block until which hotkey is jailed on netuid (0:
// never jailed); the neuron is jailed while the height is below it.
func (s store) jailedUntil(netuid uint16, hotkey tx.Address) (uint64, error) {
	return s.u64(jailKey(netuid, hotkey), "jail")
}

func (w writer) setDispute(d *Dispute) { w.st.Set(disputeKey(d.ID), d.encode()) }

// checkReceipt decodes and verifies an encoded receipt and checks its age
// against the block time: at most ttl seconds old, at most
// MaxFutureReceiptMs ahead.
func (x *exec) checkReceipt(what string, b []byte, ttl uint64) (wire.Receipt, Digest, error) {
	r, err := wire.DecodeReceipt(b)
	if err != nil {
		return r, Digest{}, module.Errorf(module.ReasonInvalid, "%s: %v", what, err)
	}
	if err := r.Verify(); err != nil {
		return r, Digest{}, module.Errorf(module.ReasonBadSignature, "%s: %v", what, err)
	}
	nowMs := x.ctx.TimeUnixNano / 1e6
	switch {
	case r.TimeUnixMs > nowMs+MaxFutureReceiptMs:
		return r, Digest{}, module.Errorf(module.ReasonInvalid, "%s: signed at %d ms, more than %d s after the block time %d ms",
			what, r.TimeUnixMs, MaxFutureReceiptMs/1000, nowMs)
	case nowMs-r.TimeUnixMs > int64(ttl)*1000:
		return r, Digest{}, module.Errorf(module.ReasonInvalid, "%s: expired: signed at %d ms, more than receipt_ttl %d s before the block time %d ms",
			what, r.TimeUnixMs, ttl, nowMs)
	}
	h, err := ReceiptHash(&r)
	if err != nil {
		return r, Digest{}, module.Errorf(module.ReasonInvalid, "%s: %v", what, err)
	}
	return r, h, nil
}

// candidate is a validator that may sit on a committee.
type candidate struct {
	hotkey tx.Address
	stake  uint64
}

// eligible lists, by uid, the neurons of s holding a validator permit and
// stake, other than the excluded addresses.
func (x *exec) eligible(s *Subnet, exclude ...tx.Address) ([]candidate, error) {
	var out []candidate
	for uid := range s.N {
		n, err := x.w.neuron(s.Netuid, uid)
		if err != nil {
			return nil, err
		}
		if !n.ValidatorPermit || slices.Contains(exclude, n.Hotkey) {
			continue
		}
		st, err := x.w.totalStake(s.Netuid, n.Hotkey)
		if err != nil {
			return nil, err
		}
		if st > 0 {
			out = append(out, candidate{n.Hotkey, uint64(st)})
		}
	}
	return out, nil
}

// committeeDomain separates the committee beacon from every other sha256.
const committeeDomain = "deai/dispute/committee"

// CommitteeSeed is the beacon of a dispute's committee draw:
// sha256(domain ‖ u16 len ‖ block hash ‖ id u64 ‖ receipt hash). The block
// hash is not known when the challenger signs its tx.
func CommitteeSeed(blockHash []byte, id uint64, receipt Digest) Digest {
	b := make([]byte, 0, len(committeeDomain)+2+len(blockHash)+8+32)
	b = append(b, committeeDomain...)
	b = tx.AppendStr16(b, string(blockHash))
	b = tx.AppendU64(b, id)
	b = append(b, receipt[:]...)
	return sha256.Sum256(b)
}

// drawCommittee draws size distinct candidates without replacement,
// weighted by stake. Draw k takes u = the first 8 bytes of sha256(seed ‖
// k u64) as a big-endian integer and the point r = floor(u·T/2^64) in
// [0, T), T the stake still in the pool; the candidate (in uid order)
// whose cumulative stake first exceeds r is drawn and leaves the pool.
func drawCommittee(cands []candidate, size int, seed Digest) ([]tx.Address, error) {
	pool := slices.Clone(cands)
	var total uint64
	for _, c := range pool {
		var carry uint64
		if total, carry = bits.Add64(total, c.stake, 0); carry != 0 {
			return nil, module.Errorf(module.ReasonInternal, "committee draw: stake overflows")
		}
	}
	out := make([]tx.Address, 0, size)
	buf := make([]byte, 0, 40)
	for k := 0; k < size && len(pool) > 0; k++ {
		buf = tx.AppendU64(append(buf[:0], seed[:]...), uint64(k))
		sum := sha256.Sum256(buf)
		r, _ := bits.Mul64(binary.BigEndian.Uint64(sum[:8]), total)
		i := 0
		for acc := pool[0].stake; acc <= r; acc += pool[i].stake {
			i++
		}
		out = append(out, pool[i].hotkey)
		total -= pool[i].stake
		pool = slices.Delete(pool, i, i+1)
	}
	return out, nil
}

func (x *exec) openDispute(m *MsgOpenDispute) error {
	s, err := x.w.subnet(m.Netuid)
	if err != nil {
		return err
	}
	p := s.Params
	r, rh, err := x.checkReceipt("open dispute: receipt", m.Receipt, p.ReceiptTTL)
	if err != nil {
		return err
	}
	if r.Netuid != m.Netuid {
		return module.Errorf(module.ReasonInvalid, "open dispute: the receipt is for subnet %d, not %d", r.Netuid, m.Netuid)
	}
	if _, err := x.w.registered(m.Netuid, r.Miner); err != nil {
		return module.Errorf(module.ReasonNotFound, "open dispute: miner %s is not a neuron of subnet %d", r.Miner, m.Netuid)
	}
	if sha256.Sum256(m.Request) != r.RequestHash {
		return module.Errorf(module.ReasonInvalid, "open dispute: sha256 of the request is not the receipt's request hash %x", r.RequestHash)
	}
	if m.Challenger == r.Miner {
		return module.Errorf(module.ReasonInvalid, "open dispute: a miner cannot dispute its own receipt")
	}
	prev, err := x.w.get(receiptKey(rh), "receipt index")
	if err != nil {
		return err
	}
	if prev != nil {
		return module.Errorf(module.ReasonInvalid, "open dispute: receipt %s is already disputed (dispute %d)", rh, binary.BigEndian.Uint64(prev))
	}
	if m.Bond < p.DisputeBond {
		return module.Errorf(module.ReasonInvalid, "open dispute: bond %s is below the subnet's dispute_bond %s", m.Bond, p.DisputeBond)
	}
	cands, err := x.eligible(s, r.Miner, m.Challenger)
	if err != nil {
		return err
	}
	if len(cands) < int(p.CommitteeSize) {
		return module.Errorf(module.ReasonInvalid, "open dispute: %d validators with a permit and stake are eligible (not the miner or challenger), committee_size is %d",
			len(cands), p.CommitteeSize)
	}
	seq, err := x.w.u64(disputeSeqKey, "dispute sequence")
	if err != nil {
		return err
	}
	id := seq + 1
	committee, err := drawCommittee(cands, int(p.CommitteeSize), CommitteeSeed(x.ctx.BlockHash, id, rh))
	if err != nil {
		return err
	}
	if err := bank.Transfer(x.ctx, m.Challenger, DisputeAccount, m.Bond); err != nil {
		return err
	}
	d := &Dispute{
		ID: id, Netuid: m.Netuid, Miner: r.Miner, Challenger: m.Challenger, ReceiptHash: rh, RequestHash: r.RequestHash,
		ModelDigest: r.ModelDigest, TokensDigest: r.TokensDigest, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens,
		Request: slices.Clone(m.Request), Bond: m.Bond, Committee: committee, Votes: []Vote{},
		OpenedAt: x.h, Deadline: x.h + min(p.DisputeBlocks, p.Tempo),
	}
	x.w.setU64(disputeSeqKey, id)
	x.w.setDispute(d)
	x.w.st.Set(openKey(d.Deadline, id), []byte{})
	x.w.st.Set(netDisputeKey(m.Netuid, id), []byte{})
	x.w.setU64(receiptKey(rh), id)
	names := make([]string, len(committee))
	for i, a := range committee {
		names[i] = a.String()
	}
	x.emit(EventDisputeOpened, "id", u64s(id), "netuid", u16s(m.Netuid), "miner", r.Miner.String(), "challenger", m.Challenger.String(),
		"bond", m.Bond.String(), "deadline", u64s(d.Deadline), "committee", strings.Join(names, ","))
	return nil
}

func (x *exec) disputeVote(m *MsgDisputeVote) error {
	d, err := x.w.dispute(m.ID)
	if err != nil {
		return err
	}
	if d.State != DisputeOpen {
		return module.Errorf(module.ReasonInvalid, "dispute vote: dispute %d is already resolved (%s at block %d)", d.ID, d.State, d.ResolvedAt)
	}
	if !slices.Contains(d.Committee, m.Voter) {
		return module.Errorf(module.ReasonUnauthorized, "dispute vote: %s is not on the committee of dispute %d", m.Voter, d.ID)
	}
	if x.h > d.Deadline {
		return module.Errorf(module.ReasonInvalid, "dispute vote: voting on dispute %d closed at block %d", d.ID, d.Deadline)
	}
	if slices.ContainsFunc(d.Votes, func(v Vote) bool { return v.Voter == m.Voter }) {
		return module.Errorf(module.ReasonInvalid, "dispute vote: %s has already voted on dispute %d", m.Voter, d.ID)
	}
	d.Votes = append(d.Votes, Vote{Voter: m.Voter, Guilty: m.Guilty, TokensDigest: m.TokensDigest, Height: x.h})
	x.emit(EventDisputeVoted, "id", u64s(d.ID), "voter", m.Voter.String(), "guilty", strconv.FormatBool(m.Guilty), "tokens_digest", m.TokensDigest)
	guilty, innocent := 0, 0
	for _, v := range d.Votes {
		if v.Guilty {
			guilty++
		} else {
			innocent++
		}
	}
	n := len(d.Committee)
	switch {
	case guilty > n/2:
		return x.resolve(d, DisputeGuilty)
	case innocent >= n-n/2:
		return x.resolve(d, DisputeInnocent)
	}
	x.w.setDispute(d)
	return nil
}

// resolve settles d in state st and stores it: guilty slashes and jails
// the miner and returns the bond with the reward; innocent splits the bond
// among the innocent voters (the remainder of the equal split is burned);
// inconclusive returns the bond.
func (x *exec) resolve(d *Dispute, st DisputeState) error {
	d.State, d.ResolvedAt = st, x.h
	switch st {
	case DisputeGuilty:
		s, err := x.w.subnet(d.Netuid)
		if err != nil {
			return err
		}
		if d.Slashed, d.Reward, d.Burned, err = x.slash(s, d.Miner, d.Challenger, "dispute", u64s(d.ID)); err != nil {
			return err
		}
		if err := x.pay(DisputeAccount, d.Challenger, d.Bond); err != nil {
			return err
		}
	case DisputeInnocent:
		var voters []tx.Address
		for _, v := range d.Votes {
			if !v.Guilty {
				voters = append(voters, v.Voter)
			}
		}
		share := d.Bond / tx.Amount(len(voters)) // innocent resolution needs at least one innocent vote
		for _, v := range voters {
			if err := x.pay(DisputeAccount, v, share); err != nil {
				return err
			}
		}
		if err := bank.Burn(x.ctx, DisputeAccount, d.Bond-share*tx.Amount(len(voters))); err != nil {
			return err
		}
	case DisputeInconclusive:
		if err := x.pay(DisputeAccount, d.Challenger, d.Bond); err != nil {
			return err
		}
	}
	x.w.setDispute(d)
	x.w.st.Delete(openKey(d.Deadline, d.ID))
	x.ctx.Emit(EventDisputeResolved, "id", u64s(d.ID), "netuid", u16s(d.Netuid), "state", st.String())
	return nil
}

// pay transfers amt unless it is zero.
func (x *exec) pay(from, to tx.Address, amt tx.Amount) error {
	if amt == 0 {
		return nil
	}
	return bank.Transfer(x.ctx, from, to, amt)
}

// slash takes floor(T·slash_bps/10000) of the stake T on miner's hotkey,
// pays the reporter floor(slashed·challenger_reward_bps/10000) of it,
// burns the rest and jails the miner for jail_blocks.
//
// Each staker with stake t_i loses floor(t_i·slashed/T); the remainder
// (fewer units than there are stakers) is taken one udeai each from the
// stakers in ascending address order. Because slashed ≤ T, a floor share
// is below t_i whenever slashed < T, so every staker can give the extra
// unit, and the parts sum exactly to slashed.
func (x *exec) slash(s *Subnet, miner, reporter tx.Address, cause, id string) (slashed, reward, burned tx.Amount, err error) {
	p := s.Params
	tk := hotkeyKey('t', s.Netuid, miner)
	total, err := x.w.amount(tk, "total stake")
	if err != nil {
		return 0, 0, 0, err
	}
	slashed = tx.Amount(mulDiv(uint64(total), uint64(p.SlashBPS), MaxBPS))
	if slashed > 0 {
		type part struct {
			key        []byte
			stake, cut uint64
		}
		var parts []part
		prefix := append(hotkeyKey('k', s.Netuid, miner), '/')
		err = x.w.st.Iterate(prefix, func(k, v []byte) error {
			if len(v) != 8 {
				return module.Errorf(module.ReasonInternal, "bad stake record %x", k)
			}
			st := binary.BigEndian.Uint64(v)
			parts = append(parts, part{key: slices.Clone(k), stake: st, cut: mulDiv(st, uint64(slashed), uint64(total))})
			return nil
		})
		if err != nil {
			return 0, 0, 0, err
		}
		var sum uint64
		for _, pt := range parts {
			sum += pt.cut
		}
		for i := 0; sum < uint64(slashed) && i < len(parts); i++ {
			if parts[i].cut < parts[i].stake {
				parts[i].cut++
				sum++
			}
		}
		if sum != uint64(slashed) {
			return 0, 0, 0, module.Errorf(module.ReasonInternal, "slash %s on subnet %d: stake records sum to %d parts of %s", miner, s.Netuid, sum, slashed)
		}
		for _, pt := range parts {
			x.w.setAmount(pt.key, tx.Amount(pt.stake-pt.cut))
		}
		x.w.setAmount(tk, total-slashed)
		reward = tx.Amount(mulDiv(uint64(slashed), uint64(p.ChallengerRewardBPS), MaxBPS))
		burned = slashed - reward
		if err := x.pay(StakeAccount, reporter, reward); err != nil {
			return 0, 0, 0, err
		}
		if err := bank.Burn(x.ctx, StakeAccount, burned); err != nil {
			return 0, 0, 0, err
		}
	}
	until := x.h + p.JailBlocks
	old, err := x.w.jailedUntil(s.Netuid, miner)
	if err != nil {
		return 0, 0, 0, err
	}
	until = max(until, old)
	x.w.setU64(jailKey(s.Netuid, miner), until)
	x.ctx.Emit(EventSlashed, "netuid", u16s(s.Netuid), "miner", miner.String(), "amount", slashed.String(), "reward", reward.String(),
		"burned", burned.String(), "reporter", reporter.String(), "cause", cause, "id", id)
	x.ctx.Emit(EventJailed, "netuid", u16s(s.Netuid), "miner", miner.String(), "until", u64s(until))
	return slashed, reward, burned, nil
}

func (x *exec) equivocation(m *MsgEquivocation) error {
	a, err := wire.DecodeReceipt(m.ReceiptA)
	if err != nil {
		return module.Errorf(module.ReasonInvalid, "equivocation: receipt A: %v", err)
	}
	s, err := x.w.subnet(a.Netuid)
	if err != nil {
		return err
	}
	ttl := s.Params.ReceiptTTL
	if a, _, err = x.checkReceipt("equivocation: receipt A", m.ReceiptA, ttl); err != nil {
		return err
	}
	b, _, err := x.checkReceipt("equivocation: receipt B", m.ReceiptB, ttl)
	if err != nil {
		return err
	}
	switch {
	case a.Miner != b.Miner:
		return module.Errorf(module.ReasonInvalid, "equivocation: the receipts are signed by two miners, %s and %s", a.Miner, b.Miner)
	case a.Netuid != b.Netuid:
		return module.Errorf(module.ReasonInvalid, "equivocation: the receipts are for subnets %d and %d", a.Netuid, b.Netuid)
	case a.RequestHash != b.RequestHash:
		return module.Errorf(module.ReasonInvalid, "equivocation: the receipts answer two requests")
	case a.TokensDigest == b.TokensDigest:
		return module.Errorf(module.ReasonInvalid, "equivocation: the receipts agree on the tokens digest: nothing conflicts")
	case m.Reporter == a.Miner:
		return module.Errorf(module.ReasonInvalid, "equivocation: a miner cannot report itself")
	}
	if _, err := x.w.registered(a.Netuid, a.Miner); err != nil {
		return err
	}
	ek := equivocationKey(a.Netuid, a.Miner, a.RequestHash)
	prev, err := x.w.get(ek, "equivocation")
	if err != nil {
		return err
	}
	if prev != nil {
		return module.Errorf(module.ReasonInvalid, "equivocation: miner %s was already slashed for request %x at block %d",
			a.Miner, a.RequestHash, binary.BigEndian.Uint64(prev))
	}
	x.w.setU64(ek, x.h)
	_, _, _, err = x.slash(s, a.Miner, m.Reporter, "equivocation", "")
	return err
}

// endDisputes resolves as inconclusive the open disputes whose deadline
// has passed (deadline < h).
func (x *exec) endDisputes() error {
	var ids []uint64
	prefix := []byte("subnet/o/")
	errStop := errors.New("stop")
	err := x.w.st.Iterate(prefix, func(k, _ []byte) error {
		if len(k) != len(prefix)+17 {
			return module.Errorf(module.ReasonInternal, "bad open dispute key %x", k)
		}
		if binary.BigEndian.Uint64(k[len(prefix):]) >= x.h {
			return errStop
		}
		ids = append(ids, binary.BigEndian.Uint64(k[len(prefix)+9:]))
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	for _, id := range ids {
		d, err := x.w.dispute(id)
		if err != nil {
			return module.Wrap(module.ReasonInternal, err)
		}
		if err := x.resolve(d, DisputeInconclusive); err != nil {
			return err
		}
	}
	return nil
}

// jailed returns, per uid of s, whether the neuron is jailed at x.h.
func (x *exec) jailed(s *Subnet, neurons []*Neuron) ([]bool, bool, error) {
	out := make([]bool, len(neurons))
	some := false
	for i, n := range neurons {
		until, err := x.w.jailedUntil(s.Netuid, n.Hotkey)
		if err != nil {
			return nil, false, err
		}
		if until > x.h {
			out[i], some = true, true
		}
	}
	return out, some, nil
}

// disputes lists the disputes of netuid with ids after after, in id order,
// optionally only those in state st.
func (q store) disputes(netuid uint16, st *DisputeState, after uint64, limit int) ([]Dispute, error) {
	out := []Dispute{}
	prefix := append(netKey('x', netuid), '/')
	errStop := errors.New("stop")
	err := q.kv.Iterate(prefix, func(k, _ []byte) error {
		if len(k) != len(prefix)+8 {
			return module.Errorf(module.ReasonInternal, "bad dispute index key %x", k)
		}
		id := binary.BigEndian.Uint64(k[len(prefix):])
		if id <= after {
			return nil
		}
		d, err := q.dispute(id)
		if err != nil {
			return err
		}
		if st != nil && d.State != *st {
			return nil
		}
		out = append(out, *d)
		if len(out) >= limit {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return out, nil
}

// CheckInvariants checks the module's accounting against the bank: every
// hotkey's total stake record is the sum of its stakers' records, all
// stake records add up to StakeAccount's balance, and DisputeAccount holds
// exactly the bonds of the open disputes. Tests run it after every block.
func CheckInvariants(kv state.KV) error {
	q := store{kv}
	balance := func(a tx.Address) (tx.Amount, error) {
		acct, _, err := bank.GetAccount(kv, a)
		return acct.Balance, err
	}
	totals := map[string]uint64{}
	var stakes uint64
	err := kv.Iterate([]byte("subnet/k/"), func(k, v []byte) error {
		if len(v) != 8 || len(k) < tx.AddressLen+1 {
			return fmt.Errorf("bad stake record %x", k)
		}
		amt := binary.BigEndian.Uint64(v)
		stakes += amt
		hk := string(k[len("subnet/k/") : len(k)-tx.AddressLen-1])
		totals[hk] += amt
		return nil
	})
	if err != nil {
		return err
	}
	err = kv.Iterate([]byte("subnet/t/"), func(k, v []byte) error {
		hk := string(k[len("subnet/t/"):])
		if len(v) != 8 || binary.BigEndian.Uint64(v) != totals[hk] {
			return fmt.Errorf("total stake record %x is %x, the stakers' records sum to %d", k, v, totals[hk])
		}
		delete(totals, hk)
		return nil
	})
	if err != nil {
		return err
	}
	if len(totals) != 0 {
		return fmt.Errorf("%d hotkeys have stake records but no total", len(totals))
	}
	if b, err := balance(StakeAccount); err != nil || uint64(b) != stakes {
		return fmt.Errorf("stake account holds %s, stake records sum to %d (%v)", b, stakes, err)
	}
	var bonds tx.Amount
	err = kv.Iterate([]byte("subnet/o/"), func(k, _ []byte) error {
		d, err := q.dispute(binary.BigEndian.Uint64(k[len(k)-8:]))
		if err != nil {
			return err
		}
		if d.State != DisputeOpen {
			return fmt.Errorf("dispute %d is indexed as open but is %s", d.ID, d.State)
		}
		bonds += d.Bond
		return nil
	})
	if err != nil {
		return err
	}
	if b, err := balance(DisputeAccount); err != nil || b != bonds {
		return fmt.Errorf("dispute account holds %s, open disputes' bonds sum to %s (%v)", b, bonds, err)
	}
	return nil
}
