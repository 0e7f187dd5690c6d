package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

// newAgentCmd is the agent layer: the declarative runtime (run, log,
// approve, kill; internal/agent/runner), the on-chain service registry and
// the spend permissions an owner grants an agent key.
func newAgentCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run agents with hard budgets; the service registry and spend permissions",
		Long: `Run declarative agents (run, log, approve, kill): budgets enforced at the
signer, paid calls to other agents' services and to a deai gateway over
payment channels, on-chain actions, a signed audit log.

Register agent services for discovery (name, endpoint, schema digest,
price per call, capabilities, expiry) and grant agent keys spend
permissions: an allowance per period, a total cap, a per-call max, an
allowlist and an expiry, all enforced by the chain. Transactions are signed
by the keystore key --from (default "dev"): the service owner, the owner
granting or revoking, or the agent key spending. A rejected transaction
exits with status 2 and the ledger's reason.`,
	}
	cmd.AddCommand(
		newAgentRunCmd(env),
		newAgentLogCmd(env),
		newAgentApproveCmd(env),
		newAgentKillCmd(env),
		newAgentRegisterCmd(env),
		newAgentUpdateCmd(env),
		newAgentRenewCmd(env),
		newAgentDeregisterCmd(env),
		newAgentShowCmd(env),
		newAgentFindCmd(env),
		newAgentGrantCmd(env),
		newAgentRevokeCmd(env),
		newAgentPermissionCmd(env),
		newAgentSpendCmd(env),
	)
	return cmd
}

// badInput marks err as the user's mistake: exit status 2.
func badInput(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, a...)}
}

// ledgerTxResult is what every agent and paych tx command prints; the
// fields after Signer are set by the commands they concern.
type ledgerTxResult struct {
	Hash   string `json:"hash"`
	Code   uint32 `json:"code"`
	Reason string `json:"reason,omitempty"`
	Log    string `json:"log,omitempty"`
	Height int64  `json:"height,omitempty"`
	Signer string `json:"signer"`

	Name     string `json:"name,omitempty"`
	Expiry   uint64 `json:"expiry,omitempty"`
	Fee      string `json:"fee,omitempty"`
	Owner    string `json:"owner,omitempty"`
	Agent    string `json:"agent,omitempty"`
	To       string `json:"to,omitempty"`
	Amount   string `json:"amount,omitempty"`
	Channel  string `json:"channel,omitempty"`
	Redeemed string `json:"redeemed,omitempty"`
	Paid     string `json:"paid,omitempty"`

	SettlingAt uint64 `json:"settling_at,omitempty"`
	Refund     string `json:"refund,omitempty"`

	Dispute   string `json:"dispute,omitempty"`
	Committee string `json:"committee,omitempty"`
	Deadline  string `json:"deadline,omitempty"`
	Slashed   string `json:"slashed,omitempty"`

	events []chain.AppEvent
}

// event returns attribute key of the first event of type typ.
func (r *ledgerTxResult) event(typ, key string) string {
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

// ledgerTx unlocks the signer, builds the message (build may query the
// chain), broadcasts it, waits for its block and prints the outcome: text
// for a committed tx, the ledger's log and reason for a refused one
// (exit 2). fill copies what the events report into the result.
func (e *Env) ledgerTx(cmd *cobra.Command, f *subnetTxFlags,
	build func(ctx context.Context, cl chain.Client, signer tx.Address) (tx.Msg, error),
	fill func(r *ledgerTxResult),
	text func(w io.Writer, r *ledgerTxResult) error,
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
	if err := msg.ValidateBasic(); err != nil {
		return &exitError{code: 2, err: err}
	}
	br, err := broadcastMsg(ctx, cl, key, msg, f.fee, f.timeout)
	if err != nil {
		return err
	}
	res := &ledgerTxResult{Hash: br.Hash, Code: br.Code, Reason: br.Reason, Log: br.Log, Height: br.Height, Signer: br.Signer, events: br.events}
	if res.Code == 0 && fill != nil {
		fill(res)
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
		return &exitError{code: 2, err: fmt.Errorf("tx rejected with code %d (%s): %s", res.Code, res.Reason, res.Log)}
	}
	return nil
}

// ledgerQuery is queryJSON with a query the ledger calls bad (an argument
// it refuses) reported as the user's mistake, exit 2.
func ledgerQuery(ctx context.Context, cl chain.Client, path string, v any) error {
	r, err := cl.Query(ctx, path, nil)
	if err != nil {
		return fmt.Errorf("query %s: %w", path, err)
	}
	if r.Code != 0 {
		code := 1
		if module.Reason(r.Code) == module.ReasonBadQuery {
			code = 2
		}
		return &exitError{code: code, err: fmt.Errorf("query %s: %s (code %d %s)", path, r.Log, r.Code, module.Reason(r.Code))}
	}
	if err := json.Unmarshal(r.Value, v); err != nil {
		return fmt.Errorf("query %s: decode: %w", path, err)
	}
	return nil
}

// latestHeight is the node's latest committed height, which queries whose
// answer depends on the height (expiry, the current period) pass on.
func latestHeight(ctx context.Context, cl chain.Client) (uint64, error) {
	st, err := cl.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("node status: %w", err)
	}
	if st.LatestHeight < 1 {
		return 0, errors.New("node status: no block committed yet")
	}
	return uint64(st.LatestHeight), nil
}

// blockTimeWindow is how many recent blocks recentBlockTime averages over.
const blockTimeWindow = 100

// recentBlockTime is the chain's mean block interval over its last (up
// to) blockTimeWindow blocks, from the times in their headers.
func recentBlockTime(ctx context.Context, cl chain.Client, latest uint64) (time.Duration, error) {
	if latest < 2 {
		return 0, errors.New("estimate block time: the chain has fewer than 2 blocks; give a number of blocks instead")
	}
	n := min(latest-1, blockTimeWindow)
	last, err := cl.Block(ctx, int64(latest))
	if err != nil {
		return 0, fmt.Errorf("estimate block time: block %d: %w", latest, err)
	}
	first, err := cl.Block(ctx, int64(latest-n))
	if err != nil {
		return 0, fmt.Errorf("estimate block time: block %d: %w", latest-n, err)
	}
	d := last.Time.Sub(first.Time) / time.Duration(n)
	if d <= 0 {
		return 0, fmt.Errorf("estimate block time: blocks %d to %d are not in time order; give a number of blocks instead", latest-n, latest)
	}
	return d, nil
}

// parseSpan parses a span given as blocks ("600") or a duration ("90s",
// "1h", "1d" or "2d12h" are allowed: d is 24h). It reports whether it was a
// duration, so that the caller converts it with the chain's block time.
func parseSpan(flag, s string) (blocks uint64, d time.Duration, err error) {
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		if n == 0 {
			return 0, 0, fmt.Errorf("--%s 0: want at least 1 block", flag)
		}
		return n, 0, nil
	}
	rest := s
	if i := strings.Index(s, "d"); i > 0 {
		days, err := strconv.ParseUint(s[:i], 10, 32)
		if err != nil {
			return 0, 0, fmt.Errorf("--%s %q: want blocks (600) or a duration (90s, 1h, 1d)", flag, s)
		}
		d = time.Duration(days) * 24 * time.Hour
		rest = s[i+1:]
	}
	if rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil {
			return 0, 0, fmt.Errorf("--%s %q: want blocks (600) or a duration (90s, 1h, 1d)", flag, s)
		}
		d += r
	}
	if d <= 0 {
		return 0, 0, fmt.Errorf("--%s %q: want a positive duration", flag, s)
	}
	return 0, d, nil
}

// spanBlocks turns a parsed span into blocks: a duration is divided by
// the chain's recent block time, rounding up.
func spanBlocks(ctx context.Context, cl chain.Client, latest, blocks uint64, d time.Duration) (uint64, error) {
	if d == 0 {
		return blocks, nil
	}
	bt, err := recentBlockTime(ctx, cl, latest)
	if err != nil {
		return 0, err
	}
	return uint64((d + bt - 1) / bt), nil
}

func parseAddrArg(what, s string) (tx.Address, error) {
	a, err := tx.ParseAddress(s)
	if err != nil {
		return a, badInput("%s %q: %w", what, s, err)
	}
	return a, nil
}

func parseAmountFlag(flag, s string) (tx.Amount, error) {
	a, err := tx.ParseAmount(s)
	if err != nil {
		return 0, badInput("--%s: %w", flag, err)
	}
	return a, nil
}

func validServiceName(name string) error {
	if err := agents.ValidName(name); err != nil {
		return &exitError{code: 2, err: err}
	}
	return nil
}

// serviceFlags are the flags that describe a service.
type serviceFlags struct {
	endpoint     string
	price        string
	description  string
	schema       string
	schemaDigest string
	capabilities []string
}

func (f *serviceFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.endpoint, "endpoint", "", "the service's URL, http(s)://host[:port][/path]")
	fl.StringVar(&f.price, "price", "", "price per call, e.g. 0.001deai or 1000udeai (0udeai: free)")
	fl.StringVar(&f.description, "description", "", "what the service does (up to 512 bytes)")
	fl.StringVar(&f.schema, "schema", "", "file holding the service's canonical request/response schema; its sha256 is the schema digest")
	fl.StringVar(&f.schemaDigest, "schema-digest", "", "the schema digest itself: 64 hex digits (or sha256:…)")
	fl.StringArrayVar(&f.capabilities, "capability", nil, "a capability tag, e.g. llm/chat (repeat for several)")
	cmd.MarkFlagsMutuallyExclusive("schema", "schema-digest")
}

// apply sets the fields of spec whose flags were given.
func (f *serviceFlags) apply(cmd *cobra.Command, spec *agents.ServiceSpec) error {
	fl := cmd.Flags()
	if fl.Changed("endpoint") {
		spec.Endpoint = f.endpoint
	}
	if fl.Changed("price") {
		p, err := parseAmountFlag("price", f.price)
		if err != nil {
			return err
		}
		spec.Price = p
	}
	if fl.Changed("description") {
		spec.Description = f.description
	}
	switch {
	case fl.Changed("schema"):
		b, err := os.ReadFile(f.schema)
		if err != nil {
			return badInput("--schema: %w", err)
		}
		spec.SchemaDigest = sha256.Sum256(b)
	case fl.Changed("schema-digest"):
		d, err := agents.ParseDigest(strings.TrimPrefix(f.schemaDigest, "sha256:"))
		if err != nil {
			return badInput("--schema-digest: %w", err)
		}
		spec.SchemaDigest = d
	}
	if fl.Changed("capability") {
		cs := slices.Clone(f.capabilities)
		slices.Sort(cs)
		spec.Capabilities = slices.Compact(cs)
	}
	return nil
}

func newAgentRegisterCmd(env *Env) *cobra.Command {
	var (
		f      subnetTxFlags
		sf     serviceFlags
		blocks uint64
		expiry uint64
	)
	cmd := &cobra.Command{
		Use:   "register NAME --endpoint URL --price AMOUNT (--schema FILE | --schema-digest HEX)",
		Short: "Register an agent service under a unique name",
		Long: `Register an agent service under a unique, DNS-like name (lower-case letters,
digits, '-' and '.'), owned by the --from key. The registration lasts
--blocks blocks from the latest height (default 86400), or up to the height
--expiry; the chain burns its fee per block of registration.`,
		Example: "  deai agent register summarize.acme --endpoint https://acme.example/v1 --price 0.001deai --schema schema.json --capability llm/summarize",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := validServiceName(name); err != nil {
				return err
			}
			for _, req := range []string{"endpoint", "price"} {
				if !cmd.Flags().Changed(req) {
					return badInput("register %s: --%s is required", name, req)
				}
			}
			if !cmd.Flags().Changed("schema") && !cmd.Flags().Changed("schema-digest") {
				return badInput("register %s: give --schema FILE or --schema-digest HEX", name)
			}
			if cmd.Flags().Changed("blocks") && cmd.Flags().Changed("expiry") {
				return badInput("register %s: give --blocks or --expiry, not both", name)
			}
			if blocks == 0 {
				return badInput("--blocks 0: want at least 1")
			}
			var spec agents.ServiceSpec
			if err := sf.apply(cmd, &spec); err != nil {
				return err
			}
			return env.ledgerTx(cmd, &f, func(ctx context.Context, cl chain.Client, signer tx.Address) (tx.Msg, error) {
				exp := expiry
				if exp == 0 {
					h, err := latestHeight(ctx, cl)
					if err != nil {
						return nil, err
					}
					exp = h + blocks
				}
				return &agents.MsgRegisterService{Owner: signer, Name: name, ServiceSpec: spec, Expiry: exp}, nil
			}, func(r *ledgerTxResult) {
				r.Name, r.Owner, r.Fee = name, r.Signer, r.event(agents.EventServiceRegistered, "fee")
				r.Expiry, _ = strconv.ParseUint(r.event(agents.EventServiceRegistered, "expiry"), 10, 64)
			}, func(w io.Writer, r *ledgerTxResult) error {
				_, err := fmt.Fprintf(w, "registered %s, owner %s, live through height %d (fee %s)\n", r.Name, r.Owner, r.Expiry, r.Fee)
				return err
			})
		},
	}
	f.register(cmd)
	sf.register(cmd)
	cmd.Flags().Uint64Var(&blocks, "blocks", 86400, "blocks the registration lasts from the latest height")
	cmd.Flags().Uint64Var(&expiry, "expiry", 0, "the last height the registration is live (instead of --blocks)")
	return cmd
}

func newAgentUpdateCmd(env *Env) *cobra.Command {
	var (
		f  subnetTxFlags
		sf serviceFlags
	)
	cmd := &cobra.Command{
		Use:   "update NAME [--endpoint URL] [--price AMOUNT] [--description TEXT] [--schema FILE | --schema-digest HEX] [--capability TAG...]",
		Short: "Change a service's record; fields whose flags are not given stay as they are",
		Long: `Change the description, endpoint, schema digest, price or capabilities of a
service the --from key owns. The record is read first and only the fields
given on the command line change; --capability replaces the whole list.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := validServiceName(name); err != nil {
				return err
			}
			var probe agents.ServiceSpec
			if err := sf.apply(cmd, &probe); err != nil {
				return err
			}
			return env.ledgerTx(cmd, &f, func(ctx context.Context, cl chain.Client, signer tx.Address) (tx.Msg, error) {
				var sv agents.Service
				if err := ledgerQuery(ctx, cl, "/agents/service/"+name, &sv); err != nil {
					return nil, err
				}
				spec := sv.ServiceSpec
				if err := sf.apply(cmd, &spec); err != nil {
					return nil, err
				}
				return &agents.MsgUpdateService{Owner: signer, Name: name, ServiceSpec: spec}, nil
			}, func(r *ledgerTxResult) {
				r.Name, r.Owner = name, r.Signer
			}, func(w io.Writer, r *ledgerTxResult) error {
				_, err := fmt.Fprintf(w, "updated %s\n", r.Name)
				return err
			})
		},
	}
	f.register(cmd)
	sf.register(cmd)
	return cmd
}

func newAgentRenewCmd(env *Env) *cobra.Command {
	var (
		f      subnetTxFlags
		blocks uint64
	)
	cmd := &cobra.Command{
		Use:   "renew NAME --blocks N",
		Short: "Extend a service's registration by N blocks",
		Long: `Extend a service's registration by N blocks past its current expiry (or
past the latest height, if it has expired but is still in the state). The
chain burns the fee for the blocks added.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := validServiceName(name); err != nil {
				return err
			}
			if blocks == 0 {
				return badInput("renew %s: --blocks is required and at least 1", name)
			}
			return env.ledgerTx(cmd, &f, func(ctx context.Context, cl chain.Client, signer tx.Address) (tx.Msg, error) {
				var sv agents.Service
				if err := ledgerQuery(ctx, cl, "/agents/service/"+name, &sv); err != nil {
					return nil, err
				}
				h, err := latestHeight(ctx, cl)
				if err != nil {
					return nil, err
				}
				return &agents.MsgRenewService{Owner: signer, Name: name, Expiry: max(sv.Expiry, h) + blocks}, nil
			}, func(r *ledgerTxResult) {
				r.Name, r.Owner, r.Fee = name, r.Signer, r.event(agents.EventServiceRenewed, "fee")
				r.Expiry, _ = strconv.ParseUint(r.event(agents.EventServiceRenewed, "expiry"), 10, 64)
			}, func(w io.Writer, r *ledgerTxResult) error {
				_, err := fmt.Fprintf(w, "renewed %s through height %d (fee %s)\n", r.Name, r.Expiry, r.Fee)
				return err
			})
		},
	}
	f.register(cmd)
	cmd.Flags().Uint64Var(&blocks, "blocks", 0, "blocks to add to the registration")
	return cmd
}

func newAgentDeregisterCmd(env *Env) *cobra.Command {
	var f subnetTxFlags
	cmd := &cobra.Command{
		Use:   "deregister NAME",
		Short: "Remove a service's record and free its name at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := validServiceName(name); err != nil {
				return err
			}
			return env.ledgerTx(cmd, &f, func(_ context.Context, _ chain.Client, signer tx.Address) (tx.Msg, error) {
				return &agents.MsgDeregisterService{Owner: signer, Name: name}, nil
			}, func(r *ledgerTxResult) {
				r.Name, r.Owner = name, r.Signer
			}, func(w io.Writer, r *ledgerTxResult) error {
				_, err := fmt.Fprintf(w, "deregistered %s\n", r.Name)
				return err
			})
		},
	}
	f.register(cmd)
	return cmd
}

func printService(w io.Writer, s *agents.Service) error {
	caps := strings.Join(s.Capabilities, ", ")
	if caps == "" {
		caps = "-"
	}
	_, err := fmt.Fprintf(w, "%s\n  owner         %s\n  endpoint      %s\n  price         %s per call\n  schema digest %s\n  capabilities  %s\n  description   %s\n  expiry        %d (registered at %d, updated at %d)\n",
		s.Name, s.Owner, s.Endpoint, s.Price.DEAI(), s.SchemaDigest, caps, s.Description, s.Expiry, s.RegisteredAt, s.UpdatedAt)
	return err
}

func newAgentShowCmd(env *Env) *cobra.Command {
	var nf nodeFlag
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a live service's record",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := validServiceName(name); err != nil {
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
			var sv agents.Service
			if err := ledgerQuery(ctx, cl, fmt.Sprintf("/agents/service/%s?height=%d", name, h), &sv); err != nil {
				return err
			}
			return env.Print(&sv, func(w io.Writer) error { return printService(w, &sv) })
		},
	}
	nf.register(cmd)
	return cmd
}

// findPageLimit is the page size find reads the registry with.
const findPageLimit = 1000

func newAgentFindCmd(env *Env) *cobra.Command {
	var (
		nf         nodeFlag
		capability string
		maxPrice   string
		owner      string
	)
	cmd := &cobra.Command{
		Use:   "find [--capability TAG] [--max-price AMOUNT] [--owner ADDR]",
		Short: "Discover live services, cheapest first",
		Long: `List the services live at the latest height, filtered by capability tag,
by the most one is willing to pay per call, or by owner, sorted by price
then name.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			params := url.Values{}
			if capability != "" {
				params.Set("capability", capability)
			}
			var maxP tx.Amount
			if maxPrice != "" {
				p, err := parseAmountFlag("max-price", maxPrice)
				if err != nil {
					return err
				}
				maxP = p
				params.Set("max_price", strconv.FormatUint(uint64(p), 10))
			}
			base := "/agents/services"
			if owner != "" {
				a, err := parseAddrArg("--owner", owner)
				if err != nil {
					return err
				}
				if capability != "" {
					return badInput("--owner and --capability: give one of them")
				}
				base += "/owner/" + a.String()
			}
			cl, err := env.dial(ctx, nf)
			if err != nil {
				return err
			}
			defer cl.Close()
			h, err := latestHeight(ctx, cl)
			if err != nil {
				return err
			}
			params.Set("height", strconv.FormatUint(h, 10))
			params.Set("limit", strconv.Itoa(findPageLimit))
			out := []agents.Service{}
			for {
				// The ledger reads values unescaped (it may not import
				// net/url), so the query string is joined by hand.
				var page []agents.Service
				if err := ledgerQuery(ctx, cl, base+"?"+rawQuery(params), &page); err != nil {
					return err
				}
				for _, s := range page {
					// services/owner has no max_price filter.
					if maxPrice == "" || s.Price <= maxP {
						out = append(out, s)
					}
				}
				if len(page) < findPageLimit {
					break
				}
				params.Set("after", page[len(page)-1].Name)
			}
			slices.SortFunc(out, func(a, b agents.Service) int {
				if a.Price != b.Price {
					if a.Price < b.Price {
						return -1
					}
					return 1
				}
				return strings.Compare(a.Name, b.Name)
			})
			return env.Print(out, func(w io.Writer) error {
				if len(out) == 0 {
					_, err := fmt.Fprintln(w, "no live services match")
					return err
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tPRICE\tENDPOINT\tCAPABILITIES\tEXPIRY\tOWNER")
				for _, s := range out {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", s.Name, s.Price.DEAI(), s.Endpoint, strings.Join(s.Capabilities, ","), s.Expiry, s.Owner)
				}
				return tw.Flush()
			})
		},
	}
	nf.register(cmd)
	cmd.Flags().StringVar(&capability, "capability", "", "only services with this capability tag")
	cmd.Flags().StringVar(&maxPrice, "max-price", "", "only services priced at most this per call, e.g. 0.01deai")
	cmd.Flags().StringVar(&owner, "owner", "", "only services of this owner")
	return cmd
}

// rawQuery joins params as k=v&k=v in key order, unescaped.
func rawQuery(params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k + "=" + params.Get(k))
	}
	return b.String()
}

// noTotalCap is the total cap of a grant given without --total-cap: the
// largest amount, so that only the period allowance binds.
const noTotalCap = tx.Amount(math.MaxUint64)

func newAgentGrantCmd(env *Env) *cobra.Command {
	var (
		f          subnetTxFlags
		allowance  string
		period     string
		totalCap   string
		perCallMax string
		allow      []string
		expiresIn  string
	)
	cmd := &cobra.Command{
		Use:   "grant AGENT_ADDR --allowance AMOUNT --period 1h|1d|BLOCKS",
		Short: "Let an agent key spend the --from account's funds within limits",
		Long: `Grant the agent key AGENT_ADDR a spend permission on the --from account: at
most --allowance per period, at most --total-cap over the permission's life,
at most --per-call-max per debit, only to --allow counterparties (when
given), until --expires-in from now. A new grant replaces the old one with
its counters at zero; deai agent revoke is the kill switch.

--period and --expires-in take blocks (600) or a duration (90s, 1h, 1d,
2d12h). A duration is converted to blocks with the chain's recent block
time: the mean interval between the latest block's header time and that of
the block 100 before it (or the first), rounded up to whole blocks. The
chain counts blocks, so a period is only as long in time as the blocks are.`,
		Example: "  deai agent grant deai1… --allowance 5deai --period 1d --total-cap 100deai --per-call-max 0.5deai",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			agent, err := parseAddrArg("agent", args[0])
			if err != nil {
				return err
			}
			if allowance == "" || period == "" {
				return badInput("grant: --allowance and --period are required")
			}
			lim := agents.SpendLimits{TotalCap: noTotalCap}
			if lim.Allowance, err = parseAmountFlag("allowance", allowance); err != nil {
				return err
			}
			if totalCap != "" {
				if lim.TotalCap, err = parseAmountFlag("total-cap", totalCap); err != nil {
					return err
				}
			}
			if perCallMax != "" {
				if lim.PerCallMax, err = parseAmountFlag("per-call-max", perCallMax); err != nil {
					return err
				}
			}
			for _, s := range allow {
				a, err := parseAddrArg("--allow", s)
				if err != nil {
					return err
				}
				lim.Allowlist = append(lim.Allowlist, a)
			}
			slices.SortFunc(lim.Allowlist, func(a, b tx.Address) int { return bytes.Compare(a[:], b[:]) })
			lim.Allowlist = slices.Compact(lim.Allowlist)
			pBlocks, pDur, err := parseSpan("period", period)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			var eBlocks uint64
			var eDur time.Duration
			if expiresIn != "" {
				if eBlocks, eDur, err = parseSpan("expires-in", expiresIn); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			return env.ledgerTx(cmd, &f, func(ctx context.Context, cl chain.Client, signer tx.Address) (tx.Msg, error) {
				h, err := latestHeight(ctx, cl)
				if err != nil {
					return nil, err
				}
				l := lim
				if l.PeriodBlocks, err = spanBlocks(ctx, cl, h, pBlocks, pDur); err != nil {
					return nil, err
				}
				if expiresIn != "" {
					n, err := spanBlocks(ctx, cl, h, eBlocks, eDur)
					if err != nil {
						return nil, err
					}
					l.Expiry = h + n
				}
				return &agents.MsgGrantSpend{Owner: signer, Agent: agent, SpendLimits: l}, nil
			}, func(r *ledgerTxResult) {
				r.Owner, r.Agent = r.Signer, agent.String()
				r.Amount = r.event(agents.EventSpendGranted, "allowance")
				r.Expiry, _ = strconv.ParseUint(r.event(agents.EventSpendGranted, "expiry"), 10, 64)
			}, func(w io.Writer, r *ledgerTxResult) error {
				_, err := fmt.Fprintf(w, "granted %s a spend permission on %s: %s per %s blocks\n", r.Agent, r.Owner, r.Amount, r.event(agents.EventSpendGranted, "period_blocks"))
				return err
			})
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&allowance, "allowance", "", "the most the agent may spend per period, e.g. 5deai")
	fl.StringVar(&period, "period", "", "the period's length: blocks or a duration (1h, 1d)")
	fl.StringVar(&totalCap, "total-cap", "", "the most the agent may spend in total (default: no cap beyond the allowance)")
	fl.StringVar(&perCallMax, "per-call-max", "", "the most one debit may move (default: no per-call bound)")
	fl.StringArrayVar(&allow, "allow", nil, "the only counterparty addresses allowed (repeat for several; default: any)")
	fl.StringVar(&expiresIn, "expires-in", "", "the permission ends this long from now: blocks or a duration (default: never)")
	return cmd
}

func newAgentRevokeCmd(env *Env) *cobra.Command {
	var f subnetTxFlags
	cmd := &cobra.Command{
		Use:   "revoke AGENT_ADDR",
		Short: "The kill switch: revoke an agent key's spend permission on the --from account at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			agent, err := parseAddrArg("agent", args[0])
			if err != nil {
				return err
			}
			return env.ledgerTx(cmd, &f, func(_ context.Context, _ chain.Client, signer tx.Address) (tx.Msg, error) {
				return &agents.MsgRevokeSpend{Owner: signer, Agent: agent}, nil
			}, func(r *ledgerTxResult) {
				r.Owner, r.Agent = r.Signer, agent.String()
			}, func(w io.Writer, r *ledgerTxResult) error {
				_, err := fmt.Fprintf(w, "revoked %s's spend permission on %s\n", r.Agent, r.Owner)
				return err
			})
		},
	}
	f.register(cmd)
	return cmd
}

func newAgentPermissionCmd(env *Env) *cobra.Command {
	var nf nodeFlag
	cmd := &cobra.Command{
		Use:   "permission OWNER AGENT",
		Short: "Show an agent's spend permission and what it allows at the latest height",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			owner, err := parseAddrArg("owner", args[0])
			if err != nil {
				return err
			}
			agent, err := parseAddrArg("agent", args[1])
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
			var p agents.PermissionResult
			if err := ledgerQuery(ctx, cl, fmt.Sprintf("/agents/permission/%s/%s?height=%d", owner, agent, h), &p); err != nil {
				return err
			}
			return env.Print(&p, func(w io.Writer) error {
				state := "active"
				switch {
				case p.Revoked:
					state = fmt.Sprintf("revoked at height %d", p.RevokedAt)
				case !p.Active:
					state = fmt.Sprintf("expired after height %d", p.Expiry)
				}
				total := p.TotalCap.DEAI()
				if p.TotalCap == noTotalCap {
					total = "none"
				}
				fmt.Fprintf(w, "agent %s on %s: %s (as of height %d)\n", p.Agent, p.Owner, state, p.AsOf)
				fmt.Fprintf(w, "  allowance         %s per %d blocks\n", p.Allowance.DEAI(), p.PeriodBlocks)
				fmt.Fprintf(w, "  this period       from %d: spent %s, remaining %s\n", p.PeriodStartAt, p.PeriodSpentAt.DEAI(), p.PeriodRemaining.DEAI())
				fmt.Fprintf(w, "  next period at    %d\n", p.NextPeriodAt)
				fmt.Fprintf(w, "  total cap         %s (spent %s, remaining %s)\n", total, p.TotalSpent.DEAI(), p.TotalRemaining.DEAI())
				if p.PerCallMax != 0 {
					fmt.Fprintf(w, "  per-call max      %s\n", p.PerCallMax.DEAI())
				}
				for _, a := range p.Allowlist {
					fmt.Fprintf(w, "  allowed           %s\n", a)
				}
				if p.Expiry != 0 {
					fmt.Fprintf(w, "  expiry            %d\n", p.Expiry)
				}
				_, err := fmt.Fprintf(w, "  spendable now     %s\n", p.Spendable.DEAI())
				return err
			})
		},
	}
	nf.register(cmd)
	return cmd
}

func newAgentSpendCmd(env *Env) *cobra.Command {
	var (
		f     subnetTxFlags
		owner string
		to    string
	)
	cmd := &cobra.Command{
		Use:   "spend --owner OWNER --to ADDR AMOUNT",
		Short: "As the agent key (--from), move the owner's funds within its spend permission",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := parseAddrArg("--owner", owner)
			if err != nil {
				return err
			}
			t, err := parseAddrArg("--to", to)
			if err != nil {
				return err
			}
			amt, err := tx.ParseAmount(args[0])
			if err != nil {
				return badInput("amount: %w", err)
			}
			return env.ledgerTx(cmd, &f, func(_ context.Context, _ chain.Client, signer tx.Address) (tx.Msg, error) {
				return &agents.MsgSpend{Owner: o, Agent: signer, To: t, Amount: amt}, nil
			}, func(r *ledgerTxResult) {
				r.Owner, r.Agent, r.To, r.Amount = o.String(), r.Signer, t.String(), amt.String()
			}, func(w io.Writer, r *ledgerTxResult) error {
				_, err := fmt.Fprintf(w, "spent %s of %s's funds to %s (agent %s)\n", amt.DEAI(), r.Owner, r.To, r.Agent)
				return err
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&owner, "owner", "", "the account whose permission the agent spends under")
	cmd.Flags().StringVar(&to, "to", "", "the recipient")
	return cmd
}
