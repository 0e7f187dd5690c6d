// Package abciapptest runs the real ledger behind the in-memory chain twin
// (chaintest) for tests: genesis with funded accounts, the ledger modules a
// test needs, and a chain.Client that commits every tx in its own block.
// It is imported only by tests.
package abciapptest

import (
	"encoding/json"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/deai-network/deai/internal/abciapp"
	"github.com/deai-network/deai/internal/chain/chaintest"
	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/tx"
)

// Balance is what each funded account holds at genesis.
const Balance = 1000 * tx.UnitsPerDEAI

// Account is anything with an address: a *wallet.Key, for instance.
type Account interface{ Address() tx.Address }

// Twin starts the ledger with modules (bank is always there) on chain id
// chaintest.DefaultChainID, each funded account holding Balance, in
// chaintest's Immediate mode; it is closed when tb ends.
func Twin(tb testing.TB, modules []ledger.Module, funded ...Account) *chaintest.Client {
	tb.Helper()
	return New(tb, Options{Modules: modules, Funded: funded})
}

// Options configure New.
type Options struct {
	Modules []ledger.Module
	Funded  []Account // each holds Balance at genesis
	// Now gives each block's time (default: chaintest's deterministic
	// clock, genesis + height × its block step). Tests that check
	// wall-clock signatures, such as miners' receipts, pass time.Now.
	Now func() time.Time
}

// New is Twin with every option.
func New(tb testing.TB, o Options) *chaintest.Client {
	tb.Helper()
	g := ledger.DefaultGenesis(chaintest.DefaultChainID)
	for _, a := range o.Funded {
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: a.Address(), Balance: Balance})
	}
	app, err := abciapp.New(abciapp.Options{DB: dbm.NewMemDB(), Modules: o.Modules})
	if err != nil {
		tb.Fatal(err)
	}
	state, err := json.Marshal(g)
	if err != nil {
		tb.Fatal(err)
	}
	co := chaintest.Options{App: app, AppState: state, Mode: chaintest.Immediate, Now: o.Now}
	if o.Now != nil {
		co.GenesisTime = o.Now()
	}
	c, err := chaintest.New(tb.Context(), co)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// Accounts converts keys to Accounts, for a slice passed to Twin.
func Accounts[K Account](keys []K) []Account {
	out := make([]Account, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out
}
