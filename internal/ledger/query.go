package ledger

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

// Queries read the last committed state (plus the genesis before the first
// commit). Errors carry ReasonNotFound or ReasonBadQuery.

// Account returns the account at addr, or a ReasonNotFound error.
func (l *Ledger) Account(addr tx.Address) (Account, error) {
	a, ok, err := bank.GetAccount(l.pending, addr)
	if err != nil {
		return a, err
	}
	if !ok {
		return a, module.Errorf(module.ReasonNotFound, "account %s not found", addr)
	}
	return a, nil
}

// Balance is the answer of the /balance query.
type Balance struct {
	Address tx.Address `json:"address"`
	Balance tx.Amount  `json:"balance"`
	Denom   string     `json:"denom"`
}

// Balance returns addr's balance; an unknown address has balance 0.
func (l *Ledger) Balance(addr tx.Address) (tx.Amount, error) {
	a, _, err := bank.GetAccount(l.pending, addr)
	return a.Balance, err
}

// Tx returns the record of an executed tx, or a ReasonNotFound error.
func (l *Ledger) Tx(h tx.Hash) (*TxRecord, error) {
	b, err := l.pending.Get(txKey(h))
	if err != nil {
		return nil, module.Wrap(module.ReasonInternal, err)
	}
	if b == nil {
		return nil, module.Errorf(module.ReasonNotFound, "tx %s not found", h)
	}
	return decodeTxRecord(h, b, l.reg)
}

// Block returns the record of a committed block, or a ReasonNotFound error.
func (l *Ledger) Block(height int64) (*BlockRecord, error) {
	if height < 1 || height > l.height {
		return nil, module.Errorf(module.ReasonNotFound, "block %d not found (last committed height %d)", height, l.height)
	}
	b, err := l.pending.Get(blockKey(height))
	if err != nil {
		return nil, module.Wrap(module.ReasonInternal, err)
	}
	if b == nil {
		return nil, module.Errorf(module.ReasonNotFound, "block %d not found", height)
	}
	return decodeBlockRecord(b)
}

// Supply is the answer of the /supply query. The ledger conserves money
// when TotalBalances + Burned == Genesis + Minted.
type Supply struct {
	Genesis       tx.Amount `json:"genesis"`
	Minted        tx.Amount `json:"minted"`
	Burned        tx.Amount `json:"burned"`
	TotalBalances tx.Amount `json:"total_balances"`
	Accounts      uint64    `json:"accounts"`
}

// Conserved reports whether the supply invariant holds.
func (s Supply) Conserved() bool {
	lhs, err1 := s.TotalBalances.Add(s.Burned)
	rhs, err2 := s.Genesis.Add(s.Minted)
	return err1 == nil && err2 == nil && lhs == rhs
}

// Supply sums every balance (a full scan: for queries and tests, not the
// hot path) and reads the supply record.
func (l *Ledger) Supply() (Supply, error) {
	rec, err := bank.GetSupply(l.pending)
	if err != nil {
		return Supply{}, err
	}
	s := Supply{Genesis: rec.Genesis, Minted: rec.Minted, Burned: rec.Burned}
	err = bank.IterateAccounts(l.pending, func(a bank.Account) error {
		var err error
		s.Accounts++
		if s.TotalBalances, err = s.TotalBalances.Add(a.Balance); err != nil {
			return module.Wrap(module.ReasonInternal, err)
		}
		return nil
	})
	return s, err
}

// Query answers a path with JSON, the same bytes over ABCI and from the
// in-memory twin:
//
//	/account/<deai1…>   Account           (not found: ReasonNotFound)
//	/balance/<deai1…>   Balance           (unknown address: balance "0")
//	/tx/<hex hash>      TxRecord
//	/block/<height>     BlockRecord       (also /block/latest)
//	/params             Params
//	/supply             Supply
//	/<module>/…         the module's Querier
func (l *Ledger) Query(path string) ([]byte, error) {
	v, err := l.query(path)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, module.Wrap(module.ReasonInternal, err)
	}
	return b, nil
}

func (l *Ledger) query(path string) (any, error) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	arg := func() (string, error) {
		if len(segs) != 2 || segs[1] == "" {
			return "", module.Errorf(module.ReasonBadQuery, "query %q: want /%s/<argument>", path, segs[0])
		}
		return segs[1], nil
	}
	noArg := func() error {
		if len(segs) != 1 {
			return module.Errorf(module.ReasonBadQuery, "query %q: /%s takes no argument", path, segs[0])
		}
		return nil
	}
	addr := func() (tx.Address, error) {
		s, err := arg()
		if err != nil {
			return tx.Address{}, err
		}
		a, err := tx.ParseAddress(s)
		if err != nil {
			return a, module.Wrap(module.ReasonBadQuery, err)
		}
		return a, nil
	}
	switch segs[0] {
	case "account":
		a, err := addr()
		if err != nil {
			return nil, err
		}
		return l.Account(a)
	case "balance":
		a, err := addr()
		if err != nil {
			return nil, err
		}
		bal, err := l.Balance(a)
		return Balance{Address: a, Balance: bal, Denom: tx.Denom}, err
	case "tx":
		s, err := arg()
		if err != nil {
			return nil, err
		}
		h, err := tx.ParseHash(s)
		if err != nil {
			return nil, module.Wrap(module.ReasonBadQuery, err)
		}
		return l.Tx(h)
	case "block":
		s, err := arg()
		if err != nil {
			return nil, err
		}
		if s == "latest" {
			return l.Block(l.height)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, module.Errorf(module.ReasonBadQuery, "query %q: height %q is not a number", path, s)
		}
		return l.Block(n)
	case "params":
		if err := noArg(); err != nil {
			return nil, err
		}
		if !l.ready {
			return nil, module.Errorf(module.ReasonNotFound, "no genesis yet")
		}
		return l.params, nil
	case "supply":
		if err := noArg(); err != nil {
			return nil, err
		}
		return l.Supply()
	}
	for _, m := range l.modules {
		if q, ok := m.(module.Querier); ok && m.Name() == segs[0] {
			return q.Query(l.pending, segs[1:])
		}
	}
	return nil, module.Errorf(module.ReasonBadQuery, "unknown query path %q", path)
}
