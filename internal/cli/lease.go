package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/ledger/market"
	cmarket "github.com/deai-network/deai/internal/market"
	"github.com/deai-network/deai/internal/market/manifest"
	"github.com/deai-network/deai/internal/tx"
)

func newLeaseCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lease",
		Short: "Compute-market leases: accept a bid, status, logs, close, list",
		Long: `Work with leases on the compute market. A lease is an accepted bid: the
provider runs the deployment's group and is paid from its escrow every
block. LEASE arguments take a lease ID (owner/dseq/gseq/oseq/provider) or a
deployment (owner/dseq, or the dseq of a deployment of --from) with exactly
one active lease. A refused transaction or an unknown ID exits with status 2.`,
	}
	cmd.AddCommand(newLeaseCreateCmd(env), newLeaseStatusCmd(env), newLeaseLogsCmd(env), newLeaseCloseCmd(env), newLeaseListCmd(env))
	return cmd
}

// leaseRow is a lease in command output.
type leaseRow struct {
	ID         string    `json:"id"`
	Deployment string    `json:"deployment"`
	Provider   string    `json:"provider"`
	State      string    `json:"state"`
	Price      tx.Amount `json:"price"` // udeai per block; the cap per block when billed by usage
	Billing    string    `json:"billing"`
	CreatedAt  uint64    `json:"created_at"`
	ClosedAt   uint64    `json:"closed_at,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Withdrawn  tx.Amount `json:"withdrawn"`       // paid out to the provider so far
	Usage      *usageRow `json:"usage,omitempty"` // usage billing: the totals the provider reported
}

// usageRow is what a usage-billed lease's provider reported in all.
type usageRow struct {
	Reports          uint64 `json:"reports"`
	CPUMilliSeconds  uint64 `json:"cpu_milli_seconds"`
	MemoryMiBSeconds uint64 `json:"memory_mib_seconds"`
	GPUSeconds       uint64 `json:"gpu_seconds"`
}

func leaseRowOf(l market.Lease) leaseRow {
	r := leaseRow{ID: l.ID.String(), Deployment: l.ID.Deployment().String(), Provider: l.ID.Provider.String(), State: l.State.String(),
		Price: l.Price, Billing: billingName(l.Billing), CreatedAt: l.CreatedAt, ClosedAt: l.ClosedAt, Withdrawn: l.Withdrawn}
	if l.Reason != market.ReasonNone {
		r.Reason = l.Reason.String()
	}
	if u := l.Usage; u != nil {
		r.Usage = &usageRow{Reports: u.Seq, CPUMilliSeconds: u.TotalCPU, MemoryMiBSeconds: u.TotalMemory, GPUSeconds: u.TotalGPU}
	}
	return r
}

func leaseRows(ls []market.Lease) []leaseRow {
	out := make([]leaseRow, 0, len(ls))
	for _, l := range ls {
		out = append(out, leaseRowOf(l))
	}
	return out
}

func writeLeases(w io.Writer, ls []leaseRow) error {
	if len(ls) == 0 {
		_, err := fmt.Fprintln(w, "no leases")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LEASE\tSTATE\tPRICE/BLOCK\tBILLING\tSINCE")
	for _, l := range ls {
		state := l.State
		if l.Reason != "" {
			state += " (" + l.Reason + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d udeai\t%s\t%d\n", l.ID, state, l.Price, l.Billing, l.CreatedAt)
	}
	return tw.Flush()
}

// resolveLease reads a LEASE argument: a lease ID, or a deployment with
// exactly one active lease.
func resolveLease(ctx context.Context, env *Env, f *tenantFlags, cl chain.Client, s string) (market.LeaseID, error) {
	if strings.Count(s, "/") == 4 {
		id, err := market.ParseLeaseID(s)
		if err != nil {
			return id, invalidInput(err)
		}
		return id, nil
	}
	dep, err := parseDeploymentArg(env, f, s)
	if err != nil {
		return market.LeaseID{}, err
	}
	leases, err := deploymentLeases(ctx, cmarket.NewTenant(cl, addressKey(dep.Owner)), dep)
	if err != nil {
		return market.LeaseID{}, err
	}
	var active []string
	var id market.LeaseID
	for _, l := range leases {
		if l.State == market.LeaseActive {
			active = append(active, l.ID.String())
			id = l.ID
		}
	}
	switch len(active) {
	case 1:
		return id, nil
	case 0:
		return id, invalidInput(fmt.Errorf("deployment %s has no active lease (deai lease list --deployment %s shows all)", dep, dep))
	}
	return id, invalidInput(fmt.Errorf("deployment %s has %d active leases; name one: %s", dep, len(active), strings.Join(active, ", ")))
}

// leaseCreated is one lease of lease create's output.
type leaseCreated struct {
	Lease    string               `json:"lease"`
	Provider string               `json:"provider"`
	HostURI  string               `json:"host_uri,omitempty"`
	Price    tx.Amount            `json:"price"`
	Sent     bool                 `json:"manifest_sent"`
	Error    string               `json:"error,omitempty"`
	Status   *cmarket.LeaseStatus `json:"status,omitempty"`
	Ready    bool                 `json:"ready"`
}

func newLeaseCreateCmd(env *Env) *cobra.Command {
	var (
		f        tenantFlags
		cheapest string
		sdl      string
		claims   []string
		wait     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "create [BID | --cheapest DEPLOYMENT]",
		Short: "Accept a bid, send the manifest to the provider and wait for the service URIs",
		Long: `Accept BID (the ID deai deploy bids lists), or with --cheapest the cheapest
open bid on every open order of DEPLOYMENT. The lease starts paying the bid's
price every block from the escrow. Then the deployment's manifest (saved by
deai deploy create, or read from --sdl) goes to the provider, which deploys
it; the command waits (--wait) until every service runs and prints the
URIs it is reached at.`,
		Example: "  deai lease create deai1…/42/1/1/deai1…\n  deai lease create --cheapest 42",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if (len(args) == 1) == (cheapest != "") {
				return invalidInput(errors.New("give either a BID or --cheapest DEPLOYMENT"))
			}
			var dep market.DeploymentID
			var bidID market.BidID
			var err error
			if cheapest != "" {
				if dep, err = parseDeploymentArg(env, &f, cheapest); err != nil {
					return err
				}
			} else {
				if bidID, err = market.ParseBidID(args[0]); err != nil {
					return invalidInput(fmt.Errorf("BID: %w", err))
				}
				dep = bidID.Deployment()
			}
			ten, cl, err := f.signer(ctx, env)
			if err != nil {
				return err
			}
			defer cl.Close()
			if dep.Owner != ten.Address() {
				return invalidInput(fmt.Errorf("deployment %s belongs to %s, not to --from %s (%s)", dep, dep.Owner, f.from, ten.Address()))
			}
			var bids []market.Bid
			if cheapest != "" {
				all, err := ten.Bids(ctx, dep)
				if err != nil {
					return marketErr("bids of "+dep.String(), err)
				}
				seen := map[market.OrderID]bool{}
				for _, b := range all { // cheapest first
					if b.State == market.BidOpen && !seen[b.ID.Order()] {
						seen[b.ID.Order()] = true
						bids = append(bids, b)
					}
				}
				if len(bids) == 0 {
					return invalidInput(fmt.Errorf("deployment %s has no open bid; wait with `deai deploy bids %s --wait 1m`, or see why with deai deploy preflight", dep, dep))
				}
			} else {
				var b market.Bid
				if err := queryLedger(ctx, cl, "/market/bid/"+bidID.String(), &b); err != nil {
					if cmarket.NotFound(err) {
						return invalidInput(fmt.Errorf("bid %s does not exist (deai deploy bids %s lists the bids)", bidID, dep))
					}
					return err
				}
				bids = []market.Bid{b}
			}
			if len(claims) > 0 && sdl == "" {
				return invalidInput(errors.New("--gpu-claim goes with --sdl (the saved manifest has the claims of deploy create already)"))
			}
			m, err := leaseManifest(ctx, env, ten, dep, sdl, claims)
			if err != nil {
				return err
			}
			var out []leaseCreated
			var ids []market.LeaseID
			for _, b := range bids {
				if err := ten.CreateLease(ctx, b.ID); err != nil {
					return marketErr("create lease "+b.ID.String(), err)
				}
				ids = append(ids, b.ID)
				out = append(out, leaseCreated{Lease: b.ID.String(), Provider: b.ID.Provider.String(), Price: b.Price})
			}
			sent := sendManifest(ctx, ten, dep.DSeq, m, ids)
			for i := range out {
				out[i].Sent, out[i].Error, out[i].HostURI = sent[i].Sent, sent[i].Error, sent[i].HostURI
			}
			var waitErr error
			if wait > 0 && sendFailed(sent) == nil {
				waitErr = waitLeasesReady(ctx, ten, out, wait)
			}
			if err := env.Print(out, func(w io.Writer) error {
				for _, l := range out {
					fmt.Fprintf(w, "lease %s created: %d udeai per block\n", l.Lease, l.Price)
					if !l.Sent {
						fmt.Fprintf(w, "  manifest NOT delivered to %s: %s\n", l.Provider, l.Error)
						continue
					}
					fmt.Fprintf(w, "  manifest sent to %s\n", l.HostURI)
					if l.Status != nil {
						writeServices(w, l.Status.Services)
					}
				}
				return nil
			}); err != nil {
				return err
			}
			if err := sendFailed(sent); err != nil {
				fmt.Fprintln(env.Stderr, "the lease is paid for: fix the SDL and `deai deploy update` it, or `deai lease close` the lease")
				return err
			}
			return waitErr
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&cheapest, "cheapest", "", "accept the cheapest open bid on every open order of this deployment")
	cmd.Flags().StringVar(&sdl, "sdl", "", "the SDL the deployment was created from, when this home has not saved its manifest")
	cmd.Flags().StringArrayVar(&claims, "gpu-claim", nil, "with --sdl: the SERVICE=FILE DRA claims the deployment was created with (repeat)")
	cmd.Flags().DurationVar(&wait, "wait", 2*time.Minute, "wait this long for every service to run (0: do not wait)")
	return cmd
}

// leaseManifest is the manifest to send for dep: from --sdl or the saved
// one, checked against the deployment's hash on chain.
func leaseManifest(ctx context.Context, env *Env, ten *cmarket.Tenant, dep market.DeploymentID, sdl string, claims []string) (manifest.Manifest, error) {
	var m manifest.Manifest
	if sdl != "" {
		df, err := readDeployFile(env, sdl, claims)
		if err != nil {
			return m, err
		}
		m = df.manifest
	} else {
		var err error
		if m, err = readSavedManifest(env, dep); err != nil {
			return m, invalidInput(fmt.Errorf("%w: pass --sdl FILE with the SDL the deployment was created from", err))
		}
	}
	d, err := ten.Deployment(ctx, dep)
	if err != nil {
		return m, marketErr("deployment "+dep.String(), err)
	}
	if h := m.Hash(); h != d.Hash {
		return m, invalidInput(fmt.Errorf("the manifest's hash %x… is not deployment %s's %x… on chain: give the SDL it was created or last updated with (--sdl), or `deai deploy update` it first",
			h[:6], dep, d.Hash[:6]))
	}
	return m, nil
}

// ready reports whether every service of st runs all its replicas.
func ready(st cmarket.LeaseStatus) bool {
	if len(st.Services) == 0 {
		return false
	}
	for _, s := range st.Services {
		if s.Total == 0 || s.Available < s.Total {
			return false
		}
	}
	return true
}

// waitLeasesReady polls each lease's status until it is ready or wait
// passes; the last status is kept in out.
func waitLeasesReady(ctx context.Context, ten *cmarket.Tenant, out []leaseCreated, wait time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	clients := map[string]*cmarket.ProviderClient{}
	for i := range out {
		l := &out[i]
		id, _ := market.ParseLeaseID(l.Lease)
		pc := clients[l.Provider]
		if pc == nil {
			var err error
			if pc, err = ten.ProviderClient(wctx, id.Provider); err != nil {
				return err
			}
			clients[l.Provider] = pc
		}
		var lastErr error
		for !l.Ready {
			st, err := pc.LeaseStatus(wctx, l.Lease)
			if err == nil {
				l.Status, l.Ready = &st, ready(st)
			}
			lastErr = err
			if l.Ready {
				break
			}
			select {
			case <-wctx.Done():
				if lastErr != nil {
					return fmt.Errorf("lease %s not running after %s (deai lease logs %s): %w", l.Lease, wait, l.Lease, lastErr)
				}
				return fmt.Errorf("lease %s not running after %s; deai lease status and deai lease logs %s show why", l.Lease, wait, l.Lease)
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return nil
}

func writeServices(w io.Writer, ss []cmarket.ServiceStatus) {
	for _, s := range ss {
		fmt.Fprintf(w, "  service %s: %d/%d available", s.Name, s.Available, s.Total)
		if s.Restarts > 0 {
			fmt.Fprintf(w, ", %d restarts", s.Restarts)
		}
		fmt.Fprintln(w)
		for _, u := range s.URIs {
			fmt.Fprintf(w, "    %s\n", u)
		}
		if s.Error != "" {
			fmt.Fprintf(w, "    error: %s\n", s.Error)
		}
	}
}

// leaseStatus is the output of lease status.
type leaseStatus struct {
	leaseRow
	HostURI     string               `json:"host_uri,omitempty"`
	Status      *cmarket.LeaseStatus `json:"status,omitempty"`
	StatusError string               `json:"status_error,omitempty"`
}

// leaseTarget unlocks the tenant, resolves the LEASE argument and reads
// the lease from chain.
func leaseTarget(ctx context.Context, env *Env, f *tenantFlags, arg string) (*cmarket.Tenant, func(), market.Lease, error) {
	ten, cl, err := f.signer(ctx, env)
	if err != nil {
		return nil, nil, market.Lease{}, err
	}
	id, err := resolveLease(ctx, env, f, cl, arg)
	if err != nil {
		cl.Close()
		return nil, nil, market.Lease{}, err
	}
	l, err := ten.Lease(ctx, id)
	if err != nil {
		cl.Close()
		return nil, nil, l, marketErr("lease "+id.String(), err)
	}
	return ten, func() { cl.Close() }, l, nil
}

func newLeaseStatusCmd(env *Env) *cobra.Command {
	var f tenantFlags
	cmd := &cobra.Command{
		Use:   "status LEASE",
		Short: "Show a lease on chain and its services at the provider (replicas, URIs)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ten, done, l, err := leaseTarget(ctx, env, &f, args[0])
			if err != nil {
				return err
			}
			defer done()
			res := leaseStatus{leaseRow: leaseRowOf(l)}
			var statusErr error
			if l.State == market.LeaseActive {
				pc, err := ten.ProviderClient(ctx, l.ID.Provider)
				if err == nil {
					res.HostURI = pc.BaseURL
					var st cmarket.LeaseStatus
					if st, err = pc.LeaseStatus(ctx, l.ID.String()); err == nil {
						res.Status = &st
					}
				}
				if err != nil {
					res.StatusError = err.Error()
					statusErr = marketErr("status of lease "+l.ID.String()+" at its provider", err)
				}
			}
			if err := env.Print(res, func(w io.Writer) error {
				fmt.Fprintf(w, "lease %s\n  %s since height %d, %d udeai per block (billed %s), %s paid out\n", res.ID, res.State, res.CreatedAt, res.Price, res.Billing, res.Withdrawn.DEAI())
				if res.ClosedAt > 0 {
					fmt.Fprintf(w, "  closed at height %d: %s\n", res.ClosedAt, res.Reason)
				}
				if u := res.Usage; u != nil {
					fmt.Fprintf(w, "  usage reported (%d reports): %s cpu-seconds, %d MiB-seconds of memory, %d gpu-seconds\n",
						u.Reports, formatCores(u.CPUMilliSeconds), u.MemoryMiBSeconds, u.GPUSeconds)
				}
				if res.HostURI != "" {
					fmt.Fprintf(w, "  provider %s at %s\n", res.Provider, res.HostURI)
				}
				if res.Status != nil {
					fmt.Fprintf(w, "  runtime %s\n", res.Status.Runtime)
					writeServices(w, res.Status.Services)
				}
				if res.StatusError != "" {
					fmt.Fprintf(w, "  status unavailable: %s\n", res.StatusError)
				}
				return nil
			}); err != nil {
				return err
			}
			return statusErr
		},
	}
	f.register(cmd, true)
	return cmd
}

func newLeaseLogsCmd(env *Env) *cobra.Command {
	var (
		f    tenantFlags
		opts cmarket.LogOptions
	)
	cmd := &cobra.Command{
		Use:   "logs LEASE",
		Short: "Print (or follow) the logs of a lease's services",
		Long: `Print the stdout and stderr of LEASE's services, each line prefixed with
[<service>-<replica>]. --follow keeps streaming until Ctrl-C; --tail N starts
with the last N lines of each replica; --service picks one service. With
-o json each line is a JSON object {"source": …, "line": …}.`,
		Example: "  deai lease logs 42 --tail 20 --follow",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if opts.Tail < 0 {
				return invalidInput(fmt.Errorf("--tail %d: want 0 (everything) or more", opts.Tail))
			}
			ten, done, l, err := leaseTarget(ctx, env, &f, args[0])
			if err != nil {
				return err
			}
			defer done()
			if l.State != market.LeaseActive {
				return invalidInput(fmt.Errorf("lease %s is %s: its provider has removed the workload and its logs", l.ID, l.State))
			}
			pc, err := ten.ProviderClient(ctx, l.ID.Provider)
			if err != nil {
				return err
			}
			rc, err := pc.Logs(ctx, l.ID.String(), opts)
			if err != nil {
				return marketErr("logs of lease "+l.ID.String(), err)
			}
			defer rc.Close()
			err = copyLogs(env, rc)
			if ctx.Err() != nil {
				return nil // Ctrl-C ends a follow
			}
			return err
		},
	}
	f.register(cmd, true)
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "keep streaming new lines until Ctrl-C")
	cmd.Flags().IntVar(&opts.Tail, "tail", 0, "start with the last N lines of each replica (0: everything)")
	cmd.Flags().StringVar(&opts.Service, "service", "", "only this service")
	return cmd
}

// logLine is one line of lease logs -o json.
type logLine struct {
	Source string `json:"source,omitempty"` // <service>-<replica>
	Line   string `json:"line"`
}

func copyLogs(env *Env, r io.Reader) error {
	if !env.JSON() {
		_, err := io.Copy(env.Stdout, r)
		return err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		ll := logLine{Line: sc.Text()}
		if rest, ok := strings.CutPrefix(ll.Line, "["); ok {
			if src, line, ok := strings.Cut(rest, "] "); ok {
				ll.Source, ll.Line = src, line
			}
		}
		if err := printJSONLine(env.Stdout, ll); err != nil {
			return err
		}
	}
	return sc.Err()
}

// printJSONLine writes v as one line of JSON.
func printJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func newLeaseCloseCmd(env *Env) *cobra.Command {
	var f tenantFlags
	cmd := &cobra.Command{
		Use:   "close LEASE",
		Short: "Close a lease: the provider is paid to this block and removes the workload",
		Long: `Close LEASE as its owner. The provider is paid to this block, tears the
workload down, and the group opens a new order (deai deploy bids shows new
bids; deai deploy close ends the deployment and refunds the escrow).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ten, done, l, err := leaseTarget(ctx, env, &f, args[0])
			if err != nil {
				return err
			}
			defer done()
			if err := ten.CloseLease(ctx, l.ID); err != nil {
				return marketErr("close lease "+l.ID.String(), err)
			}
			if l, err = ten.Lease(ctx, l.ID); err != nil {
				return err
			}
			res := leaseRowOf(l)
			return env.Print(res, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "lease %s %s at height %d (%s); %s paid out in all\n", res.ID, res.State, res.ClosedAt, res.Reason, res.Withdrawn.DEAI())
				return err
			})
		},
	}
	f.register(cmd, true)
	return cmd
}

func newLeaseListCmd(env *Env) *cobra.Command {
	var (
		f     tenantFlags
		state string
		dep   string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the --from account's leases",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if state != "" {
				var s market.LeaseState
				if err := s.UnmarshalText([]byte(state)); err != nil {
					return invalidInput(fmt.Errorf("--state: %w", err))
				}
			}
			owner, err := f.fromAddress(env)
			if err != nil {
				return err
			}
			var depID *market.DeploymentID
			if dep != "" {
				id, err := parseDeploymentArg(env, &f, dep)
				if err != nil {
					return err
				}
				depID, owner = &id, id.Owner
			}
			ten, cl, err := f.reader(ctx, env, owner)
			if err != nil {
				return err
			}
			defer cl.Close()
			ls, err := ten.Leases(ctx, state)
			if err != nil {
				return err
			}
			rows := []leaseRow{}
			for _, l := range ls {
				if depID == nil || l.ID.Deployment() == *depID {
					rows = append(rows, leaseRowOf(l))
				}
			}
			return env.Print(rows, func(w io.Writer) error { return writeLeases(w, rows) })
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&state, "state", "", "only leases in this state: active, insufficient_funds or closed")
	cmd.Flags().StringVar(&dep, "deployment", "", "only leases of this deployment (owner/dseq or dseq)")
	return cmd
}
