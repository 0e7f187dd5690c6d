package paych

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// Query limits for lists.
const (
	DefaultQueryLimit = 100
	MaxQueryLimit     = 1000
)

// ChannelResult is the answer of /paych/channel/<id>: the channel, what
// it holds in escrow, and whether it is settled at AsOf (the query's
// ?height=, default the channel's last height of note: SettlingAt when
// settling, else its opening height).
type ChannelResult struct {
	Channel
	Escrowed tx.Amount `json:"escrowed"`
	AsOf     uint64    `json:"as_of"`
	Settled  bool      `json:"settled"`
}

// Query implements module.Querier. Lists take ?limit= (default 100, at
// most 1000) and ?after= (the last channel ID or lane of the previous
// page).
//
//	/paych/params                                           Params
//	/paych/channel/<id>[?height=]                           ChannelResult
//	/paych/lane/<id>/<lane>                                 Lane (a lane never redeemed: nonce 0)
//	/paych/lanes/<id>[?after=<lane>]                        []Lane, in lane order
//	/paych/channels/from|to|funder/<addr>[?state=&after=]   []Channel, in ID order
//	/paych/next/<from>                                      {"seq": n, "id": the ID of from's next channel to ?to=<addr>}
func (Module) Query(kv state.KV, path []string) (any, error) {
	q, err := parseQuery(path)
	if err != nil {
		return nil, err
	}
	s := store{kv}
	bad := func() error {
		return module.Errorf(module.ReasonBadQuery, "unknown paych query %q", strings.Join(path, "/"))
	}
	if len(q.path) == 0 {
		return nil, bad()
	}
	args := q.path[1:]
	switch q.path[0] {
	case "params":
		if len(args) != 0 {
			return nil, bad()
		}
		return s.params()
	case "channel":
		if len(args) != 1 {
			return nil, bad()
		}
		id, err := badQuery(ParseChannelID(args[0]))
		if err != nil {
			return nil, err
		}
		c, err := s.channel(id)
		if err != nil {
			return nil, err
		}
		r := &ChannelResult{Channel: *c, Escrowed: c.Escrowed(), AsOf: q.height}
		if r.AsOf == 0 {
			r.AsOf = max(c.OpenedAt, c.SettlingAt, c.ClosedAt)
		}
		r.Settled = c.Settled(r.AsOf)
		return r, nil
	case "lane":
		if len(args) != 2 {
			return nil, bad()
		}
		id, err := badQuery(ParseChannelID(args[0]))
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseUint(args[1], 10, 32)
		if err != nil {
			return nil, module.Errorf(module.ReasonBadQuery, "lane %q: want a number from 0 to 4294967295", args[1])
		}
		if _, err := s.channel(id); err != nil {
			return nil, err
		}
		l, _, err := s.lane(id, uint32(n))
		return l, err
	case "lanes":
		if len(args) != 1 {
			return nil, bad()
		}
		id, err := badQuery(ParseChannelID(args[0]))
		if err != nil {
			return nil, err
		}
		if _, err := s.channel(id); err != nil {
			return nil, err
		}
		var after []byte
		if q.after != "" {
			n, err := strconv.ParseUint(q.after, 10, 32)
			if err != nil {
				return nil, module.Errorf(module.ReasonBadQuery, "after %q: want a lane number", q.after)
			}
			after = laneKey(id, uint32(n))
		}
		pre := lanePrefix(id)
		out := []Lane{}
		err = iterate(kv, pre, after, func(k, v []byte) (bool, error) {
			r := tx.NewReader(k[len(pre):])
			n := r.U32()
			if err := decodeDone(r, "lane key"); err != nil {
				return false, err
			}
			l, err := decodeLane(n, v)
			if err != nil {
				return false, err
			}
			out = append(out, *l)
			return len(out) >= q.limit, nil
		})
		return out, err
	case "channels":
		if len(args) != 2 {
			return nil, bad()
		}
		role := map[string]byte{"from": roleFrom, "to": roleTo, "funder": roleFunder}[args[0]]
		if role == 0 {
			return nil, bad()
		}
		a, err := badQuery(tx.ParseAddress(args[1]))
		if err != nil {
			return nil, err
		}
		return s.channels(role, a, q)
	case "next":
		if len(args) != 1 {
			return nil, bad()
		}
		from, err := badQuery(tx.ParseAddress(args[0]))
		if err != nil {
			return nil, err
		}
		n, err := s.seq(from)
		if err != nil {
			return nil, err
		}
		out := struct {
			Seq uint64     `json:"seq"`
			ID  *ChannelID `json:"id,omitempty"`
		}{Seq: n}
		if !q.to.IsZero() {
			id := ChannelIDFor(from, q.to, n)
			out.ID = &id
		}
		return out, nil
	}
	return nil, bad()
}

func badQuery[T any](v T, err error) (T, error) {
	if err != nil {
		return v, module.Wrap(module.ReasonBadQuery, err)
	}
	return v, nil
}

// query is a parsed query path: segments, and the parameters after '?'.
type query struct {
	path   []string
	limit  int
	after  string
	state  ChannelState
	height uint64
	to     tx.Address
}

// parseQuery parses a query path with module.ParseQuery and this
// module's own parameters.
func parseQuery(path []string) (query, error) {
	mq, err := module.ParseQuery(path, DefaultQueryLimit, MaxQueryLimit, "state", "to")
	q := query{path: mq.Path, limit: mq.Limit, after: mq.After, height: mq.Height}
	if err != nil {
		return q, err
	}
	if v, ok := mq.Extra["state"]; ok {
		if err := q.state.UnmarshalText([]byte(v)); err != nil {
			return q, module.Wrap(module.ReasonBadQuery, err)
		}
	}
	if v, ok := mq.Extra["to"]; ok {
		a, err := tx.ParseAddress(v)
		if err != nil {
			return q, module.Wrap(module.ReasonBadQuery, err)
		}
		q.to = a
	}
	return q, nil
}

var errStop = errors.New("stop")

// iterate calls fn for the entries under pre with keys after after (nil:
// all) until fn says stop.
func iterate(kv state.KV, pre, after []byte, fn func(k, v []byte) (stop bool, err error)) error {
	err := kv.Iterate(pre, func(k, v []byte) error {
		if after != nil && bytes.Compare(k, after) <= 0 {
			return nil
		}
		stop, err := fn(k, v)
		if err == nil && stop {
			err = errStop
		}
		return err
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

func (s store) channels(role byte, a tx.Address, q query) ([]Channel, error) {
	pre := indexPrefix(role, a)
	var after []byte
	if q.after != "" {
		id, err := ParseChannelID(q.after)
		if err != nil {
			return nil, module.Errorf(module.ReasonBadQuery, "after %q: %v", q.after, err)
		}
		after = indexKey(role, a, id)
	}
	out := []Channel{}
	err := iterate(s.kv, pre, after, func(k, _ []byte) (bool, error) {
		var id ChannelID
		if len(k) != len(pre)+HashSize {
			return false, module.Errorf(module.ReasonInternal, "bad channel index key %x", k)
		}
		copy(id[:], k[len(pre):])
		c, err := s.channel(id)
		if err != nil {
			return false, module.Wrap(module.ReasonInternal, err)
		}
		if q.state == 0 || c.State == q.state {
			out = append(out, *c)
		}
		return len(out) >= q.limit, nil
	})
	return out, err
}
