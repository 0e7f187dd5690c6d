package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/config"
	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

// nodeFlag is --node: the RPC address of the node a client command talks to.
type nodeFlag struct{ addr string }

func (f *nodeFlag) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.addr, "node", "", "node RPC address (default: the home's [chain] rpc_addr, else tcp://127.0.0.1:26657)")
}

// dial connects to the node named by --node, or the home's configured one.
func (e *Env) dial(ctx context.Context, f nodeFlag) (*chain.RPCClient, error) {
	addr := f.addr
	if addr == "" {
		c, err := config.Load(e.Home, os.LookupEnv)
		if err != nil {
			return nil, err
		}
		addr = c.Chain.RPCAddr
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cl, err := chain.Dial(dctx, addr)
	if err != nil {
		return nil, fmt.Errorf("connect to node (is `deai up` running?): %w", err)
	}
	return cl, nil
}

func newTxCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{Use: "tx", Short: "Sign and broadcast transactions"}
	var (
		nf       nodeFlag
		from     string
		to       string
		amount   string
		fee      string
		memo     string
		passFile string
		async    bool
		timeout  time.Duration
	)
	send := &cobra.Command{
		Use:   "send",
		Short: "Transfer funds from a keystore key to an address",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			toAddr, err := tx.ParseAddress(to)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			amt, err := tx.ParseAmount(amount)
			if err != nil {
				return fmt.Errorf("--amount: %w", err)
			}
			ks, err := openKeystore(env)
			if err != nil {
				return err
			}
			if passFile == "" {
				if os.Getenv(PassphraseEnv) == "" {
					// Devnet convenience: `deai init` keeps a generated
					// passphrase next to the config.
					if p := filepath.Join(env.Home, "config", from+".passphrase"); fileExists(p) {
						passFile = p
					}
				}
			}
			pass, err := env.readPassphrase(passphraseOpts{File: passFile, Prompt: fmt.Sprintf("Passphrase for key %q", from)})
			if err != nil {
				return err
			}
			key, err := ks.Load(from, pass)
			if err != nil {
				return err
			}
			cl, err := env.dial(ctx, nf)
			if err != nil {
				return err
			}
			defer cl.Close()
			res, err := sendTransfer(ctx, cl, key, toAddr, amt, fee, memo, async, timeout)
			if err != nil {
				return err
			}
			if err := env.Print(res, func(w io.Writer) error {
				if res.Code != 0 {
					_, err := fmt.Fprintf(w, "rejected: %s (code %d)\n  hash %s\n", res.Log, res.Code, res.Hash)
					return err
				}
				if async {
					_, err := fmt.Fprintf(w, "accepted into the mempool\n  hash %s\n", res.Hash)
					return err
				}
				_, err := fmt.Fprintf(w, "committed at height %d\n  hash %s\n  %s → %s  %s (fee %s)\n", res.Height, res.Hash, res.From, res.To, res.Amount.DEAI(), res.Fee.DEAI())
				return err
			}); err != nil {
				return err
			}
			if res.Code != 0 {
				return &exitError{code: 2, err: fmt.Errorf("tx rejected with code %d", res.Code)}
			}
			return nil
		},
	}
	nf.register(send)
	send.Flags().StringVar(&from, "from", "dev", "keystore key to send from")
	send.Flags().StringVar(&to, "to", "", "recipient address deai1… (required)")
	send.Flags().StringVar(&amount, "amount", "", `amount, e.g. "1.5deai" or "1500000udeai" (required)`)
	send.Flags().StringVar(&fee, "fee", "", "fee (default: the chain's minimum fee)")
	send.Flags().StringVar(&memo, "memo", "", "memo")
	send.Flags().BoolVar(&async, "async", false, "return after mempool admission instead of waiting for the block")
	send.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "how long to wait for the tx to be committed")
	addPassphraseFlag(send, &passFile)
	_ = send.MarkFlagRequired("to")
	_ = send.MarkFlagRequired("amount")
	cmd.AddCommand(send)
	return cmd
}

// sendResult is the outcome of `tx send`.
type sendResult struct {
	Hash   string    `json:"hash"`
	Code   uint32    `json:"code"`
	Log    string    `json:"log,omitempty"`
	Height int64     `json:"height,omitempty"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Amount tx.Amount `json:"amount"`
	Fee    tx.Amount `json:"fee"`
	Nonce  uint64    `json:"nonce"`
}

func sendTransfer(ctx context.Context, cl chain.Client, key *wallet.Key, to tx.Address, amt tx.Amount, feeFlag, memo string, async bool, timeout time.Duration) (sendResult, error) {
	var params ledger.Params
	if err := queryJSON(ctx, cl, "/params", &params); err != nil {
		return sendResult{}, err
	}
	fee := params.MinFee
	if feeFlag != "" {
		f, err := tx.ParseAmount(feeFlag)
		if err != nil {
			return sendResult{}, fmt.Errorf("--fee: %w", err)
		}
		fee = f
	}
	st, err := cl.Status(ctx)
	if err != nil {
		return sendResult{}, err
	}
	from := key.Address()
	var acct ledger.Account
	if err := queryJSON(ctx, cl, "/account/"+from.String(), &acct); err != nil {
		return sendResult{}, fmt.Errorf("sender %s has no account on chain (fund it first): %w", from, err)
	}
	t, err := tx.Builder{ChainID: st.ChainID, Nonce: acct.Nonce, Fee: fee, Memo: memo,
		Msgs: []tx.Msg{&tx.MsgSend{From: from, To: to, Amount: amt}}}.Sign(key.PrivateKey())
	if err != nil {
		return sendResult{}, err
	}
	raw, err := t.Encode()
	if err != nil {
		return sendResult{}, err
	}
	res := sendResult{Hash: tx.HashOf(raw).String(), From: from.String(), To: to.String(), Amount: amt, Fee: fee, Nonce: acct.Nonce}
	if async {
		cr, err := cl.BroadcastSync(ctx, raw)
		if err != nil {
			return res, err
		}
		res.Code, res.Log = cr.Code, cr.Log
		return res, nil
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tr, err := cl.BroadcastCommit(cctx, raw)
	if err != nil {
		return res, fmt.Errorf("broadcast %s: %w", res.Hash, err)
	}
	res.Code, res.Log, res.Height = tr.Code, tr.Log, tr.Height
	return res, nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func newQueryCmd(env *Env) *cobra.Command {
	var nf nodeFlag
	cmd := &cobra.Command{Use: "query", Aliases: []string{"q"}, Short: "Query the ledger"}
	nf.registerPersistent(cmd)
	type spec struct {
		use, short string
		args       cobra.PositionalArgs
		path       func(args []string) (string, error)
		text       func(w io.Writer, raw json.RawMessage) error
	}
	addrPath := func(prefix string) func([]string) (string, error) {
		return func(a []string) (string, error) {
			if _, err := tx.ParseAddress(a[0]); err != nil {
				return "", err
			}
			return prefix + a[0], nil
		}
	}
	specs := []spec{
		{"account ADDRESS", "An account: balance, next nonce, public key", cobra.ExactArgs(1), addrPath("/account/"), textAccount},
		{"balance ADDRESS", "An address's balance", cobra.ExactArgs(1), addrPath("/balance/"), textBalance},
		{"tx HASH", "A committed transaction by hash", cobra.ExactArgs(1), func(a []string) (string, error) {
			if _, err := tx.ParseHash(a[0]); err != nil {
				return "", err
			}
			return "/tx/" + a[0], nil
		}, textIndent},
		{"block [HEIGHT]", "A block (default: the latest)", cobra.MaximumNArgs(1), func(a []string) (string, error) {
			if len(a) == 0 {
				return "/block/latest", nil
			}
			if h, err := strconv.ParseInt(a[0], 10, 64); err != nil || h < 1 {
				return "", fmt.Errorf("height %q: want a positive integer", a[0])
			}
			return "/block/" + a[0], nil
		}, textIndent},
		{"params", "Chain parameters", cobra.NoArgs, func([]string) (string, error) { return "/params", nil }, textIndent},
		{"supply", "Genesis supply, burned fees and the conservation check", cobra.NoArgs, func([]string) (string, error) { return "/supply", nil }, textIndent},
	}
	for _, s := range specs {
		c := &cobra.Command{
			Use:   s.use,
			Short: s.short,
			Args:  s.args,
			RunE: func(cmd *cobra.Command, args []string) error {
				path, err := s.path(args)
				if err != nil {
					return err
				}
				cl, err := env.dial(cmd.Context(), nf)
				if err != nil {
					return err
				}
				defer cl.Close()
				var raw json.RawMessage
				if err := queryJSON(cmd.Context(), cl, path, &raw); err != nil {
					return err
				}
				return env.Print(raw, func(w io.Writer) error { return s.text(w, raw) })
			},
		}
		cmd.AddCommand(c)
	}
	return cmd
}

func (f *nodeFlag) registerPersistent(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.addr, "node", "", "node RPC address (default: the home's [chain] rpc_addr)")
}

func textAccount(w io.Writer, raw json.RawMessage) error {
	var a ledger.Account
	if err := json.Unmarshal(raw, &a); err != nil {
		return err
	}
	pub := "(not yet revealed: the account has not signed a tx)"
	if len(a.PubKey) > 0 {
		pub = fmt.Sprintf("%x", []byte(a.PubKey))
	}
	_, err := fmt.Fprintf(w, "address  %s\nbalance  %s\nnonce    %d\npubkey   %s\n", a.Address, a.Balance.DEAI(), a.Nonce, pub)
	return err
}

func textBalance(w io.Writer, raw json.RawMessage) error {
	var b ledger.Balance
	if err := json.Unmarshal(raw, &b); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s\n", b.Balance.DEAI())
	return err
}

func textIndent(w io.Writer, raw json.RawMessage) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
