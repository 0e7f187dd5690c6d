package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/ledger/yuma"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

func newSubnetCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "subnet",
		Short: "Intelligence subnets: create, register, stake, weights, serving, params, metagraph",
		Long: `Work with the ledger's intelligence subnets. Transactions are signed by a
keystore key (--from, default "dev"): the subnet owner for create, params and
set-digests; the neuron's hotkey for register, serve and the weight commands;
the staker for stake. A rejected transaction exits with status 2 and the
ledger's reason.`,
	}
	cmd.AddCommand(
		newSubnetCreateCmd(env),
		newSubnetListCmd(env),
		newSubnetShowCmd(env),
		newSubnetRegisterCmd(env),
		newSubnetServeCmd(env),
		newSubnetStakeCmd(env),
		newSubnetSetWeightsCmd(env),
		newSubnetCommitWeightsCmd(env),
		newSubnetRevealWeightsCmd(env),
		newSubnetSetDigestsCmd(env),
		newSubnetParamsCmd(env),
		newSubnetMetagraphCmd(env),
		newSubnetEpochSimCmd(env),
		newSubnetDisputesCmd(env),
		newSubnetDisputeCmd(env),
	)
	return cmd
}

// subnetTxFlags are the flags of every subnet command that sends a tx.
type subnetTxFlags struct {
	nf       nodeFlag
	from     string
	fee      string
	passFile string
	timeout  time.Duration
}

func (f *subnetTxFlags) register(cmd *cobra.Command) {
	f.nf.register(cmd)
	cmd.Flags().StringVar(&f.from, "from", "dev", "keystore key that signs (the owner, the hotkey or the staker)")
	cmd.Flags().StringVar(&f.fee, "fee", "", "fee (default: the chain's minimum fee)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for the tx to be committed")
	addPassphraseFlag(cmd, &f.passFile)
}

// subnetTxResult is what every subnet tx command prints.
type subnetTxResult struct {
	Hash   string `json:"hash"`
	Code   uint32 `json:"code"`
	Reason string `json:"reason,omitempty"`
	Log    string `json:"log,omitempty"`
	Height int64  `json:"height,omitempty"`
	Signer string `json:"signer"`
	Netuid uint16 `json:"netuid"`
	// Set by some commands.
	UID        *uint16 `json:"uid,omitempty"`
	Burn       string  `json:"burn,omitempty"`
	CommitHash string  `json:"commit_hash,omitempty"`
	Salt       string  `json:"salt,omitempty"`

	events []chain.AppEvent
}

// event returns attribute key of the first event of type typ.
func (r *subnetTxResult) event(typ, key string) string {
	for _, e := range r.events {
		if e.Type != typ {
			continue
		}
		for _, a := range e.Attributes {
			if a.Key == key {
				return a.Value
			}
		}
	}
	return ""
}

// loadKey unlocks keystore key name. As for tx send, a devnet home's
// generated passphrase file is found on its own when no passphrase is
// given.
func (e *Env) loadKey(name, passFile string) (*wallet.Key, error) {
	ks, err := openKeystore(e)
	if err != nil {
		return nil, err
	}
	if passFile == "" && os.Getenv(PassphraseEnv) == "" {
		if p := filepath.Join(e.Home, "config", name+".passphrase"); fileExists(p) {
			passFile = p
		}
	}
	pass, err := e.readPassphrase(passphraseOpts{File: passFile, Prompt: fmt.Sprintf("Passphrase for key %q", name)})
	if err != nil {
		return nil, err
	}
	return ks.Load(name, pass)
}

// subnetTx unlocks the signer, builds the message with build (which may
// query the chain), broadcasts it, waits for the block and prints the
// outcome with text. A rejected tx prints the ledger's reason and exits 2.
func (e *Env) subnetTx(cmd *cobra.Command, f *subnetTxFlags, netuid uint16,
	build func(ctx context.Context, cl chain.Client, signer tx.Address) (tx.Msg, error),
	text func(w io.Writer, r *subnetTxResult) error,
	after func(r *subnetTxResult),
) error {
	ctx := cmd.Context()
	key, err := e.loadKey(f.from, f.passFile)
	if err != nil {
		return err
	}
	cl, err := e.dial(ctx, f.nf)
	if err != nil {
		return err
	}
	defer cl.Close()
	msg, err := build(ctx, cl, key.Address())
	if err != nil {
		return err
	}
	res, err := broadcastMsg(ctx, cl, key, msg, f.fee, f.timeout)
	if err != nil {
		return err
	}
	res.Netuid = netuid
	if res.Code == 0 && after != nil {
		after(res)
	}
	if err := e.Print(res, func(w io.Writer) error {
		if res.Code != 0 {
			_, err := fmt.Fprintf(w, "rejected: %s (code %d %s)\n  hash %s\n", res.Log, res.Code, res.Reason, res.Hash)
			return err
		}
		if err := text(w, res); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "  tx %s at height %d\n", res.Hash, res.Height)
		return err
	}); err != nil {
		return err
	}
	if res.Code != 0 {
		return &exitError{code: 2, err: fmt.Errorf("tx rejected with code %d (%s)", res.Code, res.Reason)}
	}
	return nil
}

// broadcastMsg signs msg from key with the account's next nonce and the
// chain's minimum fee (or feeFlag), and waits until it is committed.
func broadcastMsg(ctx context.Context, cl chain.Client, key *wallet.Key, msg tx.Msg, feeFlag string, timeout time.Duration) (*subnetTxResult, error) {
	var params ledger.Params
	if err := queryJSON(ctx, cl, "/params", &params); err != nil {
		return nil, err
	}
	fee := params.MinFee
	if feeFlag != "" {
		f, err := tx.ParseAmount(feeFlag)
		if err != nil {
			return nil, fmt.Errorf("--fee: %w", err)
		}
		fee = f
	}
	st, err := cl.Status(ctx)
	if err != nil {
		return nil, err
	}
	from := key.Address()
	var acct ledger.Account
	if err := queryJSON(ctx, cl, "/account/"+from.String(), &acct); err != nil {
		return nil, fmt.Errorf("signer %s has no account on chain (fund it first): %w", from, err)
	}
	t, err := tx.Builder{ChainID: st.ChainID, Nonce: acct.Nonce, Fee: fee, Msgs: []tx.Msg{msg}}.Sign(key.PrivateKey())
	if err != nil {
		return nil, err
	}
	raw, err := t.Encode()
	if err != nil {
		return nil, err
	}
	res := &subnetTxResult{Hash: tx.HashOf(raw).String(), Signer: from.String()}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tr, err := cl.BroadcastCommit(cctx, raw)
	if err != nil {
		return nil, fmt.Errorf("broadcast %s: %w", res.Hash, err)
	}
	res.Code, res.Log, res.Height, res.events = tr.Code, tr.Log, tr.Height, tr.Events
	if tr.Code != 0 {
		res.Reason = module.Reason(tr.Code).String()
	}
	return res, nil
}

// parseNetuid parses a NETUID argument.
func parseNetuid(s string) (uint16, error) {
	v, err := strconv.ParseUint(s, 10, 16)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("netuid %q: want a number from 1 to 65535", s)
	}
	return uint16(v), nil
}

// parseU16List parses "1,2,3" (spaces allowed).
func parseU16List(flag, s string) ([]uint16, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("--%s: empty list", flag)
	}
	var out []uint16
	for f := range strings.SplitSeq(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 16)
		if err != nil {
			return nil, fmt.Errorf("--%s: %q is not a number from 0 to 65535", flag, f)
		}
		out = append(out, uint16(v))
	}
	return out, nil
}

func parseDigests(ss []string) ([]subnet.Digest, error) {
	if len(ss) == 0 {
		return nil, errors.New("--digest: give at least one sha256 model digest")
	}
	var ds []subnet.Digest
	for _, s := range ss {
		for part := range strings.SplitSeq(s, ",") {
			d, err := subnet.ParseDigest(strings.TrimSpace(part))
			if err != nil {
				return nil, fmt.Errorf("--digest: %w", err)
			}
			ds = append(ds, d)
		}
	}
	return subnet.SortDigests(ds), nil
}

func newSubnetCreateCmd(env *Env) *cobra.Command {
	var f subnetTxFlags
	var name, task string
	var digests []string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a subnet owned by --from, paying the creation burn",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ds, err := parseDigests(digests)
			if err != nil {
				return err
			}
			return env.subnetTx(cmd, &f, 0, func(_ context.Context, _ chain.Client, from tx.Address) (tx.Msg, error) {
				return &subnet.MsgCreateSubnet{Owner: from, Name: name, TaskType: task, Digests: ds}, nil
			}, func(w io.Writer, r *subnetTxResult) error {
				_, err := fmt.Fprintf(w, "created subnet %d %q (%s) owned by %s\n", r.Netuid, name, task, r.Signer)
				return err
			}, func(r *subnetTxResult) {
				if n, err := strconv.ParseUint(r.event(subnet.EventSubnetCreated, "netuid"), 10, 16); err == nil {
					r.Netuid = uint16(n)
				}
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&name, "name", "", "subnet name (required)")
	cmd.Flags().StringVar(&task, "task", subnet.TaskTextGeneration, "task type: "+subnet.TaskTextGeneration+", "+subnet.TaskEmbedding+", or another lower-case name")
	cmd.Flags().StringArrayVar(&digests, "digest", nil, "sha256 of an allowed model file (repeat, or comma-separate; at least one)")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

// querySubnet dials the node and decodes path into v.
func (e *Env) querySubnet(cmd *cobra.Command, nf nodeFlag, path string, v any) error {
	cl, err := e.dial(cmd.Context(), nf)
	if err != nil {
		return err
	}
	defer cl.Close()
	return queryJSON(cmd.Context(), cl, path, v)
}

func newSubnetListCmd(env *Env) *cobra.Command {
	var nf nodeFlag
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the subnets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var list []subnet.SubnetInfo
			if err := env.querySubnet(cmd, nf, "/subnet/list", &list); err != nil {
				return err
			}
			return env.Print(list, func(w io.Writer) error {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NETUID\tNAME\tTASK\tUIDS\tTEMPO\tBURN\tOWNER")
				for _, s := range list {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%d\t%s\t%s\n", s.Netuid, s.Name, s.TaskType, s.N, s.MaxUIDs, s.Tempo, s.Burn.DEAI(), s.Owner)
				}
				return tw.Flush()
			})
		},
	}
	nf.register(cmd)
	return cmd
}

func newSubnetShowCmd(env *Env) *cobra.Command {
	var nf nodeFlag
	cmd := &cobra.Command{
		Use:   "show NETUID",
		Short: "Show a subnet: owner, task, allowed digests, price, epoch and params",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			netuid, err := parseNetuid(args[0])
			if err != nil {
				return err
			}
			var s subnet.SubnetInfo
			if err := env.querySubnet(cmd, nf, "/subnet/"+args[0], &s); err != nil {
				return err
			}
			return env.Print(s, func(w io.Writer) error {
				fmt.Fprintf(w, "subnet %d  %s\n", netuid, s.Name)
				fmt.Fprintf(w, "  owner       %s\n  task        %s\n  uids        %d of %d\n", s.Owner, s.TaskType, s.N, s.MaxUIDs)
				fmt.Fprintf(w, "  burn        %s (registration price at block %d)\n", s.Burn.DEAI(), s.Block+1)
				fmt.Fprintf(w, "  epoch       %d (last at block %d, next at %d, tempo %d)\n", s.Epoch, s.LastEpoch, s.NextEpoch, s.Tempo)
				fmt.Fprintf(w, "  pending     %s\n  created at  %d\n", s.PendingEmission.DEAI(), s.CreatedAt)
				for _, d := range s.AllowedDigests {
					fmt.Fprintf(w, "  digest      %s\n", d)
				}
				return writeParams(w, s.Params)
			})
		},
	}
	nf.register(cmd)
	return cmd
}

func writeParams(w io.Writer, p subnet.Params) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	rows := []struct{ k, v string }{
		{"tempo", strconv.FormatUint(p.Tempo, 10)},
		{"kappa", ratio(p.Kappa)},
		{"bonds_moving_average", strconv.FormatUint(p.BondsMovingAverage, 10)},
		{"bonds_penalty", ratio(p.BondsPenalty)},
		{"yuma3", strconv.FormatBool(p.Yuma3)},
		{"liquid_alpha", fmt.Sprintf("%t (alpha %s..%s, steepness %d)", p.LiquidAlpha.Enabled, ratio(p.LiquidAlpha.AlphaLow), ratio(p.LiquidAlpha.AlphaHigh), p.LiquidAlpha.Steepness)},
		{"max_uids", strconv.Itoa(int(p.MaxUIDs))},
		{"max_validators", strconv.Itoa(int(p.MaxValidators))},
		{"immunity_period", strconv.FormatUint(p.ImmunityPeriod, 10)},
		{"activity_cutoff", strconv.FormatUint(p.ActivityCutoff, 10)},
		{"weights_rate_limit", strconv.FormatUint(p.WeightsRateLimit, 10)},
		{"min_burn", p.MinBurn.DEAI()},
		{"max_burn", p.MaxBurn.DEAI()},
		{"burn_half_life", strconv.FormatUint(p.BurnHalfLife, 10)},
		{"burn_increase_mult", fmt.Sprintf("%d (×%.3f)", p.BurnIncreaseMult, float64(p.BurnIncreaseMult)/1000)},
		{"commit_reveal", strconv.FormatBool(p.CommitReveal)},
		{"reveal_period", strconv.Itoa(int(p.RevealPeriod))},
		{"audit_rate_ppm", strconv.FormatUint(uint64(p.AuditRatePPM), 10)},
		{"slash_bps", strconv.Itoa(int(p.SlashBPS))},
		{"challenger_reward_bps", strconv.Itoa(int(p.ChallengerRewardBPS))},
		{"jail_blocks", strconv.FormatUint(p.JailBlocks, 10)},
		{"dispute_bond", p.DisputeBond.DEAI()},
		{"committee_size", strconv.Itoa(int(p.CommitteeSize))},
		{"dispute_blocks", strconv.FormatUint(p.DisputeBlocks, 10)},
		{"receipt_ttl", strconv.FormatUint(p.ReceiptTTL, 10) + "s"},
	}
	fmt.Fprintln(tw, "  params")
	for _, r := range rows {
		fmt.Fprintf(tw, "    %s\t%s\n", r.k, r.v)
	}
	return tw.Flush()
}

// ratio formats a u16 ratio as value/65535 with four decimals.
func ratio(v uint16) string { return strconv.FormatFloat(float64(v)/65535, 'f', 4, 64) }

func newSubnetRegisterCmd(env *Env) *cobra.Command {
	var f subnetTxFlags
	var maxBurn string
	cmd := &cobra.Command{
		Use:   "register NETUID",
		Short: "Register --from's key as a neuron hotkey on a subnet, burning the current price",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			netuid, err := parseNetuid(args[0])
			if err != nil {
				return err
			}
			var limit tx.Amount
			if maxBurn != "" {
				if limit, err = tx.ParseAmount(maxBurn); err != nil {
					return fmt.Errorf("--max-burn: %w", err)
				}
			}
			return env.subnetTx(cmd, &f, netuid, func(_ context.Context, _ chain.Client, from tx.Address) (tx.Msg, error) {
				return &subnet.MsgRegister{Hotkey: from, Netuid: netuid, MaxBurn: limit}, nil
			}, func(w io.Writer, r *subnetTxResult) error {
				_, err := fmt.Fprintf(w, "registered %s on subnet %d as uid %d, burning %s\n", r.Signer, netuid, derefU16(r.UID), r.Burn)
				return err
			}, func(r *subnetTxResult) {
				if n, err := strconv.ParseUint(r.event(subnet.EventRegistered, "uid"), 10, 16); err == nil {
					uid := uint16(n)
					r.UID = &uid
				}
				r.Burn = r.event(subnet.EventRegistered, "burn")
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&maxBurn, "max-burn", "", "refuse to pay more than this (default: any price)")
	return cmd
}

func derefU16(p *uint16) uint16 {
	if p == nil {
		return 0
	}
	return *p
}

func newSubnetServeCmd(env *Env) *cobra.Command {
	var f subnetTxFlags
	var endpoint, digest, region string
	var version uint32
	cmd := &cobra.Command{
		Use:   "serve NETUID",
		Short: "Publish --from's serving info on a subnet: endpoint, model digest, region",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			netuid, err := parseNetuid(args[0])
			if err != nil {
				return err
			}
			d, err := subnet.ParseDigest(digest)
			if err != nil {
				return fmt.Errorf("--digest: %w", err)
			}
			return env.subnetTx(cmd, &f, netuid, func(_ context.Context, _ chain.Client, from tx.Address) (tx.Msg, error) {
				return &subnet.MsgServe{Hotkey: from, Netuid: netuid, Endpoint: endpoint, ProtocolVersion: version, ModelDigest: d, Region: region}, nil
			}, func(w io.Writer, r *subnetTxResult) error {
				_, err := fmt.Fprintf(w, "%s serves %s on subnet %d (model %s)\n", r.Signer, endpoint, netuid, d)
				return err
			}, nil)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "http(s)://host[:port][/path] where the miner answers (required)")
	cmd.Flags().StringVar(&digest, "digest", "", "sha256 of the model file served; must be allowed on the subnet (required)")
	cmd.Flags().StringVar(&region, "region", "", "optional region, e.g. eu-west")
	cmd.Flags().Uint32Var(&version, "protocol-version", 1, "wire protocol version the miner speaks")
	_ = cmd.MarkFlagRequired("endpoint")
	_ = cmd.MarkFlagRequired("digest")
	return cmd
}

func newSubnetStakeCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{Use: "stake", Short: "Add, remove or show stake on a neuron's hotkey"}
	for _, add := range []bool{true, false} {
		var f subnetTxFlags
		var hotkey, amount string
		use, short := "remove NETUID", "Return stake on --hotkey to --from's balance"
		if add {
			use, short = "add NETUID", "Lock stake from --from's balance on --hotkey (default: --from's own)"
		}
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				netuid, err := parseNetuid(args[0])
				if err != nil {
					return err
				}
				amt, err := tx.ParseAmount(amount)
				if err != nil {
					return fmt.Errorf("--amount: %w", err)
				}
				var hk tx.Address
				if hotkey != "" {
					if hk, err = tx.ParseAddress(hotkey); err != nil {
						return fmt.Errorf("--hotkey: %w", err)
					}
				}
				return env.subnetTx(cmd, &f, netuid, func(_ context.Context, _ chain.Client, from tx.Address) (tx.Msg, error) {
					if hk.IsZero() {
						hk = from
					}
					if add {
						return &subnet.MsgAddStake{Staker: from, Hotkey: hk, Netuid: netuid, Amount: amt}, nil
					}
					return &subnet.MsgRemoveStake{Staker: from, Hotkey: hk, Netuid: netuid, Amount: amt}, nil
				}, func(w io.Writer, r *subnetTxResult) error {
					verb, typ := "removed", subnet.EventStakeRemoved
					if add {
						verb, typ = "staked", subnet.EventStakeAdded
					}
					total, _ := tx.ParseAmount(r.event(typ, "total"))
					_, err := fmt.Fprintf(w, "%s %s on %s in subnet %d (total on the hotkey %s)\n", verb, amt.DEAI(), hk, netuid, total.DEAI())
					return err
				}, nil)
			},
		}
		f.register(c)
		c.Flags().StringVar(&hotkey, "hotkey", "", "the neuron's hotkey address (default: --from's address)")
		c.Flags().StringVar(&amount, "amount", "", `amount, e.g. "10deai" (required)`)
		_ = c.MarkFlagRequired("amount")
		cmd.AddCommand(c)
	}
	var nf nodeFlag
	show := &cobra.Command{
		Use:   "show NETUID HOTKEY",
		Short: "Show the stake on a hotkey, by staker",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := parseNetuid(args[0]); err != nil {
				return err
			}
			if _, err := tx.ParseAddress(args[1]); err != nil {
				return err
			}
			var si subnet.StakeInfo
			if err := env.querySubnet(cmd, nf, "/subnet/"+args[0]+"/stake/"+args[1], &si); err != nil {
				return err
			}
			return env.Print(si, func(w io.Writer) error {
				fmt.Fprintf(w, "stake on %s in subnet %d: %s\n", si.Hotkey, si.Netuid, si.Total.DEAI())
				for _, s := range si.Stakers {
					fmt.Fprintf(w, "  %s  %s\n", s.Staker, s.Amount.DEAI())
				}
				return nil
			})
		},
	}
	nf.register(show)
	cmd.AddCommand(show)
	return cmd
}

// weightFlags are --uids and --weights.
type weightFlags struct{ uids, weights string }

func (wf *weightFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&wf.uids, "uids", "", "comma-separated uids, e.g. 1,2,5 (required)")
	cmd.Flags().StringVar(&wf.weights, "weights", "", "comma-separated u16 weights, one per uid, e.g. 100,50,7 (required)")
	_ = cmd.MarkFlagRequired("uids")
	_ = cmd.MarkFlagRequired("weights")
}

func (wf *weightFlags) parse() ([]uint16, []uint16, error) {
	uids, err := parseU16List("uids", wf.uids)
	if err != nil {
		return nil, nil, err
	}
	ws, err := parseU16List("weights", wf.weights)
	if err != nil {
		return nil, nil, err
	}
	return uids, ws, nil
}

func newSubnetSetWeightsCmd(env *Env) *cobra.Command {
	var f subnetTxFlags
	var wf weightFlags
	cmd := &cobra.Command{
		Use:   "set-weights NETUID",
		Short: "Set --from's weights on a subnet (when commit-reveal is off)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			netuid, err := parseNetuid(args[0])
			if err != nil {
				return err
			}
			uids, ws, err := wf.parse()
			if err != nil {
				return err
			}
			return env.subnetTx(cmd, &f, netuid, func(_ context.Context, _ chain.Client, from tx.Address) (tx.Msg, error) {
				return &subnet.MsgSetWeights{Hotkey: from, Netuid: netuid, UIDs: uids, Weights: ws}, nil
			}, func(w io.Writer, r *subnetTxResult) error {
				_, err := fmt.Fprintf(w, "set %d weights on subnet %d from %s\n", len(uids), netuid, r.Signer)
				return err
			}, nil)
		},
	}
	f.register(cmd)
	wf.register(cmd)
	return cmd
}

func newSubnetCommitWeightsCmd(env *Env) *cobra.Command {
	var f subnetTxFlags
	var wf weightFlags
	var saltHex string
	cmd := &cobra.Command{
		Use:   "commit-weights NETUID",
		Short: "Commit to weights (commit-reveal); prints the salt that reveal-weights needs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			netuid, err := parseNetuid(args[0])
			if err != nil {
				return err
			}
			uids, ws, err := wf.parse()
			if err != nil {
				return err
			}
			salt, err := parseSalt(saltHex, true)
			if err != nil {
				return err
			}
			var hash subnet.Digest
			return env.subnetTx(cmd, &f, netuid, func(_ context.Context, _ chain.Client, from tx.Address) (tx.Msg, error) {
				hash = subnet.CommitHash(netuid, from, uids, ws, salt)
				return &subnet.MsgCommitWeights{Hotkey: from, Netuid: netuid, Hash: hash}, nil
			}, func(w io.Writer, r *subnetTxResult) error {
				_, err := fmt.Fprintf(w, "committed %s on subnet %d\n  salt %s (keep it: reveal-weights needs the same uids, weights and salt)\n",
					r.CommitHash, netuid, r.Salt)
				return err
			}, func(r *subnetTxResult) {
				r.CommitHash, r.Salt = hash.String(), hex.EncodeToString(salt)
			})
		},
	}
	f.register(cmd)
	wf.register(cmd)
	cmd.Flags().StringVar(&saltHex, "salt", "", fmt.Sprintf("salt as hex, %d to %d bytes (default: 32 random bytes)", subnet.MinSaltLen, subnet.MaxSaltLen))
	return cmd
}

func parseSalt(s string, generate bool) ([]byte, error) {
	if s == "" {
		if !generate {
			return nil, errors.New("--salt: required: the hex salt commit-weights printed")
		}
		salt := make([]byte, 32)
		_, err := rand.Read(salt)
		return salt, err
	}
	salt, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("--salt: %w", err)
	}
	if len(salt) < subnet.MinSaltLen || len(salt) > subnet.MaxSaltLen {
		return nil, fmt.Errorf("--salt: %d bytes, want %d to %d", len(salt), subnet.MinSaltLen, subnet.MaxSaltLen)
	}
	return salt, nil
}

func newSubnetRevealWeightsCmd(env *Env) *cobra.Command {
	var f subnetTxFlags
	var wf weightFlags
	var saltHex string
	cmd := &cobra.Command{
		Use:   "reveal-weights NETUID",
		Short: "Reveal committed weights in their reveal epoch",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			netuid, err := parseNetuid(args[0])
			if err != nil {
				return err
			}
			uids, ws, err := wf.parse()
			if err != nil {
				return err
			}
			salt, err := parseSalt(saltHex, false)
			if err != nil {
				return err
			}
			return env.subnetTx(cmd, &f, netuid, func(_ context.Context, _ chain.Client, from tx.Address) (tx.Msg, error) {
				return &subnet.MsgRevealWeights{Hotkey: from, Netuid: netuid, UIDs: uids, Weights: ws, Salt: salt}, nil
			}, func(w io.Writer, r *subnetTxResult) error {
				_, err := fmt.Fprintf(w, "revealed %d weights on subnet %d from %s\n", len(uids), netuid, r.Signer)
				return err
			}, nil)
		},
	}
	f.register(cmd)
	wf.register(cmd)
	cmd.Flags().StringVar(&saltHex, "salt", "", "the hex salt commit-weights printed (required)")
	return cmd
}

func newSubnetSetDigestsCmd(env *Env) *cobra.Command {
	var f subnetTxFlags
	var digests []string
	cmd := &cobra.Command{
		Use:   "set-digests NETUID",
		Short: "Replace the model digests allowed on a subnet (owner only)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			netuid, err := parseNetuid(args[0])
			if err != nil {
				return err
			}
			ds, err := parseDigests(digests)
			if err != nil {
				return err
			}
			return env.subnetTx(cmd, &f, netuid, func(_ context.Context, _ chain.Client, from tx.Address) (tx.Msg, error) {
				return &subnet.MsgSetAllowedDigests{Owner: from, Netuid: netuid, Digests: ds}, nil
			}, func(w io.Writer, r *subnetTxResult) error {
				_, err := fmt.Fprintf(w, "subnet %d now allows %d model digests\n", netuid, len(ds))
				return err
			}, nil)
		},
	}
	f.register(cmd)
	cmd.Flags().StringArrayVar(&digests, "digest", nil, "sha256 of an allowed model file (repeat, or comma-separate; at least one)")
	return cmd
}

func newSubnetParamsCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{Use: "params", Short: "Show or change a subnet's hyperparameters"}
	var nf nodeFlag
	show := &cobra.Command{
		Use:   "show NETUID",
		Short: "Show a subnet's hyperparameters",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := parseNetuid(args[0]); err != nil {
				return err
			}
			var p subnet.Params
			if err := env.querySubnet(cmd, nf, "/subnet/"+args[0]+"/params", &p); err != nil {
				return err
			}
			return env.Print(p, func(w io.Writer) error { return writeParams(w, p) })
		},
	}
	nf.register(show)
	cmd.AddCommand(show, newSubnetParamsSetCmd(env))
	return cmd
}

func newSubnetParamsSetCmd(env *Env) *cobra.Command {
	var f subnetTxFlags
	var v subnet.Params
	var minBurn, maxBurn, disputeBond string
	cmd := &cobra.Command{
		Use:   "set NETUID",
		Short: "Change a subnet's hyperparameters (owner only); flags not given keep their value",
		Long: fmt.Sprintf(`Change a subnet's hyperparameters. Only the flags given change; the others
keep their current value. Bounds: tempo %d..%d, kappa ≥ %d, bonds_moving_average
≤ %d, max_uids %d..%d, max_validators 1..max_uids, immunity_period ≤ %d,
activity_cutoff tempo..%d, weights_rate_limit ≤ %d, min_burn 1udeai..max_burn,
max_burn ≤ %s, burn_half_life %d..%d, burn_increase_mult %d..%d (thousandths),
reveal_period %d..%d, alpha_low/alpha_high ≥ %d (changeable while liquid alpha is on);
disputes: audit_rate_ppm ≤ %d, slash_bps and challenger_reward_bps ≤ %d,
jail_blocks ≤ %d, dispute_bond 1udeai..%s, committee_size %d..%d,
dispute_blocks %d..%d (a dispute votes for min(dispute_blocks, tempo) blocks),
receipt_ttl %d..%d seconds.`,
			subnet.MinTempo, subnet.MaxTempo, subnet.MinKappa, subnet.MaxBondsMovingAverage, subnet.MinMaxUIDs, subnet.MaxMaxUIDs,
			subnet.MaxImmunityPeriod, subnet.MaxActivityCutoff, subnet.MaxWeightsRateLimit, tx.Amount(subnet.MaxMaxBurn).DEAI(),
			subnet.MinBurnHalfLife, subnet.MaxBurnHalfLife, subnet.MinBurnIncreaseMult, subnet.MaxBurnIncreaseMult,
			subnet.MinRevealPeriod, subnet.MaxRevealPeriod, yuma.MinAlpha,
			subnet.MaxAuditRatePPM, subnet.MaxBPS, subnet.MaxJailBlocks, tx.Amount(subnet.MaxDisputeBond).DEAI(),
			subnet.MinCommitteeSize, subnet.MaxCommitteeSize, subnet.MinDisputeBlocks, subnet.MaxTempo,
			subnet.MinReceiptTTL, subnet.MaxReceiptTTL),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			netuid, err := parseNetuid(args[0])
			if err != nil {
				return err
			}
			fl := cmd.Flags()
			var mb, xb tx.Amount
			if fl.Changed("min-burn") {
				if mb, err = tx.ParseAmount(minBurn); err != nil {
					return fmt.Errorf("--min-burn: %w", err)
				}
			}
			if fl.Changed("max-burn") {
				if xb, err = tx.ParseAmount(maxBurn); err != nil {
					return fmt.Errorf("--max-burn: %w", err)
				}
			}
			var bond tx.Amount
			if fl.Changed("dispute-bond") {
				if bond, err = tx.ParseAmount(disputeBond); err != nil {
					return fmt.Errorf("--dispute-bond: %w", err)
				}
			}
			return env.subnetTx(cmd, &f, netuid, func(ctx context.Context, cl chain.Client, from tx.Address) (tx.Msg, error) {
				var p subnet.Params
				if err := queryJSON(ctx, cl, "/subnet/"+args[0]+"/params", &p); err != nil {
					return nil, err
				}
				changed := 0
				set := func(name string, apply func()) {
					if fl.Changed(name) {
						apply()
						changed++
					}
				}
				set("tempo", func() { p.Tempo = v.Tempo })
				set("kappa", func() { p.Kappa = v.Kappa })
				set("bonds-moving-average", func() { p.BondsMovingAverage = v.BondsMovingAverage })
				set("bonds-penalty", func() { p.BondsPenalty = v.BondsPenalty })
				set("yuma3", func() { p.Yuma3 = v.Yuma3 })
				set("liquid-alpha", func() { p.LiquidAlpha.Enabled = v.LiquidAlpha.Enabled })
				set("alpha-low", func() { p.LiquidAlpha.AlphaLow = v.LiquidAlpha.AlphaLow })
				set("alpha-high", func() { p.LiquidAlpha.AlphaHigh = v.LiquidAlpha.AlphaHigh })
				set("alpha-steepness", func() { p.LiquidAlpha.Steepness = v.LiquidAlpha.Steepness })
				set("max-uids", func() { p.MaxUIDs = v.MaxUIDs })
				set("max-validators", func() { p.MaxValidators = v.MaxValidators })
				set("immunity-period", func() { p.ImmunityPeriod = v.ImmunityPeriod })
				set("activity-cutoff", func() { p.ActivityCutoff = v.ActivityCutoff })
				set("weights-rate-limit", func() { p.WeightsRateLimit = v.WeightsRateLimit })
				set("min-burn", func() { p.MinBurn = mb })
				set("max-burn", func() { p.MaxBurn = xb })
				set("burn-half-life", func() { p.BurnHalfLife = v.BurnHalfLife })
				set("burn-increase-mult", func() { p.BurnIncreaseMult = v.BurnIncreaseMult })
				set("commit-reveal", func() { p.CommitReveal = v.CommitReveal })
				set("reveal-period", func() { p.RevealPeriod = v.RevealPeriod })
				set("audit-rate-ppm", func() { p.AuditRatePPM = v.AuditRatePPM })
				set("slash-bps", func() { p.SlashBPS = v.SlashBPS })
				set("challenger-reward-bps", func() { p.ChallengerRewardBPS = v.ChallengerRewardBPS })
				set("jail-blocks", func() { p.JailBlocks = v.JailBlocks })
				set("dispute-bond", func() { p.DisputeBond = bond })
				set("committee-size", func() { p.CommitteeSize = v.CommitteeSize })
				set("dispute-blocks", func() { p.DisputeBlocks = v.DisputeBlocks })
				set("receipt-ttl", func() { p.ReceiptTTL = v.ReceiptTTL })
				if changed == 0 {
					return nil, errors.New("no parameter flag given: nothing to change (see --help)")
				}
				if err := p.Validate(); err != nil {
					return nil, err
				}
				return &subnet.MsgSetSubnetParams{Owner: from, Netuid: netuid, Params: p}, nil
			}, func(w io.Writer, r *subnetTxResult) error {
				_, err := fmt.Fprintf(w, "updated the params of subnet %d\n", netuid)
				return err
			}, nil)
		},
	}
	f.register(cmd)
	fs := cmd.Flags()
	d := subnet.DefaultParams()
	fs.Uint64Var(&v.Tempo, "tempo", 0, fmt.Sprintf("blocks between epochs (new subnets: %v)", d.Tempo))
	fs.Uint16Var(&v.Kappa, "kappa", 0, fmt.Sprintf("consensus majority as a u16 ratio (new subnets: %v)", d.Kappa))
	fs.Uint64Var(&v.BondsMovingAverage, "bonds-moving-average", 0, fmt.Sprintf("bonds EMA in ppm (α = 1 − value/1e6) (new subnets: %v)", d.BondsMovingAverage))
	fs.Uint16Var(&v.BondsPenalty, "bonds-penalty", 0, fmt.Sprintf("β as a u16 ratio (new subnets: %v)", d.BondsPenalty))
	fs.BoolVar(&v.Yuma3, "yuma3", false, fmt.Sprintf("use bonds v3 (Yuma 3) (new subnets: %v)", d.Yuma3))
	fs.BoolVar(&v.LiquidAlpha.Enabled, "liquid-alpha", false, fmt.Sprintf("per-pair bond EMA rates (v3 path) (new subnets: %v)", d.LiquidAlpha.Enabled))
	fs.Uint16Var(&v.LiquidAlpha.AlphaLow, "alpha-low", 0, fmt.Sprintf("liquid alpha lower bound as a u16 ratio (new subnets: %v)", d.LiquidAlpha.AlphaLow))
	fs.Uint16Var(&v.LiquidAlpha.AlphaHigh, "alpha-high", 0, fmt.Sprintf("liquid alpha upper bound as a u16 ratio (new subnets: %v)", d.LiquidAlpha.AlphaHigh))
	fs.Int16Var(&v.LiquidAlpha.Steepness, "alpha-steepness", 0, fmt.Sprintf("liquid alpha sigmoid steepness (÷100) (new subnets: %v)", d.LiquidAlpha.Steepness))
	fs.Uint16Var(&v.MaxUIDs, "max-uids", 0, fmt.Sprintf("uid slots (new subnets: %v)", d.MaxUIDs))
	fs.Uint16Var(&v.MaxValidators, "max-validators", 0, fmt.Sprintf("validator permits per epoch (new subnets: %v)", d.MaxValidators))
	fs.Uint64Var(&v.ImmunityPeriod, "immunity-period", 0, fmt.Sprintf("blocks a new neuron is immune from pruning (new subnets: %v)", d.ImmunityPeriod))
	fs.Uint64Var(&v.ActivityCutoff, "activity-cutoff", 0, fmt.Sprintf("blocks without weights after which a validator is inactive (new subnets: %v)", d.ActivityCutoff))
	fs.Uint64Var(&v.WeightsRateLimit, "weights-rate-limit", 0, fmt.Sprintf("blocks between two weight sets or commits (new subnets: %v)", d.WeightsRateLimit))
	fs.StringVar(&minBurn, "min-burn", "", fmt.Sprintf("lowest registration price (new subnets: %v)", d.MinBurn.DEAI()))
	fs.StringVar(&maxBurn, "max-burn", "", fmt.Sprintf("highest registration price (new subnets: %v)", d.MaxBurn.DEAI()))
	fs.Uint64Var(&v.BurnHalfLife, "burn-half-life", 0, fmt.Sprintf("blocks in which the registration price halves (new subnets: %v)", d.BurnHalfLife))
	fs.Uint32Var(&v.BurnIncreaseMult, "burn-increase-mult", 0, fmt.Sprintf("price multiplier per registration, in thousandths (new subnets: %v)", d.BurnIncreaseMult))
	fs.BoolVar(&v.CommitReveal, "commit-reveal", false, fmt.Sprintf("validators commit weights and reveal them reveal-period epochs later (new subnets: %v)", d.CommitReveal))
	fs.Uint16Var(&v.RevealPeriod, "reveal-period", 0, fmt.Sprintf("epochs between a commit and its reveal (new subnets: %v)", d.RevealPeriod))
	fs.Uint32Var(&v.AuditRatePPM, "audit-rate-ppm", 0, fmt.Sprintf("spot-check probability of an answer, in ppm (new subnets: %v)", d.AuditRatePPM))
	fs.Uint16Var(&v.SlashBPS, "slash-bps", 0, fmt.Sprintf("share of a guilty miner's stake slashed, in basis points (new subnets: %v)", d.SlashBPS))
	fs.Uint16Var(&v.ChallengerRewardBPS, "challenger-reward-bps", 0, fmt.Sprintf("challenger's share of a slash, in basis points; the rest is burned (new subnets: %v)", d.ChallengerRewardBPS))
	fs.Uint64Var(&v.JailBlocks, "jail-blocks", 0, fmt.Sprintf("blocks a slashed miner earns no incentive (new subnets: %v)", d.JailBlocks))
	fs.StringVar(&disputeBond, "dispute-bond", "", fmt.Sprintf("least bond of a dispute (new subnets: %v)", d.DisputeBond.DEAI()))
	fs.Uint16Var(&v.CommitteeSize, "committee-size", 0, fmt.Sprintf("validators drawn to judge a dispute (new subnets: %v)", d.CommitteeSize))
	fs.Uint64Var(&v.DisputeBlocks, "dispute-blocks", 0, fmt.Sprintf("voting window of a dispute, at most tempo in effect (new subnets: %v)", d.DisputeBlocks))
	fs.Uint64Var(&v.ReceiptTTL, "receipt-ttl", 0, fmt.Sprintf("seconds a receipt stays disputable (new subnets: %v)", d.ReceiptTTL))
	return cmd
}

func newSubnetMetagraphCmd(env *Env) *cobra.Command {
	var nf nodeFlag
	cmd := &cobra.Command{
		Use:   "metagraph NETUID",
		Short: "Show every uid of a subnet: stake, consensus, incentive, dividends, emission, serving info, bonds",
		Long: `Show a subnet's metagraph as the last epoch recorded it. With -o json every
field is printed per uid (ratios as stored u16 values: divide by 65535;
amounts in udeai): uid, hotkey, stake, stake_weight, rank, trust, consensus,
incentive, dividends, emission, validator_trust, validator_permit,
last_update, registered_at, active, endpoint, protocol_version,
model_digest, region, served_at, weights and bonds.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := parseNetuid(args[0]); err != nil {
				return err
			}
			var mg subnet.Metagraph
			if err := env.querySubnet(cmd, nf, "/subnet/"+args[0]+"/metagraph", &mg); err != nil {
				return err
			}
			return env.Print(mg, func(w io.Writer) error {
				fmt.Fprintf(w, "subnet %d: %d uids, block %d, epoch %d (last at %d, tempo %d)\n\n", mg.Netuid, mg.N, mg.Block, mg.Epoch, mg.LastEpoch, mg.Tempo)
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "UID\tHOTKEY\tSTAKE\tVPERMIT\tACTIVE\tCONSENSUS\tINCENTIVE\tDIVIDENDS\tVTRUST\tEMISSION\tBONDS\tENDPOINT")
				for _, n := range mg.Neurons {
					permit := ""
					if n.ValidatorPermit {
						permit = "*"
					}
					owner := ""
					if mg.OwnerUID != nil && *mg.OwnerUID == n.UID {
						owner = " (owner)"
					}
					fmt.Fprintf(tw, "%d\t%s%s\t%s\t%s\t%t\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", n.UID, n.Hotkey, owner, n.Stake.DEAI(), permit, n.Active,
						ratio(n.Consensus), ratio(n.Incentive), ratio(n.Dividends), ratio(n.ValidatorTrust), n.Emission.DEAI(), len(n.Bonds), n.Endpoint)
				}
				return tw.Flush()
			})
		},
	}
	nf.register(cmd)
	return cmd
}

func newSubnetEpochSimCmd(env *Env) *cobra.Command {
	var in string
	cmd := &cobra.Command{
		Use:   "epoch-sim --in FILE",
		Short: "Run only the Yuma Consensus epoch math on given inputs and print JSON",
		Long: `Run Yuma Consensus epochs on the inputs in FILE ("-" for stdin), without a
chain, and print the results as JSON, to try parameter changes before making
them. Input:

  {"n": N, "stake": [N numbers], "validator_permit": [N bools] (optional),
   "params": {"kappa": 0.5, "bonds_moving_average": 900000, "bonds_penalty": 1.0,
              "yuma3": false, "liquid_alpha": {"enabled": false, "alpha_low": 0.7,
              "alpha_high": 0.9, "steepness": 1000}, "max_validators": 64},
   "emission": 1000000000,
   "epochs": [{"weights": N×N raw u16 weights (row i set by uid i), or null}]}

Output: {"epochs": [{"consensus", "incentive", "dividends", "validator_trust":
[N], "bonds": N×N, "emission": [N]}]}, ratios as reals in [0,1]; bonds and
permits carry from one epoch to the next.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader = env.Stdin
			if in != "-" {
				f, err := os.Open(in)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			return yuma.Simulate(r, env.Stdout)
		},
	}
	cmd.Flags().StringVar(&in, "in", "", `input JSON file, or "-" for stdin (required)`)
	_ = cmd.MarkFlagRequired("in")
	return cmd
}
