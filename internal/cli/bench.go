package cli

import (
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/node"
)

func newBenchCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Benchmarks (results go in BENCHMARKS.md)"}
	var (
		modes     []string
		senders   int
		txs       int
		blockTime time.Duration
		rpcAddr   string
		p2pAddr   string
	)
	ledgerCmd := &cobra.Command{
		Use:   "ledger",
		Short: "Signed transfers per second through a fresh in-process chain, in process and over RPC",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var results []node.BenchResult
			for _, m := range modes {
				r, err := node.BenchLedger(cmd.Context(), node.BenchOptions{
					Mode: m, Senders: senders, Txs: txs, BlockTime: blockTime, RPCAddr: rpcAddr, P2PAddr: p2pAddr,
				})
				if err != nil {
					return fmt.Errorf("bench ledger (%s): %w", m, err)
				}
				results = append(results, r)
			}
			return env.Print(results, func(w io.Writer) error {
				fmt.Fprintf(w, "deai bench ledger: %d signed transfers, %d senders, block time %v, GOMAXPROCS %d\n", txs, senders, blockTime, runtime.GOMAXPROCS(0))
				fmt.Fprintf(w, "%-7s %10s %10s %8s %12s %12s %9s %s\n", "mode", "committed", "tx/s", "blocks", "p50", "p99", "max/blk", "supply")
				for _, r := range results {
					sup := "conserved"
					if !r.SupplyIntact {
						sup = "BROKEN"
					}
					fmt.Fprintf(w, "%-7s %10d %10.0f %8d %12v %12v %9d %s\n", r.Mode, r.Committed, r.TPS, r.Blocks,
						r.LatencyP50.Round(time.Millisecond), r.LatencyP99.Round(time.Millisecond), r.MaxBlockTxs, sup)
				}
				return nil
			})
		},
	}
	ledgerCmd.Flags().StringSliceVar(&modes, "mode", []string{"inproc", "rpc"}, "submission paths to measure: inproc, rpc")
	ledgerCmd.Flags().IntVar(&senders, "senders", 64, "concurrent sender accounts")
	ledgerCmd.Flags().IntVar(&txs, "txs", 40000, "signed transfers per mode")
	ledgerCmd.Flags().DurationVar(&blockTime, "block-time", 500*time.Millisecond, "block interval of the benchmark chain")
	ledgerCmd.Flags().StringVar(&rpcAddr, "rpc-addr", "tcp://127.0.0.1:26757", "RPC address of the benchmark node")
	ledgerCmd.Flags().StringVar(&p2pAddr, "p2p-addr", "tcp://127.0.0.1:26756", "P2P address of the benchmark node")
	cmd.AddCommand(ledgerCmd)
	return cmd
}
