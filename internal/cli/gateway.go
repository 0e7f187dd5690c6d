package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/agent"
	"github.com/deai-network/deai/internal/gateway"
	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/verify"
	"github.com/deai-network/deai/internal/wire"
)

func newGatewayCmd(env *Env) *cobra.Command {
	var (
		hf        hotkeyFlags
		addr      string
		region    string
		keysFile  string
		storePath string
		feeBps    int
		settle    time.Duration
		prices    []string
		hedge     time.Duration
		paych     bool
		redeem    time.Duration
		minDelay  uint64
		// spot checks
		verifyModel string
		minStakeStr string
	)
	cmd := &cobra.Command{
		Use:   "gateway --subnet N --hotkey K --addr HOST:PORT [--region R] [--keys FILE] [--paych]",
		Short: "Serve a subnet's miners as one OpenAI-compatible endpoint",
		Long: `Run an OpenAI-compatible gateway in front of a subnet's miners: GET /v1/models,
POST /v1/chat/completions, /v1/completions and /v1/embeddings, routed to
miners serving the subnet's pinned model digest, with retries, a circuit
breaker per miner and the miners' signed receipts in X-Deai-Receipt. The
hotkey signs every request to a miner and must be registered on the subnet
with stake. API keys come from --keys (lines "KEY ADDRESS", optionally
followed by per-key quotas: tokens_per_day=N, max_spend=AMOUNT, rpm=N,
streams=N; a key over its token quota or spend cap gets 429); an account
spends a prepaid balance, credited by POST /v1/deposits {"tx_hash": …} for a
transfer to the hotkey's address and debited per token at the model's
--price. Every
--settle-interval the gateway pays each miner what its verified receipts
earned, less --fee-bps, in one bank tx from the hotkey's account; the totals
are at GET /v1/gateway/settlements.

With --paych, a request without an API key may pay per call with
payment-channel vouchers (x402 v2, scheme deai-paych, as agent clients
send): it is answered 402 with PAYMENT-REQUIRED asking for its worst case
(max_tokens plus one token per body byte, at the model's price) less the
credit of the payer named in X-Deai-Payer, and retried with
PAYMENT-SIGNATURE carrying a voucher on an open channel to the hotkey's
address. A voucher is kept, and its amount credited to the channel's
payer, only when the request succeeds; the request is charged per token
as with a key, the rest stays the payer's credit, and the answer carries
the gateway's signed PAYMENT-RESPONSE (a trailer on streams). Kept
vouchers are recorded in --store and redeemed on chain every
--redeem-interval and at shutdown. GET /v1/models then needs no key;
GET /v1/usage still does (a voucher payer's account is in the store).

With --verify-model (the subnet's pinned model file), the gateway also
spot-checks its miners (proof of sampling): each verified answer's receipt
is drawn for audit at the subnet's audit_rate_ppm with the hash of a block
produced after the answer, the drawn ones are re-executed on the built-in
engine, and a receipt whose tokens differ is taken to the ledger as a
dispute (the hotkey pays the subnet's dispute bond). Sampled requests
without a seed get one, so every answer can be re-executed.`,
		Example: "  deai gateway --subnet 1 --hotkey gateway --addr 127.0.0.1:8080 --keys keys.txt --region eu-west\n" +
			"  deai gateway --subnet 1 --hotkey gateway --addr 127.0.0.1:8080 --paych --redeem-interval 1m",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if keysFile == "" && !paych {
				return errors.New("--keys or --paych is required: without API keys or vouchers nobody can use the gateway")
			}
			var keys map[string]tx.Address
			var quotas map[string]gateway.Quota
			if keysFile != "" {
				var err error
				if keys, quotas, err = gateway.LoadKeys(keysFile); err != nil {
					return err
				}
			}
			priceMap, err := gateway.ParsePrices(prices)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(env.Stderr, nil))
			key, err := hf.loadHotkey(env)
			if err != nil {
				return err
			}
			cl, err := env.dial(ctx, hf.nf)
			if err != nil {
				return err
			}
			defer cl.Close()
			if storePath == "" {
				storePath = filepath.Join(env.Home, "gateway", fmt.Sprintf("subnet-%d.jsonl", hf.netuid))
			}
			if err := os.MkdirAll(filepath.Dir(storePath), 0o700); err != nil {
				return fmt.Errorf("gateway store: %w", err)
			}
			st, err := gateway.OpenFileStore(storePath)
			if err != nil {
				return err
			}
			defer st.Close()
			var pay gateway.Payments
			var red *agent.Redeemer
			if paych {
				lc := agent.NewLedgerChain(cl, key)
				chainID, err := lc.ChainID(ctx)
				if err != nil {
					return fmt.Errorf("gateway payments: %w", err)
				}
				pw, err := node.GatewayPayments(ctx, node.GatewayPaymentsOptions{ChainID: chainID, Key: key.PrivateKey(), Channels: lc, Store: st,
					MinSettleDelay: minDelay, Logger: log})
				if err != nil {
					return err
				}
				pay = pw
				red = &agent.Redeemer{Paywall: pw.Paywall(), Chain: lc, Interval: redeem, Logger: log}
			}
			var aud *verify.Auditor
			var observe func(wire.Receipt, []byte)
			if verifyModel != "" {
				eng, err := node.OpenSubnetEngine(node.SubnetEngineOptions{Path: verifyModel, Threads: 1, Logger: log})
				if err != nil {
					return err
				}
				defer eng.Close()
				aud, err = verify.NewAuditor(verify.AuditorOptions{Chain: cl, Reference: eng.Handler, Pinned: eng.Digest,
					Rate: verify.RateFromChain(cl, hf.netuid, time.Minute), Disputer: verify.NewLedgerDisputer(cl, key, hf.netuid, log), Logger: log})
				if err != nil {
					return err
				}
				observe = aud.Observe
			}
			minStake, err := parseAmountFlag("min-miner-stake", minStakeStr)
			if err != nil {
				return err
			}
			g, err := gateway.New(gateway.Options{Key: key, Network: &gateway.LedgerNetwork{Client: cl, Netuids: []uint16{hf.netuid}, MinStake: minStake},
				Chain: cl, Keys: keys, Quotas: quotas, Payments: pay, Prices: priceMap, Region: region, Store: st, Logger: log, FeeBps: feeBps,
				SettleInterval: settle, HedgeAfter: hedge, Observe: observe, Metrics: newRegistry()})
			if err != nil {
				return err
			}
			if aud != nil {
				actx, stop := context.WithCancel(ctx)
				var wg sync.WaitGroup
				wg.Go(func() { aud.Run(actx) }) //nolint:errcheck // Run logs its failures and returns nil
				defer wg.Wait()
				defer stop()
			}
			ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			fmt.Fprintf(env.Stderr, "gateway for subnet %d on http://%s/v1 (deposits to %s)\n", hf.netuid, ln.Addr(), g.Address())
			if red == nil {
				return g.Run(ctx, ln)
			}
			// The redeemer outlives the drain, so that the vouchers of the
			// last requests are redeemed too.
			rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
			var wg sync.WaitGroup
			wg.Go(func() { red.Run(rctx) }) //nolint:errcheck // Run logs its failures and returns nil
			err = g.Run(ctx, ln)
			stop()
			wg.Wait()
			return err
		},
	}
	hf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	f.StringVar(&region, "region", "", "preferred miner region")
	f.StringVar(&keysFile, "keys", "", `API keys file: lines "KEY ADDRESS [tokens_per_day=N] [max_spend=AMOUNT] [rpm=N] [streams=N]"`)
	f.StringVar(&storePath, "store", "", "append-only log of deposits, charges and receipts (default <home>/gateway/subnet-N.jsonl)")
	f.IntVar(&feeBps, "fee-bps", 0, "the gateway's cut of every charge, in basis points; miners are paid the rest")
	f.DurationVar(&settle, "settle-interval", gateway.DefaultSettleInterval, "how often to pay the miners what they are owed (negative: never)")
	f.DurationVar(&hedge, "hedge-after", 0, "also send a non-streaming request to a second miner when the first has not answered within this; the first answer wins and only it is charged (0: off)")
	f.BoolVar(&paych, "paych", false, "also take payment-channel vouchers (x402 deai-paych) from requests without an API key")
	f.DurationVar(&redeem, "redeem-interval", 30*time.Second, "with --paych, how often to redeem the kept vouchers on chain (and once at shutdown)")
	f.Uint64Var(&minDelay, "min-settle-delay", 0, "with --paych, refuse channels that settle in fewer blocks than this")
	f.StringVar(&minStakeStr, "min-miner-stake", "0udeai", "route only to miners with at least this stake on their hotkey (what a proven cheat can lose)")
	f.StringVar(&verifyModel, "verify-model", "", "the subnet's pinned GGUF model: spot-check miners' receipts at the subnet's audit rate and dispute wrong answers")
	f.StringArrayVar(&prices, "price", nil, fmt.Sprintf("MODEL=AMOUNT_PER_TOKEN, such as stories260K=10udeai (repeatable; unlisted models cost %dudeai a token)", gateway.DefaultPrice))
	return cmd
}
