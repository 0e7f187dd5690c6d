package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/subnet"
	"github.com/deai-network/deai/internal/verify"
	"github.com/deai-network/deai/internal/wallet"
)

// hotkeyFlags are the flags both daemons share: the subnet, the hotkey and
// the node.
type hotkeyFlags struct {
	nf       nodeFlag
	netuid   uint16
	hotkey   string
	passFile string
	threads  int
}

func (f *hotkeyFlags) register(cmd *cobra.Command) {
	f.nf.register(cmd)
	cmd.Flags().Uint16Var(&f.netuid, "subnet", 0, "netuid of the subnet (required)")
	cmd.Flags().StringVar(&f.hotkey, "hotkey", "", "keystore key used as the hotkey (required)")
	cmd.Flags().IntVar(&f.threads, "threads", 1, "engine threads per generation")
	addPassphraseFlag(cmd, &f.passFile)
	_ = cmd.MarkFlagRequired("subnet")
	_ = cmd.MarkFlagRequired("hotkey")
}

// loadHotkey opens the hotkey from the keystore, with tx.go's devnet
// passphrase-file convention.
func (f *hotkeyFlags) loadHotkey(env *Env) (*wallet.Key, error) {
	ks, err := openKeystore(env)
	if err != nil {
		return nil, err
	}
	passFile := f.passFile
	if passFile == "" && os.Getenv(PassphraseEnv) == "" {
		if p := filepath.Join(env.Home, "config", f.hotkey+".passphrase"); fileExists(p) {
			passFile = p
		}
	}
	pass, err := env.readPassphrase(passphraseOpts{File: passFile, Prompt: fmt.Sprintf("Passphrase for hotkey %q", f.hotkey)})
	if err != nil {
		return nil, err
	}
	return ks.Load(f.hotkey, pass)
}

func newMinerCmd(env *Env) *cobra.Command {
	var (
		hf            hotkeyFlags
		model         string
		backend       string
		backendKey    string
		digest        string
		addr          string
		endpoint      string
		region        string
		maxConcurrent int
	)
	cmd := &cobra.Command{
		Use:   "miner --subnet N --hotkey K (--model PATH | --backend URL --model-digest HEX) --addr HOST:PORT",
		Short: "Serve a subnet's task as a miner",
		Long: `Run a subnet miner: register the hotkey on the subnet if needed (paying the
burn from the hotkey's balance), publish the endpoint and model digest, and
serve the OpenAI-compatible routes (/v1/completions, /v1/chat/completions,
/v1/embeddings, streaming included) from the built-in engine (--model) or by
proxying to any OpenAI-compatible server (--backend: vLLM, llama.cpp,
Ollama). Every request must be signed by a hotkey with stake on the subnet;
every response carries a receipt signed by the miner's hotkey. Ctrl-C stops
accepting requests and drains those in flight.`,
		Example: "  deai miner --subnet 1 --hotkey miner1 --model stories260K.gguf --addr 0.0.0.0:8091\n" +
			"  deai miner --subnet 1 --hotkey miner2 --backend http://127.0.0.1:8000 --model-digest <sha256> --addr 0.0.0.0:8092",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if (model == "") == (backend == "") {
				return errors.New("give exactly one of --model and --backend")
			}
			if backend != "" && digest == "" {
				return errors.New("--backend needs --model-digest: the sha256 of the model file the backend serves, as the subnet allows it")
			}
			if model != "" && digest != "" {
				return errors.New("--model-digest goes with --backend; with --model the digest is computed from the file")
			}
			log := slog.New(slog.NewTextHandler(env.Stderr, nil))
			key, err := hf.loadHotkey(env)
			if err != nil {
				return err
			}
			var handler struct {
				h      http.Handler
				digest string
			}
			if model != "" {
				eng, err := node.OpenSubnetEngine(node.SubnetEngineOptions{Path: model, Threads: hf.threads, MaxConcurrent: maxConcurrent, Logger: log})
				if err != nil {
					return err
				}
				defer eng.Close()
				handler.h, handler.digest = eng.Handler, eng.Digest
			} else {
				p, err := subnet.NewProxy(subnet.ProxyOptions{Base: backend, APIKey: backendKey})
				if err != nil {
					return err
				}
				handler.h, handler.digest = p, digest
			}
			cl, err := env.dial(ctx, hf.nf)
			if err != nil {
				return err
			}
			defer cl.Close()
			ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			m, err := subnet.NewMiner(subnet.MinerOptions{
				Netuid: hf.netuid, Key: key, Chain: subnet.NewLedgerChain(cl, key), Backend: handler.h,
				ModelDigest: handler.digest, Region: region, Listener: ln, Endpoint: endpoint,
				MaxConcurrent: maxConcurrent, Logger: log, Metrics: newRegistry(),
			})
			if err != nil {
				ln.Close()
				return err
			}
			fmt.Fprintf(env.Stderr, "miner %s on subnet %d listening on http://%s\n", key.Address(), hf.netuid, ln.Addr())
			return m.Run(ctx)
		},
	}
	hf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "GGUF model served with the built-in engine")
	f.StringVar(&backend, "backend", "", "base URL of an OpenAI-compatible server to proxy to (up to, not including, /v1)")
	f.StringVar(&backendKey, "backend-api-key", "", "API key sent to --backend as a bearer token")
	f.StringVar(&digest, "model-digest", "", "sha256 of the model file --backend serves (published on chain)")
	f.StringVar(&addr, "addr", "127.0.0.1:8091", "listen address")
	f.StringVar(&endpoint, "endpoint", "", "URL published on chain (default: http://<addr>)")
	f.StringVar(&region, "region", "", "region published on chain, e.g. eu-west")
	f.IntVar(&maxConcurrent, "max-concurrent", subnet.DefaultMaxConcurrent, "requests served at once; more get 503")
	return cmd
}

func newValidatorCmd(env *Env) *cobra.Command {
	var (
		hf          hotkeyFlags
		model       string
		challenges  int
		metricsAddr string
	)
	cmd := &cobra.Command{
		Use:   "validator --subnet N --hotkey K --model PATH",
		Short: "Grade a subnet's miners and set weights",
		Long: `Run a subnet validator: each epoch, derive challenges from the block hash and
the hotkey, query every serving miner concurrently with signed requests,
grade the answers (text generation: re-executed on --model and compared
exactly; embeddings: cosine similarity; plus latency and availability), keep
a moving average per UID, and set weights with commit-reveal. The hotkey
must be registered on the subnet with stake.

Its challenge answers' receipts are spot-checked at the subnet's audit
rate (drawn with a later block's hash) and a wrong one is disputed on the
ledger. It also sits on dispute committees: when a dispute against a miner draws
this validator (by stake, with the block hash as beacon), it re-executes
the disputed request on --model and votes guilty if the tokens differ from
the miner's receipt (see deai verify and docs/verification.md).`,
		Example: "  deai validator --subnet 1 --hotkey validator --model stories260K.gguf",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			log := slog.New(slog.NewTextHandler(env.Stderr, nil))
			key, err := hf.loadHotkey(env)
			if err != nil {
				return err
			}
			eng, err := node.OpenSubnetEngine(node.SubnetEngineOptions{Path: model, Threads: hf.threads, Logger: log})
			if err != nil {
				return err
			}
			defer eng.Close()
			cl, err := env.dial(ctx, hf.nf)
			if err != nil {
				return err
			}
			defer cl.Close()
			// The challenge answers' receipts are spot-checked like a
			// gateway's, and a wrong one disputed with this hotkey.
			aud, err := verify.NewAuditor(verify.AuditorOptions{Chain: cl, Reference: eng.Handler, Pinned: eng.Digest,
				Rate: verify.RateFromChain(cl, hf.netuid, time.Minute), Disputer: verify.NewLedgerDisputer(cl, key, hf.netuid, log), Logger: log})
			if err != nil {
				return err
			}
			vo := subnet.ValidatorOptions{
				Netuid: hf.netuid, Key: key, Chain: subnet.NewLedgerChain(cl, key), Reference: eng.Handler,
				ChallengesPerTempo: challenges, Logger: log, OnReceipt: aud.Observe,
			}
			if metricsAddr != "" {
				reg := newRegistry()
				vo.Metrics = reg
				if err := serveMetrics(ctx, metricsAddr, reg, env.Stderr); err != nil {
					return err
				}
			}
			v, err := subnet.NewValidator(vo)
			if err != nil {
				return err
			}
			voter, err := verify.NewVoter(verify.VoterOptions{Chain: cl, Key: key, Netuid: hf.netuid, Reference: eng.Handler, Logger: log})
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stderr, "validator %s on subnet %d (model digest %s); voting on its dispute committees\n", key.Address(), hf.netuid, eng.Digest)
			var wg sync.WaitGroup
			vctx, stop := context.WithCancel(ctx)
			wg.Go(func() { voter.Run(vctx) }) //nolint:errcheck // Run logs its failures and returns nil
			wg.Go(func() { aud.Run(vctx) })   //nolint:errcheck // Run logs its failures and returns nil
			err = v.Run(ctx)
			stop()
			wg.Wait()
			return err
		},
	}
	hf.register(cmd)
	cmd.Flags().StringVar(&model, "model", "", "GGUF model to re-execute challenges with (required)")
	cmd.Flags().IntVar(&challenges, "challenges", subnet.DefaultChallengesPerTempo, "challenges per epoch")
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", "", "serve Prometheus GET /metrics on this address (default: off)")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}
