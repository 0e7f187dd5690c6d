package agents_test

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/tx"
)

// model is an independent, naive reimplementation of the module's rules
// that predicts whether each message succeeds.
type model struct {
	h        uint64
	services map[string]mService
	perms    map[[2]int]*mPerm
}

type mService struct {
	owner  int
	expiry uint64
	price  tx.Amount
}

type mPerm struct {
	l       agents.SpendLimits
	granted uint64
	revoked bool
	spends  []mSpend
}

type mSpend struct {
	h   uint64
	amt tx.Amount
}

func (m *model) live(name string) (mService, bool) {
	s, ok := m.services[name]
	return s, ok && m.h <= s.expiry
}

// apply predicts msg from account from at the model's height and, when
// it succeeds, records its effect.
func (m *model) apply(from int, msg tx.Msg) bool {
	const maxReg = 1000
	switch x := msg.(type) {
	case *agents.MsgRegisterService:
		if _, taken := m.live(x.Name); taken || x.Expiry <= m.h || x.Expiry-m.h > maxReg {
			return false
		}
		m.services[x.Name] = mService{owner: from, expiry: x.Expiry, price: x.Price}
	case *agents.MsgUpdateService:
		s, ok := m.live(x.Name)
		if !ok || s.owner != from {
			return false
		}
		s.price = x.Price
		m.services[x.Name] = s
	case *agents.MsgRenewService:
		s, ok := m.live(x.Name)
		if !ok || s.owner != from || x.Expiry <= s.expiry || x.Expiry-m.h > maxReg {
			return false
		}
		s.expiry = x.Expiry
		m.services[x.Name] = s
	case *agents.MsgDeregisterService:
		if s, ok := m.live(x.Name); !ok || s.owner != from {
			return false
		}
		delete(m.services, x.Name)
	case *agents.MsgGrantSpend:
		if x.Expiry != 0 && x.Expiry < m.h {
			return false
		}
		m.perms[[2]int{from, indexOf(x.Agent)}] = &mPerm{l: x.SpendLimits, granted: m.h}
	case *agents.MsgRevokeSpend:
		p := m.perms[[2]int{from, indexOf(x.Agent)}]
		if p == nil || p.revoked {
			return false
		}
		p.revoked = true
	case *agents.MsgSpend:
		p := m.perms[[2]int{indexOf(x.Owner), from}]
		if p == nil || p.revoked || (p.l.Expiry != 0 && m.h > p.l.Expiry) || (p.l.PerCallMax != 0 && x.Amount > p.l.PerCallMax) {
			return false
		}
		if len(p.l.Allowlist) > 0 && !contains(p.l.Allowlist, x.To) {
			return false
		}
		period := (m.h - p.granted) / p.l.PeriodBlocks
		var inPeriod, total tx.Amount
		for _, s := range p.spends {
			total += s.amt
			if (s.h-p.granted)/p.l.PeriodBlocks == period {
				inPeriod += s.amt
			}
		}
		if inPeriod+x.Amount > p.l.Allowance || total+x.Amount > p.l.TotalCap {
			return false
		}
		p.spends = append(p.spends, mSpend{m.h, x.Amount})
	}
	return true
}

// endBlock drops what expires at the model's height.
func (m *model) endBlock() {
	for n, s := range m.services {
		if s.expiry <= m.h {
			delete(m.services, n)
		}
	}
}

func contains(as []tx.Address, a tx.Address) bool {
	for _, b := range as {
		if a == b {
			return true
		}
	}
	return false
}

func indexOf(a tx.Address) int {
	for i := range 16 {
		if addr(i) == a {
			return i
		}
	}
	return -1
}

// TestRandomized drives blocks of random registry and permission messages
// over small name and account spaces and checks every result against the
// model, the supply and the module's invariants after every block, and
// at the end that every balance is what the bank's events say and the
// registry is what the model says.
func TestRandomized(t *testing.T) {
	for seed := range uint64(4) {
		t.Run("", func(t *testing.T) { randomRun(t, seed, 150) })
	}
}

// TestDeterministic replays a randomized run on a fresh ledger: every
// block's app hash is the same.
func TestDeterministic(t *testing.T) {
	a, b := randomRun(t, 7, 60), randomRun(t, 7, 60)
	if len(a.Hashes) != 60 || len(b.Hashes) != 60 {
		t.Fatalf("%d and %d blocks", len(a.Hashes), len(b.Hashes))
	}
	for i := range a.Hashes {
		if string(a.Hashes[i]) != string(b.Hashes[i]) {
			t.Fatalf("block %d: app hashes %x and %x differ", i+1, a.Hashes[i], b.Hashes[i])
		}
	}
}

func randomRun(t *testing.T, seed uint64, blocks int) *harness {
	const accounts = 5
	p := testParams()
	h := newHarness(t, genesis(t, accounts, &p))
	r := rand.New(rand.NewPCG(seed, seed^0x6167656e7473))
	m := &model{services: map[string]mService{}, perms: map[[2]int]*mPerm{}}
	names := []string{"a", "b.x", "c-d", "e"}
	capsPool := []string{"data", "llm/chat", "summarize"}
	acct := func() int { return r.IntN(accounts) }
	gen := func() (int, tx.Msg) {
		from := acct()
		name := names[r.IntN(len(names))]
		var caps []string
		for _, c := range capsPool {
			if r.IntN(2) == 0 {
				caps = append(caps, c)
			}
		}
		switch k := r.IntN(100); {
		case k < 15:
			exp := m.h + 1 + uint64(r.IntN(30)) - uint64(r.IntN(3))
			return from, register(from, name, exp, tx.Amount(r.IntN(50)), caps...)
		case k < 22:
			if s, ok := m.services[name]; ok && r.IntN(4) > 0 {
				from = s.owner
			}
			return from, &agents.MsgUpdateService{Owner: addr(from), Name: name, ServiceSpec: spec(tx.Amount(r.IntN(50)), caps...)}
		case k < 30:
			s, ok := m.services[name]
			if ok && r.IntN(4) > 0 {
				from = s.owner
			}
			return from, &agents.MsgRenewService{Owner: addr(from), Name: name, Expiry: s.expiry + uint64(r.IntN(20)) - uint64(r.IntN(3))}
		case k < 34:
			if s, ok := m.services[name]; ok && r.IntN(4) > 0 {
				from = s.owner
			}
			return from, &agents.MsgDeregisterService{Owner: addr(from), Name: name}
		case k < 44:
			ag := (from + 1 + r.IntN(accounts-1)) % accounts
			l := agents.SpendLimits{Allowance: tx.Amount(1 + r.IntN(200)), PeriodBlocks: uint64(1 + r.IntN(8)), TotalCap: tx.Amount(50 + r.IntN(600))}
			if r.IntN(2) == 0 {
				l.PerCallMax = tx.Amount(1 + r.IntN(100))
			}
			if r.IntN(3) == 0 {
				l.Allowlist = sorted(addr(r.IntN(accounts)), addr((r.IntN(accounts)+1)%accounts))
				if l.Allowlist[0] == l.Allowlist[1] {
					l.Allowlist = l.Allowlist[:1]
				}
			}
			if r.IntN(3) == 0 {
				l.Expiry = m.h + uint64(r.IntN(40))
			}
			return from, &agents.MsgGrantSpend{Owner: addr(from), Agent: addr(ag), SpendLimits: l}
		case k < 48:
			return from, &agents.MsgRevokeSpend{Owner: addr(from), Agent: addr(acct())}
		default:
			ow := acct()
			if len(m.perms) > 0 && r.IntN(3) > 0 { // mostly an existing permission
				keys := make([][2]int, 0, len(m.perms))
				for k := range m.perms {
					keys = append(keys, k)
				}
				slices.SortFunc(keys, func(a, b [2]int) int { return cmp.Or(a[0]-b[0], a[1]-b[1]) })
				k := keys[r.IntN(len(keys))]
				ow, from = k[0], k[1]
			}
			return from, &agents.MsgSpend{Owner: addr(ow), Agent: addr(from), To: addr(acct()), Amount: tx.Amount(1 + r.IntN(120))}
		}
	}
	want := map[tx.Address]tx.Amount{}
	for i := range accounts {
		want[addr(i)] = funds
	}
	successes := map[tx.MsgType]int{}
	for range blocks {
		n := r.IntN(5)
		var txs [][]byte
		var msgs []tx.Msg
		var froms []int
		for range n {
			from, msg := gen()
			if msg.ValidateBasic() != nil {
				continue
			}
			txs = append(txs, h.Sign(from, msg))
			msgs, froms = append(msgs, msg), append(froms, from)
		}
		m.h = uint64(h.Height + 1)
		res := h.Block(txs...)
		for i, tr := range res.TxResults {
			if got, pred := tr.OK(), m.apply(froms[i], msgs[i]); got != pred {
				t.Fatalf("block %d tx %d %T %+v: ok=%v (%v %s), the model says %v", h.Height, i, msgs[i], msgs[i], got, tr.Code, tr.Log, pred)
			}
			if tr.OK() {
				successes[msgs[i].Type()]++
			}
			applyBank(want, tr.Events)
		}
		applyBank(want, res.Events)
		m.endBlock()
	}
	for a, w := range want {
		if got := h.Balance(a); got != w {
			t.Errorf("balance of %s is %s, the bank's events say %s", a, got, w)
		}
	}
	var list []agents.Service
	h.Query("/agents/services", &list)
	if len(list) != len(m.services) {
		t.Errorf("registry has %d services, the model %d", len(list), len(m.services))
	}
	for _, s := range list {
		ms, ok := m.services[s.Name]
		if !ok || addr(ms.owner) != s.Owner || ms.expiry != s.Expiry || ms.price != s.Price {
			t.Errorf("service %+v, the model %+v (%v)", s, ms, ok)
		}
	}
	t.Logf("successes by type: %v", successes)
	for _, typ := range []tx.MsgType{agents.TypeMsgRegisterService, agents.TypeMsgRenewService, agents.TypeMsgGrantSpend, agents.TypeMsgSpend} {
		if successes[typ] == 0 {
			t.Errorf("no message of type %#04x succeeded: the generator misses it", typ)
		}
	}
	return h
}

// applyBank replays the bank's events on balances.
func applyBank(bal map[tx.Address]tx.Amount, evs []ledger.Event) {
	for _, e := range evs {
		amt := func() tx.Amount {
			a, _ := tx.ParseAmount(attr(e, "amount"))
			return a
		}
		at := func(k string) tx.Address {
			a, _ := tx.ParseAddress(attr(e, k))
			return a
		}
		switch e.Type {
		case bank.EventTransfer:
			bal[at("sender")] -= amt()
			bal[at("recipient")] += amt()
		case bank.EventFeeBurn:
			bal[at("payer")] -= amt()
		case bank.EventBurn:
			bal[at("address")] -= amt()
		}
	}
}
