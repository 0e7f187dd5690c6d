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

// LoadKeys reads an API keys file: one "KEY ADDRESS" pair a line, blank
// lines and lines starting with # ignored.
func LoadKeys(path string) (map[string]tx.Address, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	defer f.Close()
	keys := map[string]tx.Address{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 2 {
			return nil, fmt.Errorf("load keys: %s:%d: want KEY ADDRESS", path, n)
		}
		a, err := tx.ParseAddress(fs[1])
		if err != nil {
			return nil, fmt.Errorf("load keys: %s:%d: %w", path, n, err)
		}
		if _, dup := keys[fs[0]]; dup {
			return nil, fmt.Errorf("load keys: %s:%d: duplicate key", path, n)
		}
		keys[fs[0]] = a
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	return keys, nil
}

// Errors the handlers branch on.
var (
	errInsufficient   = errors.New("insufficient balance")
	errDepositSeen    = errors.New("deposit already credited or being verified")
	errRateLimited    = errors.New("rate limit exceeded")
	errTooManyStreams = errors.New("too many concurrent streams")
)

// Usage is an account's state as GET /v1/usage reports it. Amounts are
// base units.
type Usage struct {
	Account          string    `json:"account"`
	Balance          tx.Amount `json:"balance"` // spendable: credited − spent − held
	Held             tx.Amount `json:"held"`    // reserved by requests in flight
	Deposited        tx.Amount `json:"deposited"`
	Spent            tx.Amount `json:"spent"`
	Requests         uint64    `json:"requests"`
	PromptTokens     uint64    `json:"prompt_tokens"`
	CompletionTokens uint64    `json:"completion_tokens"`
}

type account struct {
	deposited, spent, held tx.Amount
	requests               uint64
	prompt, completion     uint64
}

func (a *account) available() tx.Amount { return a.deposited - a.spent - a.held }

type keyState struct {
	addr    tx.Address
	tokens  float64 // token bucket
	last    time.Time
	streams int
}

// accounts holds balances, holds, rate limits and stream counts. Every
// change to a balance happens under mu, so a request never spends money
// another one reserved and no balance goes below zero.
type accounts struct {
	rate       float64 // requests per second per key; 0: unlimited
	burst      float64
	maxStreams int
	now        func() time.Time

	mu       sync.Mutex // guards the fields below
	keys     map[string]*keyState
	accts    map[tx.Address]*account
	deposits map[string]bool // tx hash → credited (true) or being verified (false)
}

func newAccounts(keys map[string]tx.Address, rate float64, burst, maxStreams int, now func() time.Time) *accounts {
	a := &accounts{rate: rate, burst: float64(max(burst, 1)), maxStreams: maxStreams, now: now,
		keys: map[string]*keyState{}, accts: map[tx.Address]*account{}, deposits: map[string]bool{}}
	for k, addr := range keys {
		a.keys[k] = &keyState{addr: addr, tokens: a.burst, last: now()}
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
	if a.rate <= 0 {
		return ks, nil
	}
	now := a.now()
	ks.tokens = min(a.burst, ks.tokens+now.Sub(ks.last).Seconds()*a.rate)
	ks.last = now
	if ks.tokens < 1 {
		return nil, errRateLimited
	}
	ks.tokens--
	return ks, nil
}

func (a *accounts) openStream(ks *keyState) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.maxStreams > 0 && ks.streams >= a.maxStreams {
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

// reserve holds amt of addr's balance for a request in flight.
func (a *accounts) reserve(addr tx.Address, amt tx.Amount) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	x := a.acctLocked(addr)
	if x.available() < amt {
		return errInsufficient
	}
	x.held += amt
	return nil
}

// settle releases a hold and spends cost of it (never more than the
// hold); cost 0 is a failed or free request. It returns what was spent.
func (a *accounts) settle(addr tx.Address, hold, cost tx.Amount, prompt, completion uint32) tx.Amount {
	a.mu.Lock()
	defer a.mu.Unlock()
	x := a.acctLocked(addr)
	x.held -= hold
	cost = min(cost, hold)
	if cost > 0 || prompt+completion > 0 {
		x.spent += cost
		x.requests++
		x.prompt += uint64(prompt)
		x.completion += uint64(completion)
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
	return Usage{Account: addr.String(), Balance: x.available(), Held: x.held, Deposited: x.deposited, Spent: x.spent,
		Requests: x.requests, PromptTokens: x.prompt, CompletionTokens: x.completion}
}
