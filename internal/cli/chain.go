package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/config"
	dlog "github.com/deai-network/deai/internal/log"
	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/tx"
)

// chainFlags are the [chain] settings a command may override on its command
// line (flags > DEAI_* env > deai.toml > defaults).
type chainFlags struct {
	chainID   string
	blockTime time.Duration
	rpcAddr   string
	p2pAddr   string
	devFunds  string
}

func (f *chainFlags) register(cmd *cobra.Command) {
	d := config.Default().Chain
	cmd.Flags().StringVar(&f.chainID, "chain-id", d.ChainID, "chain id of a new chain")
	cmd.Flags().DurationVar(&f.blockTime, "block-time", d.BlockTime.Duration, "target block interval (CometBFT timeout_commit)")
	cmd.Flags().StringVar(&f.rpcAddr, "rpc-addr", d.RPCAddr, "CometBFT RPC listen address")
	cmd.Flags().StringVar(&f.p2pAddr, "p2p-addr", d.P2PAddr, "CometBFT P2P listen address")
	cmd.Flags().StringVar(&f.devFunds, "dev-funds", d.DevFunds, "genesis balance of the dev account")
}

// loadConfig reads the home's config with env overrides, then applies the
// flags the user set explicitly.
func (e *Env) loadConfig(cmd *cobra.Command, f *chainFlags) (config.Config, error) {
	c, err := config.Load(e.Home, os.LookupEnv)
	if err != nil {
		return c, err
	}
	if f != nil {
		fl := cmd.Flags()
		if fl.Changed("chain-id") {
			c.Chain.ChainID = f.chainID
		}
		if fl.Changed("block-time") {
			c.Chain.BlockTime.Duration = f.blockTime
		}
		if fl.Changed("rpc-addr") {
			c.Chain.RPCAddr = f.rpcAddr
		}
		if fl.Changed("p2p-addr") {
			c.Chain.P2PAddr = f.p2pAddr
		}
		if fl.Changed("dev-funds") {
			c.Chain.DevFunds = f.devFunds
		}
	}
	return c, c.Validate()
}

// loggers returns deai's logger and the one for CometBFT's records, both on
// stderr.
func (e *Env) loggers(c config.Config) (*slog.Logger, error) {
	return dlog.New(e.Stderr, c.Log.Level, c.Log.Format)
}

func newInitCmd(env *Env) *cobra.Command {
	var f chainFlags
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a node home: config, genesis, validator key and a funded dev account",
		Long: `Create a single-validator node home (default ~/.deai, or --home): deai.toml,
CometBFT's config and genesis, the validator and node keys, and a "dev" key in
the encrypted keystore, funded at genesis. The dev key is encrypted with
$DEAI_PASSPHRASE when set, else with a generated passphrase written to
config/dev.passphrase (mode 0600) for devnet convenience.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := env.loadConfig(cmd, &f)
			if err != nil {
				return err
			}
			res, err := node.Init(node.InitOptions{Home: env.Home, Config: c, DevPassphrase: []byte(os.Getenv(PassphraseEnv))})
			if err != nil {
				return err
			}
			return env.Print(res, func(w io.Writer) error {
				fmt.Fprintf(w, "initialized %s\n", res.Home)
				fmt.Fprintf(w, "  chain id    %s\n  node id     %s\n  rpc         %s\n", res.ChainID, res.NodeID, rpcURL(res.RPCAddr))
				fmt.Fprintf(w, "  dev key     %s  %s  (%s at genesis)\n", res.DevKey, res.DevAddress, res.DevBalance.DEAI())
				if res.DevPassphraseFile != "" {
					fmt.Fprintf(w, "  passphrase  %s\n", res.DevPassphraseFile)
				}
				return nil
			})
		},
	}
	f.register(cmd)
	return cmd
}

func newNodeCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "Run a ledger node"}
	var rpcAddr, metricsAddr string
	start := &cobra.Command{
		Use:   "start",
		Short: "Run CometBFT and the ledger in this process until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := env.loadConfig(cmd, nil)
			if err != nil {
				return err
			}
			log, err := env.loggers(c)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return node.Run(ctx, node.Options{Home: env.Home, Config: c, Logger: log, RPCAddr: rpcAddr}, func(n *node.Node) error {
				log.Info("node started", "home", env.Home, "node_id", n.NodeID(), "rpc", rpcURL(n.RPCAddr()), dlog.KeyHeight, n.Height())
				if metricsAddr == "" {
					return nil
				}
				reg := newRegistry()
				bm, err := chain.NewMetrics(reg)
				if err != nil {
					return err
				}
				go bm.Run(ctx, n.Client()) //nolint:errcheck // ends with ctx
				return serveMetrics(ctx, metricsAddr, reg, env.Stderr)
			})
		},
	}
	start.Flags().StringVar(&rpcAddr, "rpc-addr", "", "override the home's RPC listen address for this run")
	start.Flags().StringVar(&metricsAddr, "metrics-addr", "", "serve Prometheus metrics (block height, block interval, txs per block) at http://ADDR/metrics")
	cmd.AddCommand(start)
	return cmd
}

// upSummary is what `deai up` prints once the node commits blocks.
type upSummary struct {
	Home              string    `json:"home"`
	ChainID           string    `json:"chain_id"`
	NodeID            string    `json:"node_id"`
	RPC               string    `json:"rpc"`
	Height            int64     `json:"height"`
	DevKey            string    `json:"dev_key"`
	DevAddress        string    `json:"dev_address"`
	DevBalance        tx.Amount `json:"dev_balance"`
	DevPassphraseFile string    `json:"dev_passphrase_file,omitempty"`
	Initialized       bool      `json:"initialized_now"`
	// Network is everything else deai up started.
	Network node.UpInfo `json:"network"`
}

func newUpCmd(env *Env) *cobra.Command {
	var (
		f         chainFlags
		reset     bool
		exitAfter int64
		uo        node.UpOptions
		chainOnly bool
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the whole local network: a chain, a subnet with miners and a validator, a gateway, example agents",
		Long: `Start a complete deai network on this machine, in one process: a
single-validator chain (the home is initialized on first use, with a funded
dev account), a subnet serving the built-in model (--model, else the first
*.gguf in $DEAI_MODELS or <home>/models, else ../shared/models/stories260K.gguf;
without any, deai up says how to fetch one), three miners, a validator that
grades them, sits on dispute committees and spot-checks receipts, an
OpenAI-compatible gateway on 127.0.0.1:8080 (an API key funded from the dev
account, payment-channel vouchers, spot checks), and the example agents of
examples/agents when run from the repository root. It prints the endpoints,
the API key and ready-to-paste curl and OpenAI SDK snippets.

Ctrl-C stops everything; running deai up again resumes the same chain,
keys, subnet, gateway balance and agent state. --reset starts fresh.
--chain-only, --no-gateway and --no-agents choose what to start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if reset {
				if err := resetHome(env.Home); err != nil {
					return err
				}
				for _, d := range []string{"gateway", "agents"} {
					if err := os.RemoveAll(filepath.Join(env.Home, d)); err != nil {
						return err
					}
				}
			}
			created := false
			if !node.IsInitialized(env.Home) {
				c, err := env.loadConfig(cmd, &f)
				if err != nil {
					return err
				}
				if _, err := node.Init(node.InitOptions{Home: env.Home, Config: c, DevPassphrase: []byte(os.Getenv(PassphraseEnv))}); err != nil {
					return err
				}
				created = true
			}
			c, err := env.loadConfig(cmd, nil)
			if err != nil {
				return err
			}
			log, err := env.loggers(c)
			if err != nil {
				return err
			}
			runCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			uo.Home, uo.Config, uo.Logger, uo.DevPassphrase, uo.NoSubnet = env.Home, c, log, []byte(os.Getenv(PassphraseEnv)), chainOnly
			return node.Up(runCtx, uo, func(info node.UpInfo) error {
				s := upSummary{Home: env.Home, ChainID: info.ChainID, NodeID: info.NodeID, RPC: rpcURL(info.RPC), Height: info.Height, DevKey: node.DevKeyName,
					DevAddress: info.Dev.String(), DevBalance: info.DevBalance, Initialized: created, Network: info}
				if fi, err := os.Stat(node.DevPassphraseFile(env.Home)); err == nil && fi.Mode().IsRegular() {
					s.DevPassphraseFile = node.DevPassphraseFile(env.Home)
				}
				if err := env.Print(s, func(w io.Writer) error { return printUp(w, s) }); err != nil {
					return err
				}
				if exitAfter > 0 {
					go func() {
						t := time.NewTicker(100 * time.Millisecond)
						defer t.Stop()
						cl, err := env.dial(runCtx, nodeFlag{addr: info.RPC})
						if err != nil {
							cancel()
							return
						}
						defer cl.Close()
						for range t.C {
							st, err := cl.Status(runCtx)
							if err != nil || st.LatestHeight >= info.Height+exitAfter {
								cancel()
								return
							}
						}
					}()
				}
				return nil
			})
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&reset, "reset", false, "delete the home's chain data, keys, gateway store and agent state first, starting a new network")
	fl.Int64Var(&exitAfter, "exit-after-blocks", 0, "stop after this many more blocks once up (for scripts and tests); 0 runs until interrupted")
	fl.BoolVar(&chainOnly, "chain-only", false, "start only the chain (no subnet, miners, validator, gateway or agents)")
	fl.BoolVar(&uo.NoGateway, "no-gateway", false, "do not start the gateway (nor the agents, which use it)")
	fl.BoolVar(&uo.NoAgents, "no-agents", false, "do not start the example agents")
	fl.BoolVar(&uo.NoProvider, "no-provider", false, "do not start the compute provider")
	fl.StringVar(&uo.Model, "model", "", "GGUF model the subnet serves (default: found in $DEAI_MODELS, <home>/models or ../shared/models)")
	fl.IntVar(&uo.Miners, "miners", node.DefaultUpMiners, "miners to run")
	fl.StringVar(&uo.GatewayAddr, "gateway-addr", node.DefaultUpGatewayAddr, "the gateway's listen address")
	fl.StringVar(&uo.AgentsDir, "agents", "", "directory of the example agents (default examples/agents)")
	return cmd
}

// resetHome removes what init creates, refusing directories that do not look
// like a deai home.
func resetHome(home string) error {
	if _, err := os.Stat(home); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if !node.IsInitialized(home) {
		if _, err := os.Stat(config.Path(home)); err != nil {
			return fmt.Errorf("reset %s: not a deai home; refusing to delete it", home)
		}
	}
	for _, d := range []string{"config", "data", "keys"} {
		if err := os.RemoveAll(filepath.Join(home, d)); err != nil {
			return fmt.Errorf("reset %s: %w", home, err)
		}
	}
	return nil
}

func printUp(w io.Writer, s upSummary) error {
	state := "running"
	if s.Initialized {
		state = "initialized and running"
	}
	fmt.Fprintf(w, "deai is up (%s)\n\n", state)
	fmt.Fprintf(w, "  home        %s\n  chain id    %s\n  node id     %s\n  rpc         %s\n  height      %d\n", s.Home, s.ChainID, s.NodeID, s.RPC, s.Height)
	if s.DevAddress != "" {
		fmt.Fprintf(w, "  dev key     %s  %s  balance %s\n", s.DevKey, s.DevAddress, s.DevBalance.DEAI())
	}
	if s.DevPassphraseFile != "" {
		fmt.Fprintf(w, "  passphrase  %s\n", s.DevPassphraseFile)
	}
	nw := s.Network
	if nw.ModelHint != "" {
		fmt.Fprintf(w, "\n  model       none: %s\n", nw.ModelHint)
	}
	if nw.Netuid != 0 {
		fmt.Fprintf(w, "  subnet      %d serving %s (%s, digest %s…)\n", nw.Netuid, nw.ModelID, nw.Model, nw.ModelDigest[:min(16, len(nw.ModelDigest))])
		fmt.Fprintf(w, "  miners      %s\n", strings.Join(nw.Miners, " "))
		fmt.Fprintf(w, "  validator   %s (grades miners, votes on disputes, spot-checks receipts)\n", nw.Validator)
	}
	if nw.Gateway != "" {
		fmt.Fprintf(w, "  gateway     %s  (address %s; vouchers accepted)\n  api key     %s  (in %s)\n", nw.Gateway, nw.GatewayAddr, nw.APIKey, nw.APIKeyFile)
	}
	if nw.Explorer != "" {
		fmt.Fprintf(w, "  explorer    %s\n", nw.Explorer)
	}
	if nw.Metrics != "" {
		fmt.Fprintf(w, "  metrics     %s  (Prometheus: chain, miners, validator, gateway)\n", nw.Metrics)
	}
	if nw.Provider != "" {
		fmt.Fprintf(w, "  provider    %s  (%s runtime; address %s)\n", nw.Provider, nw.ProviderRuntime, nw.ProviderAddr)
	}
	if nw.ProviderHint != "" {
		fmt.Fprintf(w, "  provider    %s\n", nw.ProviderHint)
	}
	for _, a := range nw.Agents {
		fmt.Fprintf(w, "  agent       %s\n", a)
	}
	if nw.AgentsHint != "" {
		fmt.Fprintf(w, "  agents      %s\n", nw.AgentsHint)
	}
	fmt.Fprintf(w, "\nTry, in another terminal:\n  deai query balance %s\n  deai tx send --from dev --to <deai1…> --amount 1deai\n", s.DevAddress)
	if nw.Gateway != "" {
		fmt.Fprintf(w, "  deai subnet metagraph %d\n  deai agent log --agent pipeline\n", nw.Netuid)
		fmt.Fprintf(w, "\n  curl -s %s/chat/completions -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' \\\n", nw.Gateway, nw.APIKey)
		fmt.Fprintf(w, "    -d '{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],\"max_tokens\":32}'\n", nw.ModelID)
		fmt.Fprintf(w, "\nOpenAI Go SDK:\n  client := openai.NewClient(option.WithBaseURL(%q), option.WithAPIKey(%q))\n", nw.Gateway+"/", nw.APIKey)
		fmt.Fprintf(w, "  resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: %q,\n", nw.ModelID)
		fmt.Fprintf(w, "      Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(\"Once upon a time\")}})\n")
		fmt.Fprintf(w, "\nOpenAI Python SDK:\n  from openai import OpenAI\n  client = OpenAI(base_url=%q, api_key=%q)\n", nw.Gateway, nw.APIKey)
		fmt.Fprintf(w, "  print(client.chat.completions.create(model=%q, messages=[{\"role\": \"user\", \"content\": \"Once upon a time\"}]).choices[0].message.content)\n", nw.ModelID)
	}
	fmt.Fprintln(w, "\nCtrl-C stops everything; run deai up again to continue the same network.")
	return nil
}

// rpcURL turns CometBFT's tcp://host:port into an http URL.
func rpcURL(addr string) string {
	if rest, ok := strings.CutPrefix(addr, "tcp://"); ok {
		return "http://" + rest
	}
	return addr
}

// queryJSON runs an ABCI query and decodes its JSON answer, turning a
// non-zero code into an error with the app's message.
func queryJSON(ctx context.Context, c chain.Client, path string, v any) error {
	r, err := c.Query(ctx, path, nil)
	if err != nil {
		return fmt.Errorf("query %s: %w", path, err)
	}
	if r.Code != 0 {
		return &exitError{code: 1, err: fmt.Errorf("query %s: %s (code %d)", path, r.Log, r.Code)}
	}
	if err := json.Unmarshal(r.Value, v); err != nil {
		return fmt.Errorf("query %s: decode: %w", path, err)
	}
	return nil
}

func newTestnetCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{Use: "testnet", Short: "Local multi-validator networks"}
	var (
		n         int
		out       string
		chainID   string
		basePort  int
		blockTime time.Duration
		funds     string
	)
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Write N validator homes with one genesis and persistent peers",
		Long: `Write N validator homes DIR/node0 … DIR/node<N-1> sharing one genesis, each
listing the others as persistent peers on 127.0.0.1 (P2P port base+10i, RPC
base+10i+1) and holding its own funded dev key. Start each with
  deai node start --home DIR/nodeI`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			amt, err := tx.ParseAmount(funds)
			if err != nil {
				return fmt.Errorf("--funds: %w", err)
			}
			tn, err := node.InitTestnet(node.TestnetOptions{
				N: n, OutDir: out, ChainID: chainID, BasePort: basePort, BlockTime: blockTime, Funds: amt,
				Passphrase: []byte(os.Getenv(PassphraseEnv)),
			})
			if err != nil {
				return err
			}
			return env.Print(tn, func(w io.Writer) error {
				fmt.Fprintf(w, "testnet %s: %d validators in %s\n", tn.ChainID, len(tn.Nodes), out)
				for _, nd := range tn.Nodes {
					fmt.Fprintf(w, "  %s  rpc %s  p2p %s  dev %s\n", nd.Home, rpcURL(nd.RPCAddr), nd.P2PAddr, nd.DevAddress)
				}
				fmt.Fprintf(w, "start each with: deai node start --home %s/nodeI\n", out)
				return nil
			})
		},
	}
	initCmd.Flags().IntVar(&n, "validators", 4, "number of validators")
	initCmd.Flags().StringVar(&out, "out", "", "output directory (required)")
	initCmd.Flags().StringVar(&chainID, "chain-id", "deai-testnet", "chain id")
	initCmd.Flags().IntVar(&basePort, "base-port", chain.DefaultTestnetBasePort, "first P2P port")
	initCmd.Flags().DurationVar(&blockTime, "block-time", chain.DefaultTestnetBlockTime, "target block interval")
	initCmd.Flags().StringVar(&funds, "funds", "1000000deai", "genesis balance of each validator's dev key")
	_ = initCmd.MarkFlagRequired("out")
	cmd.AddCommand(initCmd)
	return cmd
}
