package cli

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

func newPaychCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "paych",
		Short: "Payment channels: open, top up, sign vouchers, redeem, settle, collect",
		Long: `Payment channels on the ledger. The payer (--from) opens a channel to a payee
with a deposit and signs cumulative vouchers off chain (deai paych voucher);
the payee redeems them at any time (deai paych redeem). Settling starts a
challenge window of the channel's settle delay during which the payee can
still redeem its latest vouchers; after it, collect refunds the rest to the
funder. A rejected transaction exits with status 2 and the ledger's reason.`,
	}
	cmd.AddCommand(
		newPaychOpenCmd(env),
		newPaychTopUpCmd(env),
		newPaychShowCmd(env),
		newPaychListCmd(env),
		newPaychVoucherCmd(env),
		newPaychRedeemCmd(env),
		newPaychSettleCmd(env),
		newPaychCollectCmd(env),
	)
	return cmd
}

func parseChannelArg(s string) (paych.ChannelID, error) {
	id, err := paych.ParseChannelID(s)
	if err != nil {
		return id, &exitError{code: 2, err: err}
	}
	return id, nil
}

// optionalAddr parses an optional address flag; "" is the zero address.
func optionalAddr(flag, s string) (tx.Address, error) {
	if s == "" {
		return tx.Address{}, nil
	}
	return parseAddrArg(flag, s)
}

func newPaychOpenCmd(env *Env) *cobra.Command {
	var (
		f        subnetTxFlags
		deposit  string
		delay    uint64
		viaOwner string
	)
	cmd := &cobra.Command{
		Use:   "open TO --deposit AMOUNT [--settle-delay BLOCKS] [--via-owner OWNER]",
		Short: "Open a payment channel from --from to TO and print its id",
		Long: `Open a payment channel from the --from key to TO with a deposit. The settle
delay (default: the chain's minimum) is the challenge window after a settle.
With --via-owner the deposit comes from OWNER's account through the spend
permission OWNER granted the --from key; OWNER then gets the rest back.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			to, err := parseAddrArg("payee", args[0])
			if err != nil {
				return err
			}
			if deposit == "" {
				return badInput("open: --deposit is required")
			}
			dep, err := parseAmountFlag("deposit", deposit)
			if err != nil {
				return err
			}
			owner, err := optionalAddr("--via-owner", viaOwner)
			if err != nil {
				return err
			}
			var want paych.ChannelID
			return env.ledgerTx(cmd, &f, func(ctx context.Context, cl chain.Client, signer tx.Address) (tx.Msg, error) {
				d := delay
				if d == 0 {
					var p paych.Params
					if err := ledgerQuery(ctx, cl, "/paych/params", &p); err != nil {
						return nil, err
					}
					d = p.MinSettleDelay
				}
				var next struct{ Seq uint64 }
				if err := ledgerQuery(ctx, cl, "/paych/next/"+signer.String(), &next); err != nil {
					return nil, err
				}
				want = paych.ChannelIDFor(signer, to, next.Seq)
				return &paych.MsgOpenChannel{From: signer, To: to, Deposit: dep, SettleDelay: d, Owner: owner}, nil
			}, func(r *ledgerTxResult) {
				r.Channel = r.event(paych.EventChannelOpened, "id")
				if r.Channel == "" {
					r.Channel = want.String()
				}
				r.To, r.Amount, r.Owner = to.String(), dep.String(), r.event(paych.EventChannelOpened, "funder")
			}, func(w io.Writer, r *ledgerTxResult) error {
				_, err := fmt.Fprintf(w, "opened channel %s\n  from %s to %s, deposit %s, funder %s\n", r.Channel, r.Signer, r.To, dep.DEAI(), r.Owner)
				return err
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&deposit, "deposit", "", "the deposit, e.g. 5deai")
	cmd.Flags().Uint64Var(&delay, "settle-delay", 0, "blocks of the challenge window after a settle (default: the chain's minimum)")
	cmd.Flags().StringVar(&viaOwner, "via-owner", "", "fund the deposit from this owner's account through its spend permission to --from")
	return cmd
}

func newPaychTopUpCmd(env *Env) *cobra.Command {
	var (
		f        subnetTxFlags
		viaOwner string
	)
	cmd := &cobra.Command{
		Use:   "topup ID AMOUNT [--via-owner OWNER]",
		Short: "Add funds to an open channel (as its funder, or its payer through --via-owner)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseChannelArg(args[0])
			if err != nil {
				return err
			}
			amt, err := tx.ParseAmount(args[1])
			if err != nil {
				return badInput("amount: %w", err)
			}
			owner, err := optionalAddr("--via-owner", viaOwner)
			if err != nil {
				return err
			}
			return env.ledgerTx(cmd, &f, func(_ context.Context, _ chain.Client, signer tx.Address) (tx.Msg, error) {
				return &paych.MsgTopUp{Sender: signer, Channel: id, Amount: amt, Owner: owner}, nil
			}, func(r *ledgerTxResult) {
				r.Channel, r.Amount = id.String(), amt.String()
			}, func(w io.Writer, r *ledgerTxResult) error {
				_, err := fmt.Fprintf(w, "topped up channel %s by %s (balance %s)\n", r.Channel, amt.DEAI(), r.event(paych.EventToppedUp, "balance"))
				return err
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&viaOwner, "via-owner", "", "fund from this owner's account through its spend permission to --from")
	return cmd
}

// paychShow is what paych show prints: the channel at the latest height
// and its lanes.
type paychShow struct {
	paych.ChannelResult
	LaneList []paych.Lane `json:"lane_list"`
}

func newPaychShowCmd(env *Env) *cobra.Command {
	var nf nodeFlag
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a channel: balance, redeemed, escrow, lanes, settling",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseChannelArg(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cl, err := env.dial(ctx, nf)
			if err != nil {
				return err
			}
			defer cl.Close()
			h, err := latestHeight(ctx, cl)
			if err != nil {
				return err
			}
			var out paychShow
			if err := ledgerQuery(ctx, cl, fmt.Sprintf("/paych/channel/%s?height=%d", id, h), &out.ChannelResult); err != nil {
				return err
			}
			if err := ledgerQuery(ctx, cl, "/paych/lanes/"+id.String(), &out.LaneList); err != nil {
				return err
			}
			return env.Print(&out, func(w io.Writer) error {
				c := &out.ChannelResult
				fmt.Fprintf(w, "channel %s  %s (as of height %d)\n", c.ID, c.State, c.AsOf)
				fmt.Fprintf(w, "  from %s to %s, funder %s\n", c.From, c.To, c.Funder)
				fmt.Fprintf(w, "  balance %s  redeemed %s  escrowed %s  refunded %s\n", c.Balance.DEAI(), c.Redeemed.DEAI(), c.Escrowed.DEAI(), c.Refunded.DEAI())
				fmt.Fprintf(w, "  settle delay %d blocks, opened at %d\n", c.SettleDelay, c.OpenedAt)
				if c.SettlingAt != 0 {
					fmt.Fprintf(w, "  settling at %d (settled: %v)\n", c.SettlingAt, c.Settled)
				}
				for _, l := range out.LaneList {
					fmt.Fprintf(w, "  lane %d: nonce %d, redeemed %s\n", l.Lane, l.Nonce, l.Redeemed.DEAI())
				}
				return nil
			})
		},
	}
	nf.register(cmd)
	return cmd
}

func newPaychListCmd(env *Env) *cobra.Command {
	var (
		nf               nodeFlag
		from, to, funder string
		state            string
	)
	cmd := &cobra.Command{
		Use:   "list (--from ADDR | --to ADDR | --funder ADDR) [--state open|settling|closed]",
		Short: "List the channels an address pays from, is paid by, or funds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			role, addr := "", ""
			for _, r := range []struct{ name, v string }{{"from", from}, {"to", to}, {"funder", funder}} {
				if r.v == "" {
					continue
				}
				if role != "" {
					return badInput("list: give one of --from, --to and --funder")
				}
				role, addr = r.name, r.v
			}
			if role == "" {
				return badInput("list: give --from, --to or --funder")
			}
			a, err := parseAddrArg("--"+role, addr)
			if err != nil {
				return err
			}
			switch state {
			case "", "open", "settling", "closed":
			default:
				return badInput("--state %q: want open, settling or closed", state)
			}
			ctx := cmd.Context()
			cl, err := env.dial(ctx, nf)
			if err != nil {
				return err
			}
			defer cl.Close()
			out := []paych.Channel{}
			after := ""
			for {
				path := fmt.Sprintf("/paych/channels/%s/%s?limit=%d", role, a, paych.MaxQueryLimit)
				if state != "" {
					path += "&state=" + state
				}
				if after != "" {
					path += "&after=" + after
				}
				var page []paych.Channel
				if err := ledgerQuery(ctx, cl, path, &page); err != nil {
					return err
				}
				out = append(out, page...)
				if len(page) < paych.MaxQueryLimit {
					break
				}
				after = page[len(page)-1].ID.String()
			}
			return env.Print(out, func(w io.Writer) error {
				if len(out) == 0 {
					_, err := fmt.Fprintln(w, "no channels")
					return err
				}
				for _, c := range out {
					fmt.Fprintf(w, "%s  %-8s  %s -> %s  balance %s  redeemed %s\n", c.ID, c.State, c.From, c.To, c.Balance.DEAI(), c.Redeemed.DEAI())
				}
				return nil
			})
		},
	}
	nf.register(cmd)
	cmd.Flags().StringVar(&from, "from", "", "channels this address pays from")
	cmd.Flags().StringVar(&to, "to", "", "channels paying this address")
	cmd.Flags().StringVar(&funder, "funder", "", "channels this address funds")
	cmd.Flags().StringVar(&state, "state", "", "only channels in this state: open, settling or closed")
	return cmd
}

// voucherOut is what paych voucher prints: the voucher and its encoding,
// which the payer hands to the payee.
type voucherOut struct {
	paych.SignedVoucher
	Encoded string `json:"encoded"` // base64 (standard) of SignedVoucher.Encode
}

func newPaychVoucherCmd(env *Env) *cobra.Command {
	var (
		nf       nodeFlag
		from     string
		passFile string
		lane     uint32
		nonce    uint64
		amount   string
		expiry   uint64
	)
	cmd := &cobra.Command{
		Use:   "voucher ID --lane N --nonce N --amount CUMULATIVE [--expiry HEIGHT]",
		Short: "Sign a voucher as the channel's payer and print its base64 encoding",
		Long: `Sign a voucher on channel ID with the --from key (the channel's payer) and
print its base64 encoding, what a payer hands to the payee for deai paych
redeem. --amount is cumulative for the lane: the payee is paid the
difference from the last voucher redeemed on it. The nonce must rise with
every voucher on a lane. No transaction is sent; the node is asked only for
the chain id and the channel, whose payer --from must be.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseChannelArg(args[0])
			if err != nil {
				return err
			}
			if amount == "" {
				return badInput("voucher: --amount is required")
			}
			amt, err := parseAmountFlag("amount", amount)
			if err != nil {
				return err
			}
			if nonce == 0 {
				return badInput("voucher: --nonce is required and at least 1")
			}
			key, err := env.loadKey(from, passFile)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cl, err := env.dial(ctx, nf)
			if err != nil {
				return err
			}
			defer cl.Close()
			st, err := cl.Status(ctx)
			if err != nil {
				return fmt.Errorf("node status: %w", err)
			}
			// The chain pays only vouchers signed by the channel's From:
			// refuse here rather than hand the payee a worthless one.
			var c paych.ChannelResult
			if err := ledgerQuery(ctx, cl, "/paych/channel/"+id.String(), &c); err != nil {
				return err
			}
			if c.From != key.Address() {
				return badInput("voucher: key %q is %s, but channel %s pays from %s", from, key.Address(), id, c.From)
			}
			v := paych.Voucher{ChainID: st.ChainID, Channel: id, Lane: lane, Nonce: nonce, Amount: amt, Expiry: expiry}
			sv, err := v.Sign(key.PrivateKey())
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			out := voucherOut{SignedVoucher: sv, Encoded: base64.StdEncoding.EncodeToString(sv.Encode())}
			return env.Print(&out, func(w io.Writer) error {
				_, err := fmt.Fprintln(w, out.Encoded)
				return err
			})
		},
	}
	nf.register(cmd)
	cmd.Flags().StringVar(&from, "from", "dev", "keystore key that signs: the channel's payer")
	addPassphraseFlag(cmd, &passFile)
	cmd.Flags().Uint32Var(&lane, "lane", 0, "the lane")
	cmd.Flags().Uint64Var(&nonce, "nonce", 0, "the voucher's nonce, above the lane's last")
	cmd.Flags().StringVar(&amount, "amount", "", "the lane's cumulative amount, e.g. 0.5deai")
	cmd.Flags().Uint64Var(&expiry, "expiry", 0, "the last height the voucher may be redeemed at (default: none)")
	return cmd
}

func newPaychRedeemCmd(env *Env) *cobra.Command {
	var f subnetTxFlags
	cmd := &cobra.Command{
		Use:   "redeem VOUCHER_B64...",
		Short: "As the payee (--from), redeem vouchers and be paid at once",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > paych.MaxRedeemVouchers {
				return badInput("redeem: %d vouchers, want at most %d per transaction", len(args), paych.MaxRedeemVouchers)
			}
			var vs []paych.SignedVoucher
			for i, a := range args {
				b, err := base64.StdEncoding.DecodeString(a)
				if err != nil {
					return badInput("voucher %d: not base64: %w", i+1, err)
				}
				sv, err := paych.DecodeSignedVoucher(b)
				if err != nil {
					return badInput("voucher %d: %w", i+1, err)
				}
				vs = append(vs, sv)
			}
			return env.ledgerTx(cmd, &f, func(_ context.Context, _ chain.Client, signer tx.Address) (tx.Msg, error) {
				return &paych.MsgRedeem{Payee: signer, Vouchers: vs}, nil
			}, func(r *ledgerTxResult) {
				var paid tx.Amount
				for _, e := range r.events {
					if e.Type != paych.EventRedeemed {
						continue
					}
					for _, a := range e.Attributes {
						if a.Key == "paid" {
							n, _ := tx.ParseAmount(a.Value)
							paid += n
						}
					}
				}
				r.Paid = paid.String()
				r.Channel = vs[0].Channel.String()
				r.Redeemed = r.event(paych.EventRedeemed, "redeemed")
			}, func(w io.Writer, r *ledgerTxResult) error {
				_, err := fmt.Fprintf(w, "redeemed %d voucher(s), paid %s\n", len(vs), r.Paid)
				return err
			})
		},
	}
	f.register(cmd)
	return cmd
}

func newPaychSettleCmd(env *Env) *cobra.Command {
	var f subnetTxFlags
	cmd := &cobra.Command{
		Use:   "settle ID",
		Short: "Start a channel's challenge window; collect is allowed after it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseChannelArg(args[0])
			if err != nil {
				return err
			}
			return env.ledgerTx(cmd, &f, func(_ context.Context, _ chain.Client, signer tx.Address) (tx.Msg, error) {
				return &paych.MsgSettle{Sender: signer, Channel: id}, nil
			}, func(r *ledgerTxResult) {
				r.Channel = id.String()
				r.SettlingAt, _ = strconv.ParseUint(r.event(paych.EventSettling, "settling_at"), 10, 64)
			}, func(w io.Writer, r *ledgerTxResult) error {
				_, err := fmt.Fprintf(w, "channel %s settling: the payee may redeem until height %d, collect from then on\n", r.Channel, r.SettlingAt)
				return err
			})
		},
	}
	f.register(cmd)
	return cmd
}

func newPaychCollectCmd(env *Env) *cobra.Command {
	var f subnetTxFlags
	cmd := &cobra.Command{
		Use:   "collect ID",
		Short: "Close a settled channel and refund the unredeemed rest to its funder",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseChannelArg(args[0])
			if err != nil {
				return err
			}
			return env.ledgerTx(cmd, &f, func(_ context.Context, _ chain.Client, signer tx.Address) (tx.Msg, error) {
				return &paych.MsgCollect{Sender: signer, Channel: id}, nil
			}, func(r *ledgerTxResult) {
				r.Channel = id.String()
				r.Refund = r.event(paych.EventCollected, "refund")
				r.Redeemed = r.event(paych.EventCollected, "redeemed")
			}, func(w io.Writer, r *ledgerTxResult) error {
				_, err := fmt.Fprintf(w, "collected channel %s: refunded %s to %s\n", r.Channel, r.Refund, r.event(paych.EventCollected, "funder"))
				return err
			})
		},
	}
	f.register(cmd)
	return cmd
}
