package agents

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

// PermissionResult is the answer of /agents/permission/<owner>/<agent>:
// the permission and what it allows at AsOf (the query's ?height=,
// default the start of the period of its last debit; pass the latest
// height for the current figures).
type PermissionResult struct {
	Permission
	AsOf uint64 `json:"as_of"`
	// Active: not revoked and not expired at AsOf.
	Active bool `json:"active"`
	// The period holding AsOf: its start, what was spent in it, what is
	// left of its allowance, and the height the next one starts.
	PeriodStartAt   uint64    `json:"period_start_at"`
	PeriodSpentAt   tx.Amount `json:"period_spent_at"`
	PeriodRemaining tx.Amount `json:"period_remaining"`
	NextPeriodAt    uint64    `json:"next_period_at"`
	// TotalRemaining is what is left of the total cap.
	TotalRemaining tx.Amount `json:"total_remaining"`
	// Spendable is the largest single debit allowed at AsOf: 0 when not
	// active, else the least of PeriodRemaining, TotalRemaining and the
	// per-call max (when set). The owner's balance is not considered.
	Spendable tx.Amount `json:"spendable"`
}

// Query implements module.Querier. Lists are in name (or agent address)
// order and take ?limit= (default 100, at most 1000) and ?after= (the
// last name or address of the previous page); ?height=<h> hides services
// expired at h (EndBlock removes them anyway, at most EndBlockLimit per
// block).
//
//	/agents/params                                         Params
//	/agents/service/<name>[?height=]                       Service
//	/agents/services[?capability=&max_price=&after=&limit=&height=]   []Service
//	/agents/services/owner/<addr>[?after=&limit=&height=]  []Service
//	/agents/permission/<owner>/<agent>[?height=]           PermissionResult
//	/agents/permissions/<owner>[?after=<agent>&limit=]     []Permission
//
// max_price is udeai ("1500" or "1500udeai" or "0.0015deai"): services
// with a price per call above it are left out.
func (Module) Query(kv state.KV, path []string) (any, error) {
	q, err := parseQuery(path)
	if err != nil {
		return nil, err
	}
	s := store{kv}
	bad := func() error {
		return module.Errorf(module.ReasonBadQuery, "unknown agents query %q", strings.Join(path, "/"))
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
	case "service":
		if len(args) != 1 {
			return nil, bad()
		}
		sv, err := s.service(args[0])
		if err != nil {
			return nil, err
		}
		if sv == nil || (q.height != 0 && !sv.Live(q.height)) {
			return nil, module.Errorf(module.ReasonNotFound, "service %s is not registered", args[0])
		}
		return sv, nil
	case "services":
		switch {
		case len(args) == 0:
			return s.services(q)
		case len(args) == 2 && args[0] == "owner":
			owner, err := badQuery(tx.ParseAddress(args[1]))
			if err != nil {
				return nil, err
			}
			return s.servicesOf(owner, q)
		}
		return nil, bad()
	case "permission":
		if len(args) != 2 {
			return nil, bad()
		}
		owner, err := badQuery(tx.ParseAddress(args[0]))
		if err != nil {
			return nil, err
		}
		agent, err := badQuery(tx.ParseAddress(args[1]))
		if err != nil {
			return nil, err
		}
		p, err := s.permission(owner, agent)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, module.Errorf(module.ReasonNotFound, "agent %s has no spend permission from %s", agent, owner)
		}
		return permissionResult(p, q.height), nil
	case "permissions":
		if len(args) != 1 {
			return nil, bad()
		}
		owner, err := badQuery(tx.ParseAddress(args[0]))
		if err != nil {
			return nil, err
		}
		var after []byte
		if q.after != "" {
			agent, err := tx.ParseAddress(q.after)
			if err != nil {
				return nil, module.Errorf(module.ReasonBadQuery, "after %q: %v", q.after, err)
			}
			after = permissionKey(owner, agent)
		}
		out := []Permission{}
		err = iterate(kv, append(prefix(tagPermission), owner[:]...), after, func(_, v []byte) (bool, error) {
			p, err := decodePermission(v)
			if err != nil {
				return false, err
			}
			out = append(out, *p)
			return len(out) >= q.limit, nil
		})
		return out, err
	}
	return nil, bad()
}

func permissionResult(p *Permission, height uint64) *PermissionResult {
	r := &PermissionResult{Permission: *p, AsOf: height}
	if height == 0 {
		r.AsOf = p.PeriodStart
	}
	r.Active = !p.Revoked && (p.Expiry == 0 || r.AsOf <= p.Expiry)
	r.PeriodStartAt, r.PeriodSpentAt = p.spentAt(r.AsOf)
	r.PeriodRemaining, _ = p.Allowance.Sub(min(r.PeriodSpentAt, p.Allowance))
	r.NextPeriodAt = r.PeriodStartAt + p.PeriodBlocks
	r.TotalRemaining, _ = p.TotalCap.Sub(min(p.TotalSpent, p.TotalCap))
	if r.Active {
		r.Spendable = min(r.PeriodRemaining, r.TotalRemaining)
		if p.PerCallMax != 0 {
			r.Spendable = min(r.Spendable, p.PerCallMax)
		}
	}
	return r
}

func badQuery[T any](v T, err error) (T, error) {
	if err != nil {
		return v, module.Wrap(module.ReasonBadQuery, err)
	}
	return v, nil
}

// query is a parsed query path: segments, and the parameters after '?'.
type query struct {
	path       []string
	limit      int
	after      string
	capability string
	maxPrice   *tx.Amount
	height     uint64
}

// parseQuery parses a query path with module.ParseQuery and this
// module's own parameters.
func parseQuery(path []string) (query, error) {
	mq, err := module.ParseQuery(path, DefaultQueryLimit, MaxQueryLimit, "capability", "max_price")
	q := query{path: mq.Path, limit: mq.Limit, after: mq.After, height: mq.Height}
	if err != nil {
		return q, err
	}
	if v, ok := mq.Extra["capability"]; ok {
		if err := validCapability(v); err != nil {
			return q, module.Wrap(module.ReasonBadQuery, err)
		}
		q.capability = v
	}
	if v, ok := mq.Extra["max_price"]; ok {
		p, err := parsePrice(v)
		if err != nil {
			return q, module.Errorf(module.ReasonBadQuery, "max_price %q: want udeai, e.g. 1500 or 1500udeai", v)
		}
		q.maxPrice = &p
	}
	return q, nil
}

func parsePrice(s string) (tx.Amount, error) {
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return tx.Amount(n), nil
	}
	return tx.ParseAmount(s)
}

// keep reports whether a service matches the query's filters.
func (q *query) keep(s *Service) bool {
	if q.height != 0 && !s.Live(q.height) {
		return false
	}
	return q.maxPrice == nil || s.Price <= *q.maxPrice
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

// services lists the registry, or one capability's index, in name order.
func (s store) services(q query) ([]Service, error) {
	pre := prefix(tagService)
	if q.capability != "" {
		pre = capabilityPrefix(q.capability)
	}
	var after []byte
	if q.after != "" {
		after = append(bytes.Clone(pre), q.after...)
	}
	return s.collect(q, pre, after)
}

func (s store) servicesOf(owner tx.Address, q query) ([]Service, error) {
	pre := append(prefix(tagOwner), owner[:]...)
	var after []byte
	if q.after != "" {
		after = append(bytes.Clone(pre), q.after...)
	}
	return s.collect(q, pre, after)
}

// collect reads the services whose names end the keys under pre (the
// registry itself or an index), keeping those that match q.
func (s store) collect(q query, pre, after []byte) ([]Service, error) {
	out := []Service{}
	direct := bytes.Equal(pre, prefix(tagService))
	err := iterate(s.kv, pre, after, func(k, v []byte) (bool, error) {
		var sv *Service
		var err error
		if direct {
			sv, err = decodeService(v)
		} else {
			name := string(k[len(pre):])
			if sv, err = s.service(name); err == nil && sv == nil {
				err = module.Errorf(module.ReasonInternal, "index entry %q without a service", k)
			}
		}
		if err != nil {
			return false, err
		}
		if q.keep(sv) {
			out = append(out, *sv)
		}
		return len(out) >= q.limit, nil
	})
	return out, err
}
