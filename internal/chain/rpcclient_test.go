package chain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/google/go-cmp/cmp"
)

// fakeChain is a node seen through rpcAPI and eventSource: blocks by height,
// and block subscriptions the test feeds and drops by hand.
type fakeChain struct {
	mu     sync.Mutex // guards blocks and subs
	blocks map[int64]cmttypes.Txs
	subs   []chan Event
	subbed chan struct{} // receives on every new subscription
}

func newFakeChain() *fakeChain {
	return &fakeChain{blocks: map[int64]cmttypes.Txs{}, subbed: make(chan struct{}, 10)}
}

func (f *fakeChain) subscribe(ctx context.Context, query string) (<-chan Event, error) {
	if query != QueryNewBlock {
		return nil, fmt.Errorf("unexpected query %q", query)
	}
	ch := make(chan Event, 10)
	f.mu.Lock()
	f.subs = append(f.subs, ch)
	f.mu.Unlock()
	f.subbed <- struct{}{}
	return ch, nil
}

// addBlock records a block; publish sends it on the live subscription.
func (f *fakeChain) addBlock(h int64, txs ...string) Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ts cmttypes.Txs
	for _, tx := range txs {
		ts = append(ts, cmttypes.Tx(tx))
	}
	f.blocks[h] = ts
	res := make([]*abci.ExecTxResult, len(ts))
	for i := range res {
		res[i] = &abci.ExecTxResult{Log: "ok"}
	}
	return Event{Type: EventNewBlock, Height: h, TxResults: blockTxResults(ts, h, res)}
}

func (f *fakeChain) publish(ev Event) {
	f.mu.Lock()
	ch := f.subs[len(f.subs)-1]
	f.mu.Unlock()
	ch <- ev
}

// drop closes the live subscription, as a slow reader or reconnect would.
func (f *fakeChain) drop() {
	f.mu.Lock()
	close(f.subs[len(f.subs)-1])
	f.mu.Unlock()
}

func (f *fakeChain) Status(context.Context) (*ctypes.ResultStatus, error) {
	return nil, errors.New("not used")
}

func (f *fakeChain) ABCIQuery(context.Context, string, cmtbytes.HexBytes) (*ctypes.ResultABCIQuery, error) {
	return nil, errors.New("not used")
}

func (f *fakeChain) Block(_ context.Context, h *int64) (*ctypes.ResultBlock, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	txs, ok := f.blocks[*h]
	if !ok {
		return nil, fmt.Errorf("height %d must be less than or equal to the current blockchain height", *h)
	}
	return &ctypes.ResultBlock{Block: &cmttypes.Block{Header: cmttypes.Header{Height: *h}, Data: cmttypes.Data{Txs: txs}}}, nil
}

func (f *fakeChain) BlockResults(_ context.Context, h *int64) (*ctypes.ResultBlockResults, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	res := make([]*abci.ExecTxResult, len(f.blocks[*h]))
	for i := range res {
		res[i] = &abci.ExecTxResult{Log: "ok"}
	}
	return &ctypes.ResultBlockResults{Height: *h, TxsResults: res}, nil
}

// A commit whose block was missed by the subscription (it dropped and came
// back one block later) is still reported: the gap is read back by height.
func TestCommitWaitersSurviveDroppedSubscription(t *testing.T) {
	f := newFakeChain()
	accepted := make(chan []byte, 1)
	check := func(_ context.Context, tx []byte) (CheckResult, error) {
		accepted <- tx
		return CheckResult{Hash: TxHash(tx)}, nil
	}
	c, err := newRPCClient(f, check, f, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	<-f.subbed

	f.publish(f.addBlock(1, "a=1"))
	type result struct {
		r   TxResult
		err error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() {
		r, err := c.BroadcastCommit(ctx, []byte("b=2"))
		done <- result{r, err}
	}()
	<-accepted
	f.drop()   // block 2, holding the tx, is never published
	<-f.subbed // the client resubscribed
	f.addBlock(2, "x=0", "b=2")
	f.publish(f.addBlock(3, "c=3"))

	got := <-done
	if got.err != nil {
		t.Fatal(got.err)
	}
	want := TxResult{Hash: TxHash([]byte("b=2")), Height: 2, Index: 1, Log: "ok"}
	if diff := cmp.Diff(want, got.r); diff != "" {
		t.Errorf("BroadcastCommit (-want +got):\n%s", diff)
	}
	if n := c.numWaiters(); n != 0 {
		t.Errorf("%d waiters left", n)
	}
}

func TestBroadcastCommitErrors(t *testing.T) {
	f := newFakeChain()
	checkErr := errors.New("connection refused")
	var reject bool
	check := func(_ context.Context, tx []byte) (CheckResult, error) {
		if reject {
			return CheckResult{Hash: TxHash(tx), Code: 7, Log: "bad nonce"}, nil
		}
		return CheckResult{}, checkErr
	}
	c, err := newRPCClient(f, check, f, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.BroadcastCommit(ctx, []byte("t")); !errors.Is(err, checkErr) {
		t.Errorf("transport error: %v", err)
	}
	reject = true
	r, err := c.BroadcastCommit(ctx, []byte("t"))
	if err != nil || r.Code != 7 || r.Height != 0 || r.Log != "bad nonce" {
		t.Errorf("rejected tx = %+v, %v", r, err)
	}
	if n := c.numWaiters(); n != 0 {
		t.Errorf("%d waiters left after errors", n)
	}
	c.close()
	if _, err := c.BroadcastCommit(ctx, []byte("t")); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v, want ErrClosed", err)
	}
}

func TestMapMempoolError(t *testing.T) {
	tests := []struct {
		msg  string
		want error
	}{
		{"RPC error -32603 - Internal error: tx already exists in cache", ErrTxInCache},
		{"Tx too large. Max size is 1048576, but got 1048577", ErrTxTooLarge},
		{"mempool is full: number of txs 5000 (max: 5000)", ErrMempoolFull},
		{"mempool is still rechecking after a new committed block, so it is considered as full", ErrMempoolFull},
	}
	for _, tt := range tests {
		if err := mapMempoolError(errors.New(tt.msg)); !errors.Is(err, tt.want) {
			t.Errorf("mapMempoolError(%q) = %v, want %v", tt.msg, err, tt.want)
		}
	}
	other := errors.New("dial tcp: connection refused")
	if err := mapMempoolError(other); !errors.Is(err, other) || errors.Is(err, ErrMempoolFull) {
		t.Errorf("mapMempoolError(other) = %v", err)
	}
}
