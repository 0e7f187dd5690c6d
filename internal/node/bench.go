package node

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/config"
	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

// BenchOptions configures `deai bench ledger`.
type BenchOptions struct {
	Mode      string        // "inproc" (mempool of the in-process node) or "rpc" (HTTP JSON-RPC)
	Senders   int           // concurrent accounts, each submitting in nonce order
	Txs       int           // total signed transfers to submit
	BlockTime time.Duration // CometBFT timeout_commit for the run
	RPCAddr   string        // RPC listen address of the temporary node
	P2PAddr   string
	Dir       string // temporary home; "" creates one under os.TempDir and removes it
}

// BenchResult is what one run measured.
type BenchResult struct {
	Mode         string        `json:"mode"`
	Senders      int           `json:"senders"`
	Submitted    int           `json:"submitted"`
	Committed    int           `json:"committed"`
	Failed       int           `json:"failed"`
	Blocks       int           `json:"blocks"`
	Duration     time.Duration `json:"duration_ns"`
	TPS          float64       `json:"tps"`
	LatencyP50   time.Duration `json:"latency_p50_ns"`
	LatencyP99   time.Duration `json:"latency_p99_ns"`
	MaxBlockTxs  int           `json:"max_block_txs"`
	SupplyIntact bool          `json:"supply_conserved"`
}

// BenchLedger starts a fresh single-validator chain whose genesis funds
// Senders accounts, pre-signs Txs transfers, submits them concurrently and
// measures committed transfers per second and submit→commit latency, from
// the first submission to the block holding the last tx.
func BenchLedger(ctx context.Context, o BenchOptions) (BenchResult, error) {
	if o.Senders < 1 || o.Txs < o.Senders {
		return BenchResult{}, fmt.Errorf("bench: want senders ≥ 1 and txs ≥ senders, got %d and %d", o.Senders, o.Txs)
	}
	if o.Mode != "inproc" && o.Mode != "rpc" {
		return BenchResult{}, fmt.Errorf("bench: mode %q: want inproc or rpc", o.Mode)
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "deai-bench-")
		if err != nil {
			return BenchResult{}, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	keys := make([]ed25519.PrivateKey, o.Senders)
	g := ledger.DefaultGenesis("deai-bench")
	for i := range keys {
		var seed [32]byte
		binary.BigEndian.PutUint64(seed[:], uint64(i)+1)
		k, err := wallet.FromSeed(seed[:])
		if err != nil {
			return BenchResult{}, err
		}
		keys[i] = k.PrivateKey()
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: k.Address(), Balance: 1_000_000 * tx.UnitsPerDEAI})
	}
	appState, err := g.JSON()
	if err != nil {
		return BenchResult{}, err
	}
	c := config.Default()
	c.Chain.ChainID = "deai-bench"
	if o.BlockTime > 0 {
		c.Chain.BlockTime.Duration = o.BlockTime
	}
	if o.RPCAddr != "" {
		c.Chain.RPCAddr = o.RPCAddr
	}
	if o.P2PAddr != "" {
		c.Chain.P2PAddr = o.P2PAddr
	}
	if err := config.Save(dir, c); err != nil {
		return BenchResult{}, err
	}
	if _, err := chain.InitHome(chain.HomeOptions{
		Home: dir, ChainID: c.Chain.ChainID, AppState: appState, BlockTime: c.Chain.BlockTime.Duration,
		RPCAddr: c.Chain.RPCAddr, P2PAddr: c.Chain.P2PAddr,
	}); err != nil {
		return BenchResult{}, err
	}

	// Pre-sign: signing is the client's cost, not the ledger's.
	params := ledger.DefaultParams()
	per := o.Txs / o.Senders
	txs := make([][][]byte, o.Senders)
	hashes := make(map[string]int, per*o.Senders)
	sink := keys[0].Public().(ed25519.PublicKey)
	to := tx.AddressFromPubKey(sink)
	for s := range txs {
		txs[s] = make([][]byte, per)
		for n := range per {
			t, err := tx.Transfer(keys[s], c.Chain.ChainID, uint64(n), params.MinFee, to, 1)
			if err != nil {
				return BenchResult{}, err
			}
			raw, err := t.Encode()
			if err != nil {
				return BenchResult{}, err
			}
			txs[s][n] = raw
			hashes[string(chain.TxHash(raw))] = s*per + n
		}
	}
	total := per * o.Senders

	n, err := Start(ctx, Options{Home: dir, Config: c, Configure: func(cc *cmtcfg.Config) {
		cc.Mempool.Size = total + 1000
		cc.Mempool.MaxTxsBytes = int64(total+1000) * 1024
		cc.Mempool.CacheSize = total + 1000
	}})
	if err != nil {
		return BenchResult{}, err
	}
	defer n.Stop()
	var cl chain.Client = n.Client()
	if o.Mode == "rpc" {
		rc, err := chain.Dial(ctx, n.RPCAddr())
		if err != nil {
			return BenchResult{}, err
		}
		defer rc.Close()
		cl = rc
	}
	if err := n.WaitHeight(ctx, 1); err != nil {
		return BenchResult{}, err
	}

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := n.Client().Subscribe(sctx, chain.QueryNewBlock)
	if err != nil {
		return BenchResult{}, err
	}
	submitted := make([]time.Time, total)
	var mu sync.Mutex // guards submitted reads by the collector
	res := BenchResult{Mode: o.Mode, Senders: o.Senders, Submitted: total}
	lat := make([]time.Duration, 0, total)
	done := make(chan struct{})
	var last time.Time
	go func() {
		defer close(done)
		for ev := range events {
			if ev.Block == nil {
				continue
			}
			now := time.Now()
			if len(ev.TxResults) > 0 {
				res.Blocks++
				res.MaxBlockTxs = max(res.MaxBlockTxs, len(ev.TxResults))
			}
			mu.Lock()
			for _, r := range ev.TxResults {
				i, ok := hashes[string(r.Hash)]
				if !ok {
					continue
				}
				if r.Code != 0 {
					res.Failed++
				} else {
					res.Committed++
				}
				lat = append(lat, now.Sub(submitted[i]))
			}
			mu.Unlock()
			if res.Committed+res.Failed >= total {
				last = now
				return
			}
		}
	}()

	start := time.Now()
	var wg sync.WaitGroup
	errc := make(chan error, o.Senders)
	for s := range o.Senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, raw := range txs[s] {
				for {
					mu.Lock()
					submitted[s*per+i] = time.Now()
					mu.Unlock()
					r, err := cl.BroadcastSync(sctx, raw)
					if errors.Is(err, chain.ErrMempoolFull) {
						time.Sleep(5 * time.Millisecond)
						continue
					}
					if err != nil {
						errc <- err
						return
					}
					if r.Code != 0 {
						errc <- fmt.Errorf("sender %d tx %d rejected: %s (code %d)", s, i, r.Log, r.Code)
						return
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return res, err
	}
	select {
	case <-done:
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(2 * time.Minute):
		return res, fmt.Errorf("bench: only %d of %d txs committed after 2 minutes", res.Committed+res.Failed, total)
	}
	res.Duration = last.Sub(start)
	res.TPS = float64(res.Committed) / res.Duration.Seconds()
	slices.Sort(lat)
	res.LatencyP50 = lat[len(lat)/2]
	res.LatencyP99 = lat[len(lat)*99/100]
	var sup ledger.Supply
	if err := queryInto(ctx, n.Client(), "/supply", &sup); err != nil {
		return res, err
	}
	res.SupplyIntact = sup.Conserved()
	return res, nil
}
