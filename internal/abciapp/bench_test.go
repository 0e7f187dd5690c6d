package abciapp_test

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/deai-network/deai/internal/abciapp"
	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/tx"
)

const benchSenders = 1000

var benchKeys = func() []ed25519.PrivateKey {
	ks := make([]ed25519.PrivateKey, benchSenders)
	for i := range ks {
		var seed [32]byte
		binary.BigEndian.PutUint64(seed[:], uint64(i)+1_000_000)
		ks[i] = ed25519.NewKeyFromSeed(seed[:])
	}
	return ks
}()

// benchTxs signs n transfers, round-robin over the senders with
// consecutive nonces, so they are valid in order.
func benchTxs(b *testing.B, n int) [][]byte {
	b.Helper()
	out := make([][]byte, n)
	to := addr(0)
	for i := range out {
		x, err := tx.Transfer(benchKeys[i%benchSenders], chainID, uint64(i/benchSenders), fee, to, 1)
		if err != nil {
			b.Fatal(err)
		}
		out[i], _ = x.Encode()
	}
	return out
}

func benchApp(b *testing.B, db dbm.DB) *abciapp.App {
	b.Helper()
	g := ledger.DefaultGenesis(chainID)
	for _, k := range benchKeys {
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: tx.AddressFromPubKey(k.Public().(ed25519.PublicKey)), Balance: 1e12})
	}
	gb, _ := g.JSON()
	app, err := abciapp.New(abciapp.Options{DB: db})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := app.InitChain(ctx, &abci.RequestInitChain{ChainId: chainID, AppStateBytes: gb}); err != nil {
		b.Fatal(err)
	}
	// Commit the genesis with an empty block so later blocks read from the DB.
	if _, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1, Time: time.Unix(1, 0)}); err != nil {
		b.Fatal(err)
	}
	if _, err := app.Commit(ctx, &abci.RequestCommit{}); err != nil {
		b.Fatal(err)
	}
	return app
}

// BenchmarkCheckTx measures mempool admission of a new signed transfer,
// signature verification included.
func BenchmarkCheckTx(b *testing.B) {
	for _, typ := range []abci.CheckTxType{abci.CheckTxType_New, abci.CheckTxType_Recheck} {
		b.Run(typ.String(), func(b *testing.B) {
			app := benchApp(b, dbm.NewMemDB())
			txs := benchTxs(b, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := abciapp.CPUNow()
			for i := 0; i < b.N; i++ {
				r, _ := app.CheckTx(ctx, &abci.RequestCheckTx{Tx: txs[i], Type: typ})
				if r.Code != 0 {
					b.Fatalf("tx %d: %s", i, r.Log)
				}
			}
			b.ReportMetric(float64((abciapp.CPUNow()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkFinalizeBlock measures FinalizeBlock plus Commit of 1000-tx
// blocks of signed transfers: "cached" when CheckTx saw the txs first (the
// normal case), "batch" when every signature is batch-verified in the block
// (a node that missed the txs in its mempool). ns/tx is per transfer.
func BenchmarkFinalizeBlock(b *testing.B) {
	const perBlock = 1000
	for _, backend := range []string{"memdb", "goleveldb"} {
		for _, cached := range []bool{true, false} {
			name := fmt.Sprintf("%s/batch", backend)
			if cached {
				name = fmt.Sprintf("%s/cached", backend)
			}
			b.Run(name, func(b *testing.B) {
				var db dbm.DB = dbm.NewMemDB()
				if backend == "goleveldb" {
					var err error
					if db, err = dbm.NewGoLevelDB("bench", b.TempDir()); err != nil {
						b.Fatal(err)
					}
					defer db.Close()
				}
				app := benchApp(b, db)
				txs := benchTxs(b, b.N*perBlock)
				b.ReportAllocs()
				b.ResetTimer()
				var cpu time.Duration
				for i := 0; i < b.N; i++ {
					blk := txs[i*perBlock : (i+1)*perBlock]
					if cached {
						b.StopTimer()
						for _, raw := range blk {
							app.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw})
						}
						b.StartTimer()
					}
					cpu0 := abciapp.CPUNow()
					res, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: int64(i + 2), Time: time.Unix(int64(i+2), 0), Txs: blk})
					if err != nil {
						b.Fatal(err)
					}
					if res.TxResults[perBlock-1].Code != 0 {
						b.Fatalf("block %d: %s", i, res.TxResults[perBlock-1].Log)
					}
					if _, err := app.Commit(ctx, &abci.RequestCommit{}); err != nil {
						b.Fatal(err)
					}
					cpu += abciapp.CPUNow() - cpu0
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perBlock), "ns/tx")
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*perBlock), "cpu-ns/tx")
			})
		}
	}
}
