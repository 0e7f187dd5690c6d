package abciapp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/deai-network/deai/internal/abciapp"
	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/tx"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "tcp://" + l.Addr().String()
}

// runNode starts a real CometBFT node from home over an App on the app DB
// in home/data, runs fn, and stops everything.
func runNode(t *testing.T, home string, connSync bool, fn func(c chain.Client)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := dbm.NewGoLevelDB("deai-app", filepath.Join(home, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	app, err := abciapp.New(abciapp.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	n, err := chain.NewNode(ctx, chain.NodeOptions{Home: home, App: app, LogLevel: "none", ConnSync: connSync})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := n.Stop(); err != nil {
			t.Error(err)
		}
	}()
	fn(n.Client())
}

// TestRealNode runs the App under a real CometBFT v0.38 node: genesis
// through InitChain, transfers through the mempool and consensus, queries
// through ABCI, and a restart from the same home (handshake, Info).
func TestRealNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real CometBFT node; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	home := t.TempDir()
	g := ledger.DefaultGenesis("deai-node-test")
	g.Accounts = []ledger.GenesisAccount{{Address: addr(0), Balance: 1000 * tx.UnitsPerDEAI}}
	appState, _ := g.JSON()
	if _, err := chain.InitHome(chain.HomeOptions{Home: home, ChainID: "deai-node-test", AppState: appState,
		BlockTime: 50 * time.Millisecond, RPCAddr: freeAddr(t), P2PAddr: freeAddr(t)}); err != nil {
		t.Fatal(err)
	}
	send := func(nonce uint64, amt tx.Amount) []byte {
		x, err := tx.Transfer(key(0), "deai-node-test", nonce, fee, addr(1), amt)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := x.Encode()
		return b
	}
	var balance []byte
	runNode(t, home, true, func(c chain.Client) {
		for n := uint64(0); n < 3; n++ {
			r, err := c.BroadcastCommit(ctx, send(n, 1_000_000))
			if err != nil || !r.OK() {
				t.Fatalf("tx %d: %+v %v", n, r, err)
			}
		}
		r, err := c.BroadcastSync(ctx, send(1, 5))
		if err != nil || r.Code != abciapp.CodeBadNonce || r.Codespace != abciapp.Codespace {
			t.Fatalf("replay: %+v %v", r, err)
		}
		q, err := c.Query(ctx, "/balance/"+addr(1).String(), nil)
		if err != nil || q.Code != 0 {
			t.Fatalf("query: %+v %v", q, err)
		}
		balance = q.Value
		var s ledger.Supply
		q, _ = c.Query(ctx, "/supply", nil)
		if err := json.Unmarshal(q.Value, &s); err != nil || !s.Conserved() || s.Burned != 3*fee {
			t.Fatalf("supply %s", q.Value)
		}
	})
	if want := fmt.Sprintf(`"balance":"%d"`, 3_000_000); !json.Valid(balance) || !strings.Contains(string(balance), want) {
		t.Fatalf("balance %s, want %s", balance, want)
	}
	// Restart from the same home: the handshake finds the App at the
	// store's height, and state carries on.
	runNode(t, home, false, func(c chain.Client) {
		q, err := c.Query(ctx, "/balance/"+addr(1).String(), nil)
		if err != nil || string(q.Value) != string(balance) {
			t.Fatalf("after restart: %s %v", q.Value, err)
		}
		r, err := c.BroadcastCommit(ctx, send(3, 1))
		if err != nil || !r.OK() {
			t.Fatalf("tx after restart: %+v %v", r, err)
		}
	})
}
