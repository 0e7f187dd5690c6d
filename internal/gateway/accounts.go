package gateway

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/deai-network/deai/internal/tx"
)

// LoadKeys reads an API keys file: one "KEY ADDRESS [NAME=VALUE …]" line
// per key, blank lines and lines starting with # ignored. The optional
// fields set the key's Quota: tokens_per_day=N, max_spend=AMOUNT (such as
// 5deai or 100udeai), rpm=N and streams=N. It returns the keys' accounts
// and the quotas of the keys that have one.
func LoadKeys(path string) (map[string]tx.Address, map[string]Quota, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load keys: %w", err)
	}
	defer f.Close()
	keys, quotas := map[string]tx.Address{}, map[string]Quota{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) < 2 {
			return nil, nil, fmt.Errorf("load keys: %s:%d: want KEY ADDRESS [NAME=VALUE ...]", path, n)
		}
		a, err := tx.ParseAddress(fs[1])
		if err != nil {
			return nil, nil, fmt.Errorf("load keys: %s:%d: %w", path, n, err)
		}
		if _, dup := keys[fs[0]]; dup {
			return nil, nil, fmt.Errorf("load keys: %s:%d: duplicate key", path, n)
		}
		q, err := parseQuota(fs[2:])
		if err != nil {
			return nil, nil, fmt.Errorf("load keys: %s:%d: %w", path, n, err)
		}
		keys[fs[0]] = a
		if q != (Quota{}) {
			quotas[fs[0]] = q
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("load keys: %w", err)
	}
	return keys, quotas, nil
}

// Errors the handlers branch on.
var (
	errInsufficient   = errors.New("insufficient balance")
	errDepositSeen    = errors.New("deposit already credited or being verified")
	errRateLimited    = errors.New("rate limit exceeded")
	errTooManyStreams = errors.New("too many concurrent streams")
	errTokenQuota     = errors.New("daily token quota exceeded")
	errSpendCap       = errors.New("spend cap reached")
)

// Usage is an account's state as GET /v1/usage reports it. Amounts are
// base units.
type Usage struct {
	Account          string    `json:"account"`
	Balance          tx.Amount `json:"balance"`            // spendable: credited − spent − held
	Held             tx.Amount `json:"held"`               // reserved by requests in flight
	Deposited        tx.Amount `json:"deposited"`          // on-chain deposits and kept vouchers
	Vouchers         tx.Amount `json:"vouchers,omitempty"` // the part of Deposited paid with vouchers
	Spent            tx.Amount `json:"spent"`
	Requests         uint64    `json:"requests"`
	PromptTokens     uint64    `json:"prompt_tokens"`
	CompletionTokens uint64    `json:"completion_tokens"`
}

type account struct {
	deposited, spent, held tx.Amount
	vouchers               tx.Amount // the part of deposited from kept vouchers
	requests               uint64
	prompt, completion     uint64
}

func (a *account) available() tx.Amount { return a.deposited - a.spent - a.held }

type keyState struct {
	addr        tx.Address
	id          string // keyID: names the key in the store
	quota       Quota
	rate, burst float64 // requests per second, bucket size; rate 0: unlimited
	maxStreams  int     // 0: unlimited
	tokens      float64 // token bucket
	last        time.Time
	streams     int
	// Quota counters: held by requests in flight, then spent.
	day                   int64  // the UTC day dayTokens counts
	dayTokens, heldTokens uint64 // tokens
	spent, heldSpend      tx.Amount
}

// accounts holds balances, holds, rate limits, quotas and stream counts.
// Every change to a balance or a quota counter happens under mu, so a
// request never spends money or quota another one reserved and no balance
// goes below zero.
type accounts struct {
	rate       float64 // requests per second per key; 0: unlimited
	burst      float64
	maxStreams int
	now        func() time.Time

	mu       sync.Mutex // guards the fields below
	keys     map[string]*keyState
	byID     map[string]*keyState // keyID → state, for replay
	accts    map[tx.Address]*account
	deposits map[string]bool          // tx hash → credited (true) or being verified (false)
	payers   map[tx.Address]*keyState // voucher payers: rate and stream limits, no quota
	vouchers map[string]bool          // voucherKey → credited (true) or in flight (false)
}

func newAccounts(keys map[string]tx.Address, quotas map[string]Quota, rate float64, burst, maxStreams int, now func() time.Time) *accounts {
	a := &accounts{rate: rate, burst: float64(max(burst, 1)), maxStreams: maxStreams, now: now,
		keys: map[string]*keyState{}, byID: map[string]*keyState{}, accts: map[tx.Address]*account{}, deposits: map[string]bool{},
		payers: map[tx.Address]*keyState{}, vouchers: map[string]bool{}}
	for k, addr := range keys {
		q := quotas[k]
		ks := &keyState{addr: addr, id: keyID(k), quota: q, rate: a.rate, burst: a.burst, maxStreams: a.maxStreams, day: dayOf(now())}
		if q.RPM > 0 {
			ks.rate, ks.burst = float64(q.RPM)/60, float64(q.RPM)
		}
		if q.Streams > 0 {
			ks.maxStreams = q.Streams
		}
		ks.tokens, ks.last = ks.burst, now()
		a.keys[k] = ks
		a.byID[ks.id] = ks
	}
	return a
}

func (a *accounts) acctLocked(addr tx.Address) *account {
	x := a.accts[addr]
	if x == nil {
		x = &account{}
		a.accts[addr] = x
	}
	return x
}

// replay applies a stored record.
func (a *accounts) replay(r Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	x := a.acctLocked(r.Account)
	switch r.Kind {
	case recordDeposit:
		a.deposits[r.TxHash] = true
		x.deposited += r.Amount
	case recordCharge:
		x.spent += r.Amount
		x.requests++
		x.prompt += uint64(r.PromptTokens)
		x.completion += uint64(r.CompletionTokens)
		if ks := a.byID[r.KeyID]; ks != nil && r.KeyID != "" {
			ks.spent += r.Amount
			tokens := uint64(r.PromptTokens) + uint64(r.CompletionTokens)
			switch d := dayOf(time.UnixMilli(r.TimeMs)); {
			case d == ks.day:
				ks.dayTokens += tokens
			case d > ks.day:
				ks.day, ks.dayTokens = d, tokens
			}
		}
	case recordVoucher:
		k := voucherKey(r.Channel, r.Lane, r.Nonce)
		if a.vouchers[k] {
			return fmt.Errorf("replay gateway store: voucher %s credited twice", k)
		}
		a.vouchers[k] = true
		x.deposited += r.Amount
		x.vouchers += r.Amount
	case recordSettleBegin, recordSettleDone, recordSettleFailed:
		// the miners' side: payouts
	default:
		return fmt.Errorf("replay gateway store: unknown record kind %q", r.Kind)
	}
	return nil
}

// admit looks up key and takes one token of its bucket.
func (a *accounts) admit(key string) (*keyState, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ks := a.keys[key]
	if ks == nil {
		return nil, errUnauthorized
	}
	if err := a.takeLocked(ks); err != nil {
		return nil, err
	}
	return ks, nil
}

// takeLocked takes one token of ks's bucket.
func (a *accounts) takeLocked(ks *keyState) error {
	if ks.rate <= 0 {
		return nil
	}
	now := a.now()
	ks.tokens = min(ks.burst, ks.tokens+now.Sub(ks.last).Seconds()*ks.rate)
	ks.last = now
	if ks.tokens < 1 {
		return errRateLimited
	}
	ks.tokens--
	return nil
}

func (a *accounts) openStream(ks *keyState) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ks.maxStreams > 0 && ks.streams >= ks.maxStreams {
		return errTooManyStreams
	}
	ks.streams++
	return nil
}

func (a *accounts) closeStream(ks *keyState) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ks.streams--
}

// reserve holds amt of ks's account balance and tokens of its daily
// token quota for a request in flight; amt also counts against the key's
// spend cap. Holds and checks happen together under mu, so concurrent
// requests cannot jointly exceed the balance or a quota.
func (a *accounts) reserve(ks *keyState, amt tx.Amount, tokens uint64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if d := dayOf(a.now()); d != ks.day {
		ks.day, ks.dayTokens = d, 0
	}
	if q := ks.quota.MaxSpend; q > 0 && (ks.spent+ks.heldSpend > q || amt > q-ks.spent-ks.heldSpend) {
		return errSpendCap
	}
	if q := ks.quota.TokensPerDay; q > 0 && (ks.dayTokens+ks.heldTokens > q || tokens > q-ks.dayTokens-ks.heldTokens) {
		return errTokenQuota
	}
	x := a.acctLocked(ks.addr)
	if x.available() < amt {
		return errInsufficient
	}
	x.held += amt
	ks.heldSpend += amt
	ks.heldTokens += tokens
	return nil
}

// settle releases a reservation (hold base units, holdTokens tokens) and
// spends cost of it (never more than the hold); cost 0 and no tokens is a
// failed or free request. It returns what was spent.
func (a *accounts) settle(ks *keyState, hold tx.Amount, holdTokens uint64, cost tx.Amount, prompt, completion uint32) tx.Amount {
	a.mu.Lock()
	defer a.mu.Unlock()
	x := a.acctLocked(ks.addr)
	x.held -= hold
	ks.heldSpend -= hold
	ks.heldTokens -= holdTokens
	cost = min(cost, hold)
	if cost > 0 || prompt+completion > 0 {
		x.spent += cost
		x.requests++
		x.prompt += uint64(prompt)
		x.completion += uint64(completion)
		ks.spent += cost
		if d := dayOf(a.now()); d != ks.day {
			ks.day, ks.dayTokens = d, 0
		}
		ks.dayTokens += uint64(prompt) + uint64(completion)
	}
	return cost
}

// beginDeposit marks hash as being verified; each hash is credited once.
func (a *accounts) beginDeposit(hash string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.deposits[hash]; ok {
		return errDepositSeen
	}
	a.deposits[hash] = false
	return nil
}

// endDeposit credits amt to addr, or forgets hash when the verification
// failed so it can be tried again.
func (a *accounts) endDeposit(hash string, addr tx.Address, amt tx.Amount, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !ok {
		delete(a.deposits, hash)
		return
	}
	a.deposits[hash] = true
	a.acctLocked(addr).deposited += amt
}

func (a *accounts) usage(addr tx.Address) Usage {
	a.mu.Lock()
	defer a.mu.Unlock()
	x := a.acctLocked(addr)
	return Usage{Account: addr.String(), Balance: x.available(), Held: x.held, Deposited: x.deposited, Vouchers: x.vouchers, Spent: x.spent,
		Requests: x.requests, PromptTokens: x.prompt, CompletionTokens: x.completion}
}
