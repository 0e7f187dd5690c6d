package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/infer"
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
	cmd.AddCommand(ledgerCmd, newBenchInferCmd(env))
	return cmd
}

// inferBench is one llama-bench-style measurement.
type inferBench struct {
	Model     string  `json:"model"`
	Type      string  `json:"type"`
	SizeBytes int64   `json:"size_bytes"`
	Threads   int     `json:"threads"`
	Test      string  `json:"test"` // ppN (prompt processing) or tgN (generation)
	TokPerSec float64 `json:"tok_per_s"`
	StdDev    float64 `json:"stddev"`
}

func newBenchInferCmd(env *Env) *cobra.Command {
	var (
		models  []string
		threads []int
		pp, tg  int
		reps    int
	)
	cmd := &cobra.Command{
		Use:   "infer",
		Short: "Prompt-processing and generation tokens/s of the built-in engine (like llama-bench)",
		Long: `Measure the engine the way llama-bench does: ppN processes an N-token prompt
in one batch from position 0; tgN generates N tokens one at a time from BOS
(greedy). Each test runs --reps times after one warm-up, each time on a new
session from position 0 (its KV cache and buffers reused from the previous
one, as llama-bench reuses its context); the mean and standard deviation of tokens/s are printed, then the process's
peak resident memory (VmHWM) — run one model per process for a clean figure.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out []inferBench
			for _, path := range models {
				for _, th := range threads {
					rs, err := benchModel(cmd.Context(), path, th, pp, tg, reps)
					if err != nil {
						return err
					}
					out = append(out, rs...)
				}
			}
			rss := peakRSS()
			return env.Print(struct {
				Results      []inferBench `json:"results"`
				PeakRSSBytes int64        `json:"peak_rss_bytes"`
			}{out, rss}, func(w io.Writer) error {
				fmt.Fprintf(w, "%-28s %-8s %10s %7s %7s %18s\n", "model", "type", "size MiB", "threads", "test", "tok/s")
				for _, r := range out {
					fmt.Fprintf(w, "%-28s %-8s %10.2f %7d %7s %11.1f ± %5.1f\n", r.Model, r.Type, float64(r.SizeBytes)/(1<<20), r.Threads, r.Test, r.TokPerSec, r.StdDev)
				}
				fmt.Fprintf(w, "peak RSS %.1f MiB\n", float64(rss)/(1<<20))
				return nil
			})
		},
	}
	cmd.Flags().StringSliceVar(&models, "model", nil, "GGUF file(s) (required)")
	cmd.Flags().IntSliceVar(&threads, "threads", []int{1, 2}, "thread counts")
	cmd.Flags().IntVar(&pp, "pp", 128, "prompt tokens for the ppN test (0 skips it)")
	cmd.Flags().IntVar(&tg, "tg", 128, "generated tokens for the tgN test (0 skips it)")
	cmd.Flags().IntVar(&reps, "reps", 5, "repetitions per test")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

func benchModel(ctx context.Context, path string, threads, pp, tg, reps int) ([]inferBench, error) {
	if reps < 1 {
		return nil, fmt.Errorf("--reps %d: want at least 1", reps)
	}
	m, err := infer.Load(path, infer.Options{Threads: threads})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	info := m.Info()
	typ := strings.Join(info.TensorTypeNames(), "+")
	if n := pp + tg; n > m.ContextLength() {
		return nil, fmt.Errorf("%s: pp %d + tg %d exceeds the context of %d", path, pp, tg, m.ContextLength())
	}
	base := inferBench{Model: filepath.Base(path), Type: typ, SizeBytes: info.FileSize, Threads: threads}
	var out []inferBench
	run := func(test string, n int, once func(s *infer.Session) error) error {
		var rates []float64
		for i := 0; i <= reps; i++ { // the first run warms up and is dropped
			if err := ctx.Err(); err != nil {
				return err
			}
			s := m.NewSession()
			start := time.Now()
			err := once(s)
			el := time.Since(start)
			s.Close()
			if err != nil {
				return err
			}
			if i > 0 {
				rates = append(rates, float64(n)/el.Seconds())
			}
		}
		mean, sd := meanSD(rates)
		r := base
		r.Test, r.TokPerSec, r.StdDev = test, mean, sd
		out = append(out, r)
		return nil
	}
	vocab := m.VocabSize()
	if pp > 0 {
		prompt := make([]int, pp)
		for i := range prompt {
			prompt[i] = 3 + (i*37)%max(vocab-3, 1)
		}
		if err := run(fmt.Sprintf("pp%d", pp), pp, func(s *infer.Session) error {
			_, err := s.Prefill(prompt, 0)
			return err
		}); err != nil {
			return nil, err
		}
	}
	if tg > 0 {
		bos := max(m.Tokenizer().BOS(), 0)
		if err := run(fmt.Sprintf("tg%d", tg), tg, func(s *infer.Session) error {
			tok := bos
			for pos := 0; pos < tg; pos++ {
				l, err := s.Forward(tok, pos)
				if err != nil {
					return err
				}
				tok = argmaxF32(l)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func argmaxF32(l []float32) int {
	best := 0
	for i, v := range l {
		if v > l[best] {
			best = i
		}
	}
	return best
}

func meanSD(xs []float64) (float64, float64) {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	if len(xs) < 2 {
		return mean, 0
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

// peakRSS is the process's peak resident set (VmHWM) in bytes, or 0 where
// /proc is not available.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}
