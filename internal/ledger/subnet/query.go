package subnet

import (
	"strconv"
	"strings"

	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/ledger/yuma"
	"github.com/deai-network/deai/internal/tx"
)

// SubnetInfo is the answer of /subnet/<netuid> and an element of
// /subnet/list.
type SubnetInfo struct {
	Netuid         uint16     `json:"netuid"`
	Name           string     `json:"name"`
	Owner          tx.Address `json:"owner"`
	TaskType       string     `json:"task_type"`
	AllowedDigests []Digest   `json:"allowed_digests"`
	CreatedAt      uint64     `json:"created_at"`
	N              uint16     `json:"n"`
	MaxUIDs        uint16     `json:"max_uids"`
	Tempo          uint64     `json:"tempo"`
	// Block is the last block the module processed; Burn is the
	// registration price in the next one.
	Block           uint64    `json:"block"`
	Burn            tx.Amount `json:"burn"`
	Registrations   uint64    `json:"registrations"`
	PendingEmission tx.Amount `json:"pending_emission"`
	Epoch           uint64    `json:"epoch"` // epochs run so far
	LastEpoch       uint64    `json:"last_epoch"`
	NextEpoch       uint64    `json:"next_epoch"` // the first block at which the next epoch is due
	Params          Params    `json:"params"`
}

// BurnInfo is the answer of /subnet/burn/<netuid>.
type BurnInfo struct {
	Netuid uint16    `json:"netuid"`
	Burn   tx.Amount `json:"burn"`  // the price of a registration in block Block+1
	Block  uint64    `json:"block"` // the last block the module processed
}

// Cell is one entry of a weights or bonds row: a uid and a u16 value.
type Cell struct {
	UID   uint16 `json:"uid"`
	Value uint16 `json:"value"`
}

// NeuronInfo is one uid of the metagraph, also the answer of
// /subnet/<netuid>/neuron/<hotkey>. Ratios are u16 values (value/65535),
// as stored by the last epoch; emission is in udeai.
type NeuronInfo struct {
	Netuid          uint16     `json:"netuid"`
	UID             uint16     `json:"uid"`
	Hotkey          tx.Address `json:"hotkey"`
	Stake           tx.Amount  `json:"stake"`
	StakeWeight     uint16     `json:"stake_weight"`
	Rank            uint16     `json:"rank"`
	Trust           uint16     `json:"trust"`
	Consensus       uint16     `json:"consensus"`
	Incentive       uint16     `json:"incentive"`
	Dividends       uint16     `json:"dividends"`
	Emission        tx.Amount  `json:"emission"`
	ValidatorTrust  uint16     `json:"validator_trust"`
	ValidatorPermit bool       `json:"validator_permit"`
	LastUpdate      uint64     `json:"last_update"`
	RegisteredAt    uint64     `json:"registered_at"`
	Active          bool       `json:"active"`
	Endpoint        string     `json:"endpoint"`
	ProtocolVersion uint32     `json:"protocol_version"`
	ModelDigest     string     `json:"model_digest"` // "" until served
	Region          string     `json:"region"`
	ServedAt        uint64     `json:"served_at"`
	// JailedUntil is the block until which the neuron earns no incentive
	// after a slash (jailed while the height is below it; 0: never).
	JailedUntil uint64 `json:"jailed_until"`
	Weights     []Cell `json:"weights"`
	Bonds       []Cell `json:"bonds"`
}

// Metagraph is the answer of /subnet/<netuid>/metagraph.
type Metagraph struct {
	Netuid    uint16       `json:"netuid"`
	N         uint16       `json:"n"`
	Block     uint64       `json:"block"`
	Tempo     uint64       `json:"tempo"`
	Epoch     uint64       `json:"epoch"`
	LastEpoch uint64       `json:"last_epoch"`
	OwnerUID  *uint16      `json:"owner_uid,omitempty"`
	Neurons   []NeuronInfo `json:"neurons"`
}

// StakeInfo is the answer of /subnet/<netuid>/stake/<hotkey>.
type StakeInfo struct {
	Netuid  uint16     `json:"netuid"`
	Hotkey  tx.Address `json:"hotkey"`
	Total   tx.Amount  `json:"total"`
	Stakers []Staker   `json:"stakers"` // by staker address
}

// CommitInfo is one element of /subnet/<netuid>/commits/<hotkey>.
type CommitInfo struct {
	Commit
	RevealEpoch uint64 `json:"reveal_epoch"` // the subnet epoch in which it must be revealed
}

// Query implements module.Querier:
//
//	/subnet/list                       []SubnetInfo
//	/subnet/params                     ModuleParams
//	/subnet/burn/<netuid>              BurnInfo
//	/subnet/<netuid>                   SubnetInfo
//	/subnet/<netuid>/params            Params
//	/subnet/<netuid>/metagraph         Metagraph
//	/subnet/<netuid>/neuron/<hotkey>   NeuronInfo
//	/subnet/<netuid>/stake/<hotkey>    StakeInfo
//	/subnet/<netuid>/commits/<hotkey>  []CommitInfo
//	/subnet/<netuid>/disputes          []Dispute, by id (?state=open|guilty|innocent|inconclusive, ?after=<id>, ?limit=1..1000, default 100)
//	/subnet/dispute/<id>               Dispute
func (Module) Query(kv state.KV, path []string) (any, error) {
	q := store{kv}
	bad := func() error { return module.Errorf(module.ReasonBadQuery, "unknown subnet query %q", path) }
	if len(path) == 0 {
		return nil, bad()
	}
	if len(path) >= 2 && strings.HasPrefix(path[1], "disputes") {
		return q.disputesQuery(path)
	}
	switch path[0] {
	case "list":
		if len(path) != 1 {
			return nil, bad()
		}
		return q.list()
	case "params":
		if len(path) != 1 {
			return nil, bad()
		}
		return q.moduleParams()
	case "dispute":
		if len(path) != 2 {
			return nil, bad()
		}
		id, err := strconv.ParseUint(path[1], 10, 64)
		if err != nil || id == 0 {
			return nil, module.Errorf(module.ReasonBadQuery, "dispute id %q: want a number from 1", path[1])
		}
		return q.dispute(id)
	case "burn":
		if len(path) != 2 {
			return nil, bad()
		}
		netuid, err := parseNetuid(path[1])
		if err != nil {
			return nil, err
		}
		s, err := q.subnet(netuid)
		if err != nil {
			return nil, err
		}
		h, err := q.u64(heightKey, "height")
		if err != nil {
			return nil, err
		}
		return BurnInfo{Netuid: netuid, Burn: s.Price(h + 1), Block: h}, nil
	}
	netuid, err := parseNetuid(path[0])
	if err != nil {
		return nil, err
	}
	if len(path) == 1 {
		return q.info(netuid)
	}
	switch {
	case len(path) == 2 && path[1] == "params":
		s, err := q.subnet(netuid)
		if err != nil {
			return nil, err
		}
		return s.Params, nil
	case len(path) == 2 && path[1] == "metagraph":
		return q.metagraph(netuid)
	case len(path) == 3 && (path[1] == "neuron" || path[1] == "stake" || path[1] == "commits"):
		hotkey, err := tx.ParseAddress(path[2])
		if err != nil {
			return nil, module.Wrap(module.ReasonBadQuery, err)
		}
		if _, err := q.subnet(netuid); err != nil {
			return nil, err
		}
		switch path[1] {
		case "neuron":
			n, err := q.registered(netuid, hotkey)
			if err != nil {
				return nil, err
			}
			return q.neuronInfo(netuid, n)
		case "stake":
			return q.stakeInfo(netuid, hotkey)
		default:
			return q.commitInfo(netuid, hotkey)
		}
	}
	return nil, bad()
}

func (q store) disputesQuery(path []string) ([]Dispute, error) {
	pq, err := module.ParseQuery(path, 100, 1000, "state")
	if err != nil {
		return nil, err
	}
	if len(pq.Path) != 2 || pq.Path[1] != "disputes" {
		return nil, module.Errorf(module.ReasonBadQuery, "unknown subnet query %q", path)
	}
	netuid, err := parseNetuid(pq.Path[0])
	if err != nil {
		return nil, err
	}
	if _, err := q.subnet(netuid); err != nil {
		return nil, err
	}
	var after uint64
	if pq.After != "" {
		if after, err = strconv.ParseUint(pq.After, 10, 64); err != nil {
			return nil, module.Errorf(module.ReasonBadQuery, "after %q: want a dispute id", pq.After)
		}
	}
	var st *DisputeState
	if name, ok := pq.Extra["state"]; ok {
		v, err := ParseDisputeState(name)
		if err != nil {
			return nil, module.Wrap(module.ReasonBadQuery, err)
		}
		st = &v
	}
	return q.disputes(netuid, st, after, pq.Limit)
}

func parseNetuid(s string) (uint16, error) {
	v, err := strconv.ParseUint(s, 10, 16)
	if err != nil || v == 0 {
		return 0, module.Errorf(module.ReasonBadQuery, "netuid %q: want a number from 1 to 65535", s)
	}
	return uint16(v), nil
}

func (q store) info(netuid uint16) (SubnetInfo, error) {
	s, err := q.subnet(netuid)
	if err != nil {
		return SubnetInfo{}, err
	}
	es, err := q.emission(netuid)
	if err != nil {
		return SubnetInfo{}, err
	}
	h, err := q.u64(heightKey, "height")
	if err != nil {
		return SubnetInfo{}, err
	}
	return SubnetInfo{
		Netuid: s.Netuid, Name: s.Name, Owner: s.Owner, TaskType: s.TaskType, AllowedDigests: s.Digests,
		CreatedAt: s.CreatedAt, N: s.N, MaxUIDs: s.Params.MaxUIDs, Tempo: s.Params.Tempo,
		Block: h, Burn: s.Price(h + 1), Registrations: s.Registrations,
		PendingEmission: es.Pending, Epoch: es.Epochs, LastEpoch: es.LastEpoch,
		NextEpoch: es.LastEpoch + s.Params.Tempo, Params: s.Params,
	}, nil
}

func (q store) list() ([]SubnetInfo, error) {
	count, err := q.count()
	if err != nil {
		return nil, err
	}
	out := make([]SubnetInfo, 0, count)
	for netuid := uint16(1); netuid <= count; netuid++ {
		info, err := q.info(netuid)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

func cells(row []yuma.Entry) []Cell {
	out := make([]Cell, len(row))
	for i, e := range row {
		out[i] = Cell(e)
	}
	return out
}

func (q store) neuronInfo(netuid uint16, n *Neuron) (NeuronInfo, error) {
	stake, err := q.totalStake(netuid, n.Hotkey)
	if err != nil {
		return NeuronInfo{}, err
	}
	w, err := q.row('w', netuid, n.UID)
	if err != nil {
		return NeuronInfo{}, err
	}
	b, err := q.row('b', netuid, n.UID)
	if err != nil {
		return NeuronInfo{}, err
	}
	jail, err := q.jailedUntil(netuid, n.Hotkey)
	if err != nil {
		return NeuronInfo{}, err
	}
	info := NeuronInfo{
		Netuid: netuid, UID: n.UID, Hotkey: n.Hotkey, Stake: stake, StakeWeight: n.StakeWeight,
		Rank: n.Rank, Trust: n.Trust, Consensus: n.Consensus, Incentive: n.Incentive, Dividends: n.Dividends,
		Emission: n.Emission, ValidatorTrust: n.ValidatorTrust, ValidatorPermit: n.ValidatorPermit,
		LastUpdate: n.LastUpdate, RegisteredAt: n.RegisteredAt, Active: n.Active,
		Endpoint: n.Endpoint, ProtocolVersion: n.ProtocolVersion, Region: n.Region, ServedAt: n.ServedAt,
		JailedUntil: jail, Weights: cells(w), Bonds: cells(b),
	}
	if !n.ModelDigest.IsZero() {
		info.ModelDigest = n.ModelDigest.String()
	}
	return info, nil
}

func (q store) metagraph(netuid uint16) (Metagraph, error) {
	s, err := q.subnet(netuid)
	if err != nil {
		return Metagraph{}, err
	}
	es, err := q.emission(netuid)
	if err != nil {
		return Metagraph{}, err
	}
	h, err := q.u64(heightKey, "height")
	if err != nil {
		return Metagraph{}, err
	}
	mg := Metagraph{Netuid: netuid, N: s.N, Block: h, Tempo: s.Params.Tempo, Epoch: es.Epochs, LastEpoch: es.LastEpoch,
		Neurons: make([]NeuronInfo, 0, s.N)}
	for uid := range s.N {
		n, err := q.neuron(netuid, uid)
		if err != nil {
			return Metagraph{}, err
		}
		if n.Hotkey == s.Owner {
			mg.OwnerUID = &n.UID
		}
		info, err := q.neuronInfo(netuid, n)
		if err != nil {
			return Metagraph{}, err
		}
		mg.Neurons = append(mg.Neurons, info)
	}
	return mg, nil
}

func (q store) stakeInfo(netuid uint16, hotkey tx.Address) (StakeInfo, error) {
	total, err := q.totalStake(netuid, hotkey)
	if err != nil {
		return StakeInfo{}, err
	}
	si := StakeInfo{Netuid: netuid, Hotkey: hotkey, Total: total, Stakers: []Staker{}}
	prefix := append(hotkeyKey('k', netuid, hotkey), '/')
	err = q.kv.Iterate(prefix, func(k, v []byte) error {
		if len(k) != len(prefix)+tx.AddressLen || len(v) != 8 {
			return module.Errorf(module.ReasonInternal, "bad stake record %x", k)
		}
		var st Staker
		copy(st.Staker[:], k[len(prefix):])
		r := tx.NewReader(v)
		st.Amount = tx.Amount(r.U64())
		si.Stakers = append(si.Stakers, st)
		return nil
	})
	return si, err
}

func (q store) commitInfo(netuid uint16, hotkey tx.Address) ([]CommitInfo, error) {
	s, err := q.subnet(netuid)
	if err != nil {
		return nil, err
	}
	n, err := q.registered(netuid, hotkey)
	if err != nil {
		return nil, err
	}
	cs, err := q.commits(netuid, n.UID)
	if err != nil {
		return nil, err
	}
	out := make([]CommitInfo, len(cs))
	for i, c := range cs {
		out[i] = CommitInfo{Commit: c, RevealEpoch: c.Epoch + uint64(s.Params.RevealPeriod)}
	}
	return out, nil
}
