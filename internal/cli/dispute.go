package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/ledger/subnet"
)

func newSubnetDisputesCmd(env *Env) *cobra.Command {
	var (
		nf    nodeFlag
		state string
	)
	cmd := &cobra.Command{
		Use:   "disputes NETUID [--state open|guilty|innocent|inconclusive]",
		Short: "List a subnet's disputes: challenged receipts, committees, verdicts and slashes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			netuid, err := parseNetuid(args[0])
			if err != nil {
				return err
			}
			path := fmt.Sprintf("/subnet/%d/disputes?limit=1000", netuid)
			if state != "" {
				if _, err := subnet.ParseDisputeState(state); err != nil {
					return badInput("--state: %v", err)
				}
				path += "&state=" + state
			}
			var ds []subnet.Dispute
			if err := env.querySubnet(cmd, nf, path, &ds); err != nil {
				return err
			}
			if ds == nil {
				ds = []subnet.Dispute{}
			}
			return env.Print(ds, func(w io.Writer) error {
				if len(ds) == 0 {
					_, err := fmt.Fprintln(w, "no disputes")
					return err
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSTATE\tMINER\tCHALLENGER\tVOTES\tOPENED\tRESOLVED\tSLASHED")
				for _, d := range ds {
					guilty := 0
					for _, v := range d.Votes {
						if v.Guilty {
							guilty++
						}
					}
					resolved := ""
					if d.ResolvedAt != 0 {
						resolved = strconv.FormatUint(d.ResolvedAt, 10)
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d guilty / %d of %d\t%d\t%s\t%s\n", d.ID, d.State, d.Miner, d.Challenger, guilty, len(d.Votes),
						len(d.Committee), d.OpenedAt, resolved, d.Slashed)
				}
				return tw.Flush()
			})
		},
	}
	nf.register(cmd)
	cmd.Flags().StringVar(&state, "state", "", "only disputes in this state")
	return cmd
}

func newSubnetDisputeCmd(env *Env) *cobra.Command {
	var nf nodeFlag
	cmd := &cobra.Command{
		Use:   "dispute ID",
		Short: "Show one dispute: the receipt's claim, the committee and its votes, the verdict",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return badInput("dispute id %q: want a number", args[0])
			}
			var d subnet.Dispute
			if err := env.querySubnet(cmd, nf, fmt.Sprintf("/subnet/dispute/%d", id), &d); err != nil {
				return err
			}
			return env.Print(d, func(w io.Writer) error {
				fmt.Fprintf(w, "dispute %d on subnet %d: %s\n  miner %s, challenger %s, bond %s\n", d.ID, d.Netuid, d.State, d.Miner, d.Challenger, d.Bond)
				fmt.Fprintf(w, "  receipt claims %d+%d tokens, digest %s, model %s\n", d.PromptTokens, d.CompletionTokens, d.TokensDigest, d.ModelDigest)
				fmt.Fprintf(w, "  opened at block %d, votes until %d\n", d.OpenedAt, d.Deadline)
				var members []string
				for _, m := range d.Committee {
					members = append(members, m.String())
				}
				fmt.Fprintf(w, "  committee: %s\n", strings.Join(members, ", "))
				for _, v := range d.Votes {
					verdict := "innocent"
					if v.Guilty {
						verdict = "guilty"
					}
					fmt.Fprintf(w, "  vote at %d by %s: %s (re-executed digest %s)\n", v.Height, v.Voter, verdict, v.TokensDigest)
				}
				if d.State == subnet.DisputeGuilty {
					fmt.Fprintf(w, "  slashed %s at block %d: %s to the challenger, %s burned\n", d.Slashed, d.ResolvedAt, d.Reward, d.Burned)
				} else if d.ResolvedAt != 0 {
					fmt.Fprintf(w, "  resolved at block %d\n", d.ResolvedAt)
				}
				return nil
			})
		},
	}
	nf.register(cmd)
	return cmd
}
