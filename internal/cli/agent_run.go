package cli

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/agent"
	"github.com/deai-network/deai/internal/agent/runner"
	dlog "github.com/deai-network/deai/internal/log"
	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/tx"
)

// agentStateDir is where agent name keeps its state by default.
func agentStateDir(home, name string) string { return filepath.Join(home, "agents", name) }

// stateFlags name an agent's state directory: --state DIR, or --agent NAME
// under the home.
type stateFlags struct {
	dir, name string
}

func (f *stateFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dir, "state", "", "the agent's state directory (budget, channels, approvals, audit.log)")
	cmd.Flags().StringVar(&f.name, "agent", "", "the agent's name: its state is <home>/agents/NAME")
}

func (f *stateFlags) resolve(env *Env) (string, error) {
	switch {
	case f.dir != "" && f.name != "":
		return "", badInput("give --state or --agent, not both")
	case f.dir != "":
		return f.dir, nil
	case f.name != "":
		return agentStateDir(env.Home, f.name), nil
	}
	return "", badInput("which agent? give --agent NAME or --state DIR")
}

func newAgentRunCmd(env *Env) *cobra.Command {
	var (
		nf        nodeFlag
		keyName   string
		passFile  string
		stateDir  string
		once      bool
		input     string
		logLevel  string
		logFormat string
	)
	cmd := &cobra.Command{
		Use:   "run FILE.yaml",
		Short: "Run a declarative agent: triggers, paid steps, services it sells, outputs",
		Long: `Run the agent FILE.yaml describes until interrupted (or one run with --once).

The file names the agent's budget (total, per period, per call, allowlist,
expiry, approval threshold), the services it sells behind a 402 paywall
(registered on chain), its triggers (every: DURATION, http: LISTEN), the
steps of a run (call: a registry service paid per call with vouchers,
model: a chat completion through a deai gateway, http:, read:, value:,
transfer:, stake:, lease:) and its outputs (file:, http:). See
docs/agents.md and examples/agents/.

Every payment is reserved in the budget before a voucher is signed and
goes through a payment channel per payee, opened on first use; every
payment and action is appended to the signed audit log (deai agent log).
Payments above approve_above wait for "deai agent approve"; "deai agent
kill" stops all payments. State lives in --state, else the file's state:,
else <home>/agents/NAME.`,
		Example: `  deai agent run examples/agents/pipeline.yaml --key pipeline
  deai agent run fetcher.yaml --once -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			spec, err := runner.Load(args[0])
			if err != nil {
				return invalidInput(err)
			}
			if keyName == "" {
				keyName = spec.Key
			}
			if keyName == "" {
				return badInput("which key signs for the agent? give --key NAME or key: in %s", args[0])
			}
			key, err := env.loadKey(keyName, passFile)
			if err != nil {
				return err
			}
			cl, err := env.dial(ctx, nf)
			if err != nil {
				return err
			}
			defer cl.Close()
			dir, _ := filepath.Abs(filepath.Dir(args[0]))
			if stateDir == "" && spec.State == "" {
				stateDir = agentStateDir(env.Home, spec.Name)
			}
			log, err := dlog.New(env.Stderr, logLevel, logFormat)
			if err != nil {
				return badInput("%v", err)
			}
			r, err := runner.New(ctx, runner.Options{Spec: spec, Dir: dir, StateDir: stateDir, Key: key, Chain: cl,
				Leaser: node.AgentLeaser(cl, key), Logger: log})
			if err != nil {
				return err
			}
			if once {
				res, rerr := r.RunOnce(ctx, []byte(input))
				cerr := r.Close()
				if err := env.Print(res, func(w io.Writer) error {
					_, err := fmt.Fprintf(w, "run %d paid %s\n%s\n", res.Run, res.Paid, res.Output)
					return err
				}); err != nil {
					return err
				}
				return errors.Join(rerr, cerr)
			}
			fmt.Fprintf(env.Stderr, "agent %s (%s) running; state in %s; Ctrl-C stops it\n", spec.Name, key.Address(), r.StateDir())
			return r.Run(ctx)
		},
	}
	nf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&keyName, "key", "", "keystore key the agent signs with (default: the file's key:)")
	f.StringVar(&passFile, "passphrase-file", "", "file holding the key's passphrase (else $"+PassphraseEnv+" or a prompt)")
	f.StringVar(&stateDir, "state", "", "state directory (default: the file's state:, else <home>/agents/NAME)")
	f.BoolVar(&once, "once", false, "run the steps once, print the result and exit (services and triggers are not started)")
	f.StringVar(&input, "input", "", "with --once: the run's .Input")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "text or json")
	return cmd
}

func newAgentLogCmd(env *Env) *cobra.Command {
	var (
		sf   stateFlags
		kind string
		run  uint64
	)
	cmd := &cobra.Command{
		Use:   "log [--agent NAME | --state DIR | FILE]",
		Short: "Verify and print an agent's signed audit log",
		Long: `Read an agent's audit log, verify every line (its signature by the agent
key, the sequence and the hash chain to the line before) and print the
entries with totals: paid, earned, spent on chain. A log that does not
verify prints the entries up to the fault and exits with status 1.`,
		Example: `  deai agent log --agent pipeline
  deai agent log --agent pipeline --kind payment -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := ""
			if len(args) == 1 {
				if sf.dir != "" || sf.name != "" {
					return badInput("give a FILE or --agent/--state, not both")
				}
				path = args[0]
			} else {
				dir, err := sf.resolve(env)
				if err != nil {
					return err
				}
				path = runner.AuditPath(dir)
			}
			fh, err := os.Open(path)
			if err != nil {
				return err
			}
			defer fh.Close()
			es, verr := agent.ReadAuditLog(fh, nil)
			var shown []agent.VerifiedEntry
			var sum logTotals
			for _, e := range es {
				sum.add(e.Entry)
				if (kind == "" || e.Entry.Kind == kind) && (run == 0 || e.Entry.Run == run) {
					shown = append(shown, e)
				}
			}
			out := struct {
				Path     string                `json:"path"`
				Verified bool                  `json:"verified"`
				Error    string                `json:"error,omitempty"`
				Totals   logTotals             `json:"totals"`
				Entries  []agent.VerifiedEntry `json:"entries"`
			}{Path: path, Verified: verr == nil, Totals: sum, Entries: shown}
			if out.Entries == nil {
				out.Entries = []agent.VerifiedEntry{}
			}
			if verr != nil {
				out.Error = verr.Error()
			}
			if err := env.Print(out, func(w io.Writer) error {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SEQ\tTIME\tKIND\tRUN\tSTEP\tCOUNTERPARTY\tAMOUNT\tDETAIL")
				for _, v := range shown {
					e := v.Entry
					cp := ""
					if !e.Counterparty.IsZero() {
						cp = e.Counterparty.String()
					}
					amt := ""
					if e.Amount != 0 {
						amt = e.Amount.String()
					}
					detail := e.Detail
					if e.TxHash != "" {
						detail = strings.TrimSpace(detail + " tx " + e.TxHash)
					}
					if e.Channel != "" {
						detail = strings.TrimSpace(fmt.Sprintf("%s channel %s lane %d nonce %d", detail, e.Channel, e.Lane, e.Nonce))
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, time.UnixMilli(e.TimeMs).UTC().Format(time.RFC3339), e.Kind,
						runStr(e.Run), e.Step, cp, amt, detail)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				fmt.Fprintf(w, "%d entries; paid %s in %d payments, earned %s in %d calls, on chain %s in %d actions; %d refused\n",
					len(es), sum.Paid, sum.Payments, sum.Earned, sum.Calls, sum.OnChain, sum.Actions, sum.Refused)
				if verr == nil {
					_, err := fmt.Fprintln(w, "log verified: signatures, sequence and hash chain intact")
					return err
				}
				_, err := fmt.Fprintf(w, "LOG BROKEN: %v\n", verr)
				return err
			}); err != nil {
				return err
			}
			if verr != nil {
				return &exitError{code: 1, err: verr}
			}
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&kind, "kind", "", "show only entries of this kind (payment, earned, action, payment_refused, approval_pending, ...)")
	cmd.Flags().Uint64Var(&run, "run", 0, "show only this run's entries")
	return cmd
}

func runStr(n uint64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

// logTotals sums an audit log.
type logTotals struct {
	Paid     tx.Amount `json:"paid"`
	Payments int       `json:"payments"`
	Earned   tx.Amount `json:"earned"`
	Calls    int       `json:"calls"`
	OnChain  tx.Amount `json:"on_chain"`
	Actions  int       `json:"actions"`
	Refused  int       `json:"refused"`
}

func (t *logTotals) add(e agent.AuditEntry) {
	switch e.Kind {
	case agent.AuditPayment:
		t.Paid += e.Amount
		t.Payments++
	case agent.AuditEarned:
		t.Earned += e.Amount
		t.Calls++
	case agent.AuditAction:
		// Channel deposits are refundable, not spent.
		if e.Step != "open_channel" && e.Step != "top_up" {
			t.OnChain += e.Amount
		}
		t.Actions++
	case agent.AuditPaymentRefused:
		t.Refused++
	}
}

func newAgentApproveCmd(env *Env) *cobra.Command {
	var (
		sf       stateFlags
		from     string
		passFile string
	)
	cmd := &cobra.Command{
		Use:   "approve [ID] --agent NAME --from OWNER_KEY",
		Short: "Approve a payment waiting above an agent's approval threshold",
		Long: `A payment above the budget's approve_above waits for the owner: the agent
writes it to its state's approvals/ID.json and its run fails with
approval_required. Without ID this lists the pending approvals; with ID it
signs the approval (counterparty, amount, expiry) with the owner's key
--from and leaves the signature where the running agent picks it up within
a second; the payment then goes through on the agent's next run. An
approval lives until its expiry (15 minutes by default).`,
		Example: `  deai agent approve --agent pipeline
  deai agent approve ap-3-1f2e3d4c5b6a7980 --agent pipeline --from owner`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := sf.resolve(env)
			if err != nil {
				return err
			}
			adir := runner.ApprovalsDir(dir)
			if len(args) == 0 {
				pend, err := pendingApprovals(adir)
				if err != nil {
					return err
				}
				return env.Print(pend, func(w io.Writer) error {
					if len(pend) == 0 {
						_, err := fmt.Fprintln(w, "no pending approvals")
						return err
					}
					tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "ID\tCOUNTERPARTY\tAMOUNT\tEXPIRES")
					for _, a := range pend {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.ID, a.Counterparty, a.Amount, a.Expires.UTC().Format(time.RFC3339))
					}
					return tw.Flush()
				})
			}
			id := args[0]
			if strings.ContainsAny(id, `/\`) || id == "" {
				return badInput("approval id %q is malformed", id)
			}
			raw, err := os.ReadFile(filepath.Join(adir, id+".json"))
			if errors.Is(err, os.ErrNotExist) {
				return badInput("no pending approval %s in %s (it was used, refused or expired)", id, adir)
			}
			if err != nil {
				return err
			}
			var a agent.Approval
			if err := json.Unmarshal(raw, &a); err != nil || a.ID != id {
				return fmt.Errorf("pending approval %s is corrupt", id)
			}
			if time.Now().After(a.Expires) {
				return badInput("approval %s expired at %s", id, a.Expires.UTC().Format(time.RFC3339))
			}
			key, err := env.loadKey(from, passFile)
			if err != nil {
				return err
			}
			sig := agent.SignApproval(key.PrivateKey(), a)
			if err := os.WriteFile(filepath.Join(adir, id+".sig"), []byte(hex.EncodeToString(sig)+"\n"), 0o600); err != nil {
				return err
			}
			return env.Print(struct {
				agent.Approval
				Signer tx.Address `json:"signer"`
			}{a, key.Address()}, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "approved %s: %s to %s, signed by %s; the agent applies it within a second\n", id, a.Amount, a.Counterparty, key.Address())
				return err
			})
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&from, "from", "dev", "the owner's keystore key (its public key is the budget's owner_key)")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "file holding the key's passphrase")
	return cmd
}

func pendingApprovals(dir string) ([]agent.Approval, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	out := []agent.Approval{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var a agent.Approval
		if json.Unmarshal(raw, &a) == nil && a.ID != "" {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Expires.Before(out[j].Expires) })
	return out, nil
}

func newAgentKillCmd(env *Env) *cobra.Command {
	var (
		sf     stateFlags
		resume bool
	)
	cmd := &cobra.Command{
		Use:   "kill --agent NAME [--resume]",
		Short: "Stop (or resume) every payment of a running agent",
		Long: `The kill switch: writes the KILL file in the agent's state directory; within
a second the running agent refuses every payment and on-chain action
(runs fail with budget killed), and the state is kept across restarts
until --resume removes it. For the on-chain half, revoke the agent's
spend permission with "deai agent revoke".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := sf.resolve(env)
			if err != nil {
				return err
			}
			p := runner.KillPath(dir)
			if resume {
				if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
				fmt.Fprintf(env.Stdout, "kill switch off for %s\n", dir)
				return nil
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "kill switch on for %s: payments stop within a second\n", dir)
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().BoolVar(&resume, "resume", false, "turn the kill switch off")
	return cmd
}
