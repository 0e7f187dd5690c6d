package chaintest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/chain"
)

// Fixture tells RunConformance how to exercise a particular ABCI app.
type Fixture struct {
	// Tx returns a valid tx, distinct for each i, that PrepareProposal
	// keeps unchanged.
	Tx func(i int) []byte
	// BadTx is refused by CheckTx with a non-zero code.
	BadTx []byte
	// Query returns the query that reads tx's effect and the value it
	// must return once tx is committed.
	Query func(tx []byte) (path string, data, want []byte)
	// TxEventQuery returns a subscription query that matches tx i's Tx
	// event and no other tx's.
	TxEventQuery func(i int) string
}

// KVStoreFixture drives CometBFT's example kvstore app. prefix keeps keys
// distinct across runs against the same state.
func KVStoreFixture(prefix string) Fixture {
	key := func(i int) string { return fmt.Sprintf("%s-k%d", prefix, i) }
	return Fixture{
		Tx:    func(i int) []byte { return []byte(fmt.Sprintf("%s=v%d", key(i), i)) },
		BadTx: []byte("no-separator"),
		Query: func(tx []byte) (string, []byte, []byte) {
			k, v, _ := bytes.Cut(tx, []byte("="))
			return "", k, v
		},
		TxEventQuery: func(i int) string { return fmt.Sprintf("tm.event='Tx' AND app.key='%s'", key(i)) },
	}
}

// conformanceTimeout bounds every wait of the suite, so that a broken
// client fails the test instead of hanging it.
const conformanceTimeout = 60 * time.Second

// RunConformance checks that c behaves as every chain.Client must: the
// in-process client, the RPC client and the twin all pass it. chainID is
// the chain c talks to. The suite commits new txs; run it on a chain whose
// state may grow.
func RunConformance(t *testing.T, c chain.Client, chainID string, f Fixture) {
	var next atomic.Int64
	tx := func() (int, []byte) {
		i := int(next.Add(1))
		return i, f.Tx(i)
	}
	ctxFor := func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), conformanceTimeout)
		t.Cleanup(cancel)
		return ctx
	}

	t.Run("Status", func(t *testing.T) {
		s, err := c.Status(ctxFor(t))
		if err != nil {
			t.Fatal(err)
		}
		if s.ChainID != chainID || s.NodeID == "" || s.LatestHeight < 0 {
			t.Errorf("Status = chain %q node %q height %d, want chain %q, a node ID, height >= 0", s.ChainID, s.NodeID, s.LatestHeight, chainID)
		}
	})

	t.Run("BroadcastCommit", func(t *testing.T) {
		ctx := ctxFor(t)
		_, txb := tx()
		r, err := c.BroadcastCommit(ctx, txb)
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() || !bytes.Equal(r.Hash, chain.TxHash(txb)) {
			t.Fatalf("BroadcastCommit = code %d height %d hash %X, want code 0, a height, hash %X (log %q)", r.Code, r.Height, r.Hash, chain.TxHash(txb), r.Log)
		}
		b, err := c.Block(ctx, r.Height)
		if err != nil {
			t.Fatal(err)
		}
		if b.Height != r.Height || b.ChainID != chainID || len(b.Hash) == 0 || int(r.Index) >= len(b.Txs) || !bytes.Equal(b.Txs[r.Index], txb) {
			t.Errorf("Block(%d) = height %d chain %q, %d txs: does not hold the tx at index %d", r.Height, b.Height, b.ChainID, len(b.Txs), r.Index)
		}
		path, data, want := f.Query(txb)
		q, err := c.Query(ctx, path, data)
		if err != nil {
			t.Fatal(err)
		}
		if q.Code != 0 || !bytes.Equal(q.Value, want) || q.Height < r.Height {
			t.Errorf("Query after commit = code %d value %q height %d, want code 0 value %q height >= %d", q.Code, q.Value, q.Height, want, r.Height)
		}
		s, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.LatestHeight < r.Height || len(s.LatestAppHash) == 0 {
			t.Errorf("Status after commit = height %d app hash %X, want height >= %d and an app hash", s.LatestHeight, s.LatestAppHash, r.Height)
		}
	})

	t.Run("BroadcastSync", func(t *testing.T) {
		ctx := ctxFor(t)
		i, txb := tx()
		events, err := c.Subscribe(ctx, f.TxEventQuery(i))
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.BroadcastSync(ctx, txb)
		if err != nil {
			t.Fatal(err)
		}
		if diff := diffCheck(r, chain.CheckResult{Hash: chain.TxHash(txb)}); diff != "" {
			t.Fatalf("BroadcastSync: %s", diff)
		}
		ev := receive(ctx, t, events)
		if ev.Type != chain.EventTx || ev.Tx == nil || !bytes.Equal(ev.Tx.Hash, r.Hash) || ev.Tx.Height <= 0 || ev.Height != ev.Tx.Height {
			t.Fatalf("Tx event = %+v, want the tx's event", ev)
		}
		if len(ev.Events) == 0 {
			t.Errorf("Tx event has no app events; the query %q matched on them", f.TxEventQuery(i))
		}
	})

	t.Run("RejectedTx", func(t *testing.T) {
		ctx := ctxFor(t)
		for round := 0; round < 2; round++ { // a refused tx may be sent again
			r, err := c.BroadcastSync(ctx, f.BadTx)
			if err != nil {
				t.Fatalf("round %d: BroadcastSync(bad tx): %v", round, err)
			}
			if r.Code == 0 || !bytes.Equal(r.Hash, chain.TxHash(f.BadTx)) {
				t.Errorf("round %d: BroadcastSync(bad tx) = code %d hash %X, want a non-zero code and its hash", round, r.Code, r.Hash)
			}
			cr, err := c.BroadcastCommit(ctx, f.BadTx)
			if err != nil {
				t.Fatalf("round %d: BroadcastCommit(bad tx): %v", round, err)
			}
			if cr.Code != r.Code || cr.Height != 0 || cr.OK() {
				t.Errorf("round %d: BroadcastCommit(bad tx) = code %d height %d, want code %d height 0", round, cr.Code, cr.Height, r.Code)
			}
		}
	})

	t.Run("Duplicate", func(t *testing.T) {
		ctx := ctxFor(t)
		_, txb := tx()
		if _, err := c.BroadcastCommit(ctx, txb); err != nil {
			t.Fatal(err)
		}
		if _, err := c.BroadcastSync(ctx, txb); !errors.Is(err, chain.ErrTxInCache) {
			t.Errorf("BroadcastSync(committed tx) error = %v, want ErrTxInCache", err)
		}
		if _, err := c.BroadcastCommit(ctx, txb); !errors.Is(err, chain.ErrTxInCache) {
			t.Errorf("BroadcastCommit(committed tx) error = %v, want ErrTxInCache", err)
		}
	})

	t.Run("TooLarge", func(t *testing.T) {
		big := bytes.Repeat([]byte("x"), DefaultMaxTxBytes+1)
		if _, err := c.BroadcastSync(ctxFor(t), big); !errors.Is(err, chain.ErrTxTooLarge) {
			t.Errorf("BroadcastSync(%d bytes) error = %v, want ErrTxTooLarge", len(big), err)
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, txb := tx()
		if _, err := c.BroadcastCommit(ctx, txb); !errors.Is(err, context.Canceled) {
			t.Errorf("BroadcastCommit(canceled ctx) error = %v, want context.Canceled", err)
		}
		if _, err := c.BroadcastSync(ctx, txb); !errors.Is(err, context.Canceled) {
			t.Errorf("BroadcastSync(canceled ctx) error = %v, want context.Canceled", err)
		}
	})

	t.Run("ConcurrentCommits", func(t *testing.T) {
		ctx := ctxFor(t)
		const n = 24
		txs := make([][]byte, n)
		for k := range txs {
			_, txs[k] = tx()
		}
		results := make([]chain.TxResult, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for k := range txs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[k], errs[k] = c.BroadcastCommit(ctx, txs[k])
			}()
		}
		wg.Wait()
		for k, r := range results {
			if errs[k] != nil {
				t.Fatalf("tx %d: %v", k, errs[k])
			}
			if !r.OK() || !bytes.Equal(r.Hash, chain.TxHash(txs[k])) {
				t.Fatalf("tx %d: code %d height %d, want committed", k, r.Code, r.Height)
			}
			b, err := c.Block(ctx, r.Height)
			if err != nil {
				t.Fatal(err)
			}
			if int(r.Index) >= len(b.Txs) || !bytes.Equal(b.Txs[r.Index], txs[k]) {
				t.Errorf("tx %d: block %d index %d does not hold it", k, r.Height, r.Index)
			}
		}
	})

	t.Run("SubscribeNewBlock", func(t *testing.T) {
		ctx := ctxFor(t)
		blocks, err := c.Subscribe(ctx, chain.QueryNewBlock)
		if err != nil {
			t.Fatal(err)
		}
		_, txb := tx()
		r, err := c.BroadcastCommit(ctx, txb)
		if err != nil || !r.OK() {
			t.Fatalf("BroadcastCommit = %+v, %v", r, err)
		}
		var last int64
		for {
			ev := receive(ctx, t, blocks)
			if ev.Type != chain.EventNewBlock || ev.Block == nil || ev.Height != ev.Block.Height {
				t.Fatalf("NewBlock subscription delivered %+v", ev)
			}
			if last > 0 && ev.Height != last+1 {
				t.Fatalf("NewBlock heights went %d then %d", last, ev.Height)
			}
			last = ev.Height
			if len(ev.TxResults) != len(ev.Block.Txs) {
				t.Fatalf("block %d: %d tx results for %d txs", ev.Height, len(ev.TxResults), len(ev.Block.Txs))
			}
			if ev.Height < r.Height {
				continue
			}
			if ev.Height > r.Height {
				t.Fatalf("NewBlock skipped the tx's block %d", r.Height)
			}
			b, err := c.Block(ctx, ev.Height)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Hash, ev.Block.Hash) || !bytes.Equal(ev.Block.Txs[r.Index], txb) {
				t.Errorf("NewBlock event for %d: hash %X / tx %q, Block gives %X / want tx %q", ev.Height, ev.Block.Hash, ev.Block.Txs[r.Index], b.Hash, txb)
			}
			if !bytes.Equal(ev.TxResults[r.Index].Hash, r.Hash) || ev.TxResults[r.Index].Code != 0 {
				t.Errorf("NewBlock tx result = %+v, want the committed tx", ev.TxResults[r.Index])
			}
			return
		}
	})

	t.Run("SubscribeFilters", func(t *testing.T) {
		ctx := ctxFor(t)
		i, want := tx()
		_, other := tx()
		events, err := c.Subscribe(ctx, f.TxEventQuery(i))
		if err != nil {
			t.Fatal(err)
		}
		// Two subscribers on one query both get the event.
		events2, err := c.Subscribe(ctx, f.TxEventQuery(i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.BroadcastCommit(ctx, other); err != nil {
			t.Fatal(err)
		}
		if _, err := c.BroadcastCommit(ctx, want); err != nil {
			t.Fatal(err)
		}
		for _, ch := range []<-chan chain.Event{events, events2} {
			ev := receive(ctx, t, ch)
			if ev.Tx == nil || !bytes.Equal(ev.Tx.Hash, chain.TxHash(want)) {
				t.Errorf("filtered subscription delivered %+v first, want only tx %d", ev.Tx, i)
			}
		}
	})

	t.Run("SubscribeBadQuery", func(t *testing.T) {
		if _, err := c.Subscribe(ctxFor(t), "tm.event = = 'Tx"); err == nil {
			t.Error("Subscribe(malformed query) succeeded")
		}
	})

	t.Run("SubscribeEndsWithContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctxFor(t))
		ch, err := c.Subscribe(ctx, chain.QueryNewBlock)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		wait := ctxFor(t)
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					return
				}
			case <-wait.Done():
				t.Fatal("subscription channel not closed after its context ended")
			}
		}
	})

	t.Run("Block", func(t *testing.T) {
		ctx := ctxFor(t)
		latest, err := c.Block(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if latest.Height <= 0 || len(latest.Hash) == 0 || latest.Time.IsZero() {
			t.Errorf("Block(0) = height %d hash %X time %v, want the latest block", latest.Height, latest.Hash, latest.Time)
		}
		if _, err := c.Block(ctx, latest.Height+1_000_000); !errors.Is(err, chain.ErrHeightUnavailable) {
			t.Errorf("Block(far future) error = %v, want ErrHeightUnavailable", err)
		}
		if latest.Height > 1 {
			prev, err := c.Block(ctx, latest.Height-1)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(latest.LastBlockHash, prev.Hash) {
				t.Errorf("block %d's LastBlockHash %X != block %d's hash %X", latest.Height, latest.LastBlockHash, prev.Height, prev.Hash)
			}
		}
	})

	t.Run("QueryMissing", func(t *testing.T) {
		_, txb := tx() // never sent
		path, data, _ := f.Query(txb)
		q, err := c.Query(ctxFor(t), path, data)
		if err != nil {
			t.Fatal(err)
		}
		if len(q.Value) != 0 {
			t.Errorf("Query(unsent key) value = %q, want none", q.Value)
		}
	})
}

func receive(ctx context.Context, t *testing.T, ch <-chan chain.Event) chain.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed early")
		}
		return ev
	case <-ctx.Done():
		t.Fatalf("no event: %v", ctx.Err())
	}
	return chain.Event{}
}

func diffCheck(got, want chain.CheckResult) string {
	var d []string
	if got.Code != want.Code {
		d = append(d, fmt.Sprintf("code %d, want %d (log %q)", got.Code, want.Code, got.Log))
	}
	if !bytes.Equal(got.Hash, want.Hash) {
		d = append(d, fmt.Sprintf("hash %X, want %X", got.Hash, want.Hash))
	}
	return strings.Join(d, "; ")
}
