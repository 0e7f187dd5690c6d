package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/ledger/module"
	cmarket "github.com/deai-network/deai/internal/market"
	"github.com/deai-network/deai/internal/market/manifest"
	"github.com/deai-network/deai/internal/tx"
)

// addTenantDeployCmds adds the tenant's deployment commands to the deploy
// group of deploy.go and returns it.
func addTenantDeployCmds(env *Env, deploy *cobra.Command) *cobra.Command {
	deploy.Short = "Compute-market deployments: validate, preflight, create, bids, status, update, deposit, close"
	deploy.AddCommand(
		newDeployCreateCmd(env),
		newDeployBidsCmd(env),
		newDeployStatusCmd(env),
		newDeployUpdateCmd(env),
		newDeployDepositCmd(env),
		newDeployCloseCmd(env),
		newDeployPreflightCmd(env),
	)
	return deploy
}

// tenantFlags are the flags of every tenant command: the node, the
// tenant's key and its passphrase.
type tenantFlags struct {
	nf       nodeFlag
	from     string
	passFile string
}

// register adds --node and --from, and --passphrase-file when the
// command signs.
func (f *tenantFlags) register(cmd *cobra.Command, signs bool) {
	f.nf.register(cmd)
	if signs {
		cmd.Flags().StringVar(&f.from, "from", "dev", "keystore key of the tenant account that signs")
		addPassphraseFlag(cmd, &f.passFile)
	} else {
		cmd.Flags().StringVar(&f.from, "from", "dev", "keystore key of the tenant account (its address; no passphrase needed)")
	}
}

// signer unlocks the tenant's key and dials the node.
func (f *tenantFlags) signer(ctx context.Context, env *Env) (*cmarket.Tenant, *chain.RPCClient, error) {
	key, err := env.loadKey(f.from, f.passFile)
	if err != nil {
		return nil, nil, err
	}
	cl, err := env.dial(ctx, f.nf)
	if err != nil {
		return nil, nil, err
	}
	return cmarket.NewTenant(cl, key), cl, nil
}

// reader dials the node for read-only calls about owner's deployments.
func (f *tenantFlags) reader(ctx context.Context, env *Env, owner tx.Address) (*cmarket.Tenant, *chain.RPCClient, error) {
	cl, err := env.dial(ctx, f.nf)
	if err != nil {
		return nil, nil, err
	}
	return cmarket.NewTenant(cl, addressKey(owner)), cl, nil
}

// fromAddress is the --from key's address, read without its passphrase.
func (f *tenantFlags) fromAddress(env *Env) (tx.Address, error) {
	ks, err := openKeystore(env)
	if err != nil {
		return tx.Address{}, err
	}
	info, err := ks.Info(f.from)
	if err != nil {
		return tx.Address{}, fmt.Errorf("--from %s: %w", f.from, err)
	}
	return info.Address, nil
}

// addressKey stands in for a key in read-only tenant calls, which use
// only the address. Signing with it is a bug.
type addressKey tx.Address

func (k addressKey) Address() tx.Address { return tx.Address(k) }
func (addressKey) Sign([]byte) []byte    { panic("cli: a read-only tenant client cannot sign") }
func (addressKey) PubKey() ed25519.PublicKey {
	panic("cli: a read-only tenant client has no public key")
}
func (addressKey) PrivateKey() ed25519.PrivateKey {
	panic("cli: a read-only tenant client has no private key")
}

// invalidInput marks err as bad input: exit status 2.
func invalidInput(err error) error { return &exitError{code: 2, err: err} }

// marketErr classifies an error of a market call: the ledger's refusals,
// objects that do not exist and providers' 4xx answers are the caller's
// input (exit 2) and keep the ledger's or provider's reason; the rest are
// failures (exit 1).
func marketErr(what string, err error) error {
	var te *cmarket.TxError
	var pe *cmarket.ProviderError
	switch {
	case errors.As(err, &te):
		// The ledger's log names the operation and the object already.
		return invalidInput(fmt.Errorf("rejected by the ledger: %s (code %d %s)", te.Log, te.Code, module.Reason(te.Code)))
	case cmarket.NotFound(err):
		return invalidInput(fmt.Errorf("%s: %w", what, err))
	case errors.As(err, &pe) && pe.Status/100 == 4:
		return invalidInput(fmt.Errorf("%s: %w", what, err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// parseDeploymentArg reads a deployment argument: owner/dseq, or a bare
// dseq of the --from account.
func parseDeploymentArg(env *Env, f *tenantFlags, s string) (market.DeploymentID, error) {
	if strings.Contains(s, "/") {
		id, err := market.ParseDeploymentID(s)
		if err != nil {
			return id, invalidInput(err)
		}
		return id, nil
	}
	dseq, err := strconv.ParseUint(s, 10, 64)
	if err != nil || dseq == 0 {
		return market.DeploymentID{}, invalidInput(fmt.Errorf("deployment %q: want <owner>/<dseq> or the dseq of a deployment of --from", s))
	}
	owner, err := f.fromAddress(env)
	if err != nil {
		return market.DeploymentID{}, err
	}
	return market.DeploymentID{Owner: owner, DSeq: dseq}, nil
}

// queryLedger runs a query, keeping the ledger's code in a
// *cmarket.QueryError so that cmarket.NotFound works on it.
func queryLedger(ctx context.Context, cl chain.Client, path string, v any) error {
	r, err := cl.Query(ctx, path, nil)
	if err != nil {
		return fmt.Errorf("query %s: %w", path, err)
	}
	if r.Code != 0 {
		return &cmarket.QueryError{Path: path, Code: r.Code, Log: r.Log}
	}
	return json.Unmarshal(r.Value, v)
}

// deployFile is a parsed SDL: the order's groups, the manifest and its
// hash.
type deployFile struct {
	name     string
	groups   []market.GroupSpec
	manifest manifest.Manifest
	hash     [32]byte
	warnings []manifest.Warning
}

// readDeployFile reads and checks an SDL (exit 2 with every problem when it
// is invalid) and applies --gpu-claim SERVICE=FILE: the DRA claim's GPU
// requirement replaces the service's, in the order and the manifest alike.
func readDeployFile(env *Env, name string, claims []string) (*deployFile, error) {
	data, err := readManifestFile(env, name)
	if err != nil {
		return nil, err
	}
	if name == "-" {
		name = "stdin"
	}
	switch manifest.Detect(data) {
	case manifest.FormatDRA:
		return nil, invalidInput(fmt.Errorf("%s is a Kubernetes DRA claim, not an SDL: deploy an SDL and attach the claim to a service with --gpu-claim SERVICE=%s", name, name))
	case manifest.FormatUnknown:
		return nil, invalidFile(env, name, manifest.FormatUnknown, &manifest.FieldError{
			Msg: "not an SDL (top-level version, services, profiles, deployment)",
		})
	}
	s, err := manifest.ParseSDL(data)
	if err != nil {
		return nil, invalidFile(env, name, manifest.FormatSDL, err)
	}
	df := &deployFile{name: name, groups: s.Groups(), manifest: s.Manifest(), warnings: s.Warnings}
	for _, c := range claims {
		if err := df.applyClaim(env, c); err != nil {
			return nil, err
		}
	}
	df.hash = df.manifest.Hash()
	return df, nil
}

func (df *deployFile) applyClaim(env *Env, claim string) error {
	svc, file, ok := strings.Cut(claim, "=")
	if !ok || svc == "" || file == "" {
		return invalidInput(fmt.Errorf("--gpu-claim %q: want SERVICE=FILE, e.g. vllm=gpu-claim.yaml", claim))
	}
	data, err := readManifestFile(env, file)
	if err != nil {
		return err
	}
	if manifest.Detect(data) != manifest.FormatDRA {
		return invalidInput(fmt.Errorf("--gpu-claim %s: %s is not a Kubernetes DRA ResourceClaimTemplate (apiVersion resource.k8s.io/…, kind ResourceClaimTemplate)", claim, file))
	}
	r, err := manifest.ParseDRA(data)
	if err != nil {
		return invalidFile(env, file, manifest.FormatDRA, err)
	}
	df.warnings = append(df.warnings, r.Warnings...)
	found := false
	for gi := range df.manifest.Groups {
		g := &df.manifest.Groups[gi]
		for si := range g.Services {
			if g.Services[si].Name != svc {
				continue
			}
			found = true
			// Unit i of a group runs service i of the manifest's group.
			g.Services[si].Resources.GPU = r.GPU
			spec := &df.groups[gi]
			spec.Units[si].Resources.GPU = r.GPU
			if err := spec.Validate(); err != nil {
				return invalidInput(fmt.Errorf("--gpu-claim %s: %w", claim, err))
			}
		}
	}
	if !found {
		return invalidInput(fmt.Errorf("--gpu-claim %s: %s has no service %q deployed", claim, df.name, svc))
	}
	return nil
}

// savedManifest is the file a deployment's manifest is kept in between
// deploy create and lease create: <home>/deployments/<dseq>.json (0600:
// it may hold registry credentials).
type savedManifest struct {
	Deployment string            `json:"deployment"`
	Hash       string            `json:"hash"`
	Source     string            `json:"source,omitempty"`
	Manifest   manifest.Manifest `json:"manifest"`
}

func manifestFile(env *Env, dseq uint64) string {
	return filepath.Join(env.Home, "deployments", strconv.FormatUint(dseq, 10)+".json")
}

// readSavedManifest returns the saved manifest of id, or an error saying
// why there is none.
func readSavedManifest(env *Env, id market.DeploymentID) (manifest.Manifest, error) {
	path := manifestFile(env, id.DSeq)
	var sm savedManifest
	b, err := os.ReadFile(path)
	if err != nil {
		return sm.Manifest, fmt.Errorf("no saved manifest for deployment %s (%w)", id, err)
	}
	if err := json.Unmarshal(b, &sm); err != nil {
		return sm.Manifest, fmt.Errorf("saved manifest %s: %w", path, err)
	}
	if sm.Deployment != id.String() {
		return sm.Manifest, fmt.Errorf("%s holds the manifest of deployment %s, not %s", path, sm.Deployment, id)
	}
	return sm.Manifest, nil
}

// writeManifestFile writes the saved form of m to path atomically.
func writeManifestFile(path string, id market.DeploymentID, source string, m manifest.Manifest) error {
	h := m.Hash()
	b, err := json.MarshalIndent(savedManifest{Deployment: id.String(), Hash: hex.EncodeToString(h[:]), Source: source, Manifest: m}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save manifest: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save manifest: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save manifest: %w", err)
	}
	return nil
}

// orderRow and groupRow are a deployment's groups in command output.
type orderRow struct {
	ID       string    `json:"id"`
	State    string    `json:"state"`
	MaxPrice tx.Amount `json:"max_price"` // udeai per block
}

type groupRow struct {
	GSeq    uint32    `json:"gseq"`
	Name    string    `json:"name"`
	State   string    `json:"state"`
	Billing string    `json:"billing"`
	Order   *orderRow `json:"order"`
}

func billingName(b uint8) string {
	if b == market.BillingUsage {
		return "usage"
	}
	return "per-block"
}

func groupRows(d market.DeploymentResult) []groupRow {
	var out []groupRow
	for _, g := range d.Groups {
		r := groupRow{GSeq: g.ID.GSeq, Name: g.Spec.Name, State: g.State.String(), Billing: billingName(g.Spec.Billing)}
		if g.Order != nil {
			r.Order = &orderRow{ID: g.Order.ID.String(), State: g.Order.State.String(), MaxPrice: g.Order.MaxPrice}
		}
		out = append(out, r)
	}
	return out
}

func writeGroups(w io.Writer, gs []groupRow) {
	for _, g := range gs {
		fmt.Fprintf(w, "group %d %s (%s, billed %s)", g.GSeq, g.Name, g.State, g.Billing)
		if g.Order != nil {
			fmt.Fprintf(w, ": order %s %s, at most %d udeai per block", g.Order.ID, g.Order.State, g.Order.MaxPrice)
		}
		fmt.Fprintln(w)
	}
}

// bidRow is one bid in command output; ID is what `lease create` takes.
type bidRow struct {
	ID         string             `json:"id"`
	Provider   string             `json:"provider"`
	GSeq       uint32             `json:"gseq"`
	Price      tx.Amount          `json:"price"` // udeai per block for the group
	State      string             `json:"state"`
	GPU        []market.UnitOffer `json:"gpu,omitempty"`
	UnitPrices *market.UnitPrices `json:"unit_prices,omitempty"`
	Deposit    tx.Amount          `json:"deposit"`
	CreatedAt  uint64             `json:"created_at"`
}

func bidRows(bids []market.Bid) []bidRow {
	out := make([]bidRow, 0, len(bids))
	for _, b := range bids {
		r := bidRow{ID: b.ID.String(), Provider: b.ID.Provider.String(), GSeq: b.ID.GSeq, Price: b.Price, State: b.State.String(),
			GPU: b.Offer, Deposit: b.Deposit, CreatedAt: b.CreatedAt}
		if !b.UnitPrices.IsZero() {
			up := b.UnitPrices
			r.UnitPrices = &up
		}
		out = append(out, r)
	}
	return out
}

func writeBids(w io.Writer, bids []bidRow) error {
	if len(bids) == 0 {
		_, err := fmt.Fprintln(w, "no bids yet")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BID\tPRICE/BLOCK\tSTATE\tGPU OFFERED")
	for _, b := range bids {
		gpu := "-"
		if len(b.GPU) > 0 {
			var parts []string
			for _, o := range b.GPU {
				parts = append(parts, fmt.Sprintf("unit %d: %s", o.Unit, o.GPU))
			}
			gpu = strings.Join(parts, "; ")
		}
		price := fmt.Sprintf("%d udeai", b.Price)
		if b.UnitPrices != nil {
			price += fmt.Sprintf(" cap (usage: cpu %d/core-s, mem %d/GiB-s, gpu %d/gpu-s)", b.UnitPrices.CPU, b.UnitPrices.Memory, b.UnitPrices.GPU)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.ID, price, b.State, gpu)
	}
	return tw.Flush()
}

// deployCreated is the output of deploy create.
type deployCreated struct {
	Deployment   string             `json:"deployment"`
	Owner        string             `json:"owner"`
	DSeq         uint64             `json:"dseq"`
	Hash         string             `json:"hash"`
	Deposit      tx.Amount          `json:"deposit"`
	ManifestFile string             `json:"manifest_file"`
	Groups       []groupRow         `json:"groups"`
	Bids         []bidRow           `json:"bids,omitempty"`
	Warnings     []manifest.Warning `json:"warnings,omitempty"`
}

func newDeployCreateCmd(env *Env) *cobra.Command {
	var (
		f        tenantFlags
		deposit  string
		dseq     uint64
		waitBids time.Duration
		claims   []string
	)
	cmd := &cobra.Command{
		Use:   "create FILE",
		Short: "Put an SDL's order on chain with an escrow deposit",
		Long: `Create a deployment from the SDL in FILE ("-" reads stdin): one order per
placement group goes on chain with the manifest's hash, and the deposit goes
into the deployment's escrow. The manifest itself stays off chain: it is
saved to <home>/deployments/<dseq>.json and sent to the provider by
'deai lease create'. --wait-bids waits for a bid on every order and lists
them, cheapest first. An invalid SDL or a refused transaction exits with
status 2.`,
		Example: "  deai deploy create examples/deploy/echo.yaml --deposit 5deai --wait-bids 30s",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			amt, err := tx.ParseAmount(deposit)
			if err != nil {
				return invalidInput(fmt.Errorf("--deposit: %w", err))
			}
			df, err := readDeployFile(env, args[0], claims)
			if err != nil {
				return err
			}
			ten, cl, err := f.signer(ctx, env)
			if err != nil {
				return err
			}
			defer cl.Close()
			if dseq == 0 {
				st, err := cl.Status(ctx)
				if err != nil {
					return fmt.Errorf("chain status: %w", err)
				}
				dseq = uint64(st.LatestHeight)
			}
			id := market.DeploymentID{Owner: ten.Address(), DSeq: dseq}
			path := manifestFile(env, dseq)
			if _, err := os.Stat(path); err == nil {
				if _, err := readSavedManifest(env, id); err != nil {
					return invalidInput(fmt.Errorf("%w; choose another --dseq", err))
				}
			}
			// The manifest is written next to its final name first, so a
			// refused deployment leaves an existing file alone.
			src, _ := filepath.Abs(args[0])
			if args[0] == "-" {
				src = ""
			}
			pending := path + ".new"
			if err := writeManifestFile(pending, id, src, df.manifest); err != nil {
				return err
			}
			if _, err := ten.CreateDeployment(ctx, dseq, df.groups, df.hash, uint64(amt)); err != nil {
				os.Remove(pending)
				return marketErr("create deployment "+id.String(), err)
			}
			if err := os.Rename(pending, path); err != nil {
				return fmt.Errorf("deployment %s created, but saving its manifest failed: %w", id, err)
			}
			d, err := ten.Deployment(ctx, id)
			if err != nil {
				return err
			}
			res := deployCreated{Deployment: id.String(), Owner: id.Owner.String(), DSeq: dseq, Hash: hex.EncodeToString(df.hash[:]),
				Deposit: amt, ManifestFile: path, Groups: groupRows(d), Warnings: df.warnings}
			var waitErr error
			if waitBids > 0 {
				wctx, cancel := context.WithTimeout(ctx, waitBids)
				bids, err := ten.WaitBids(wctx, id, 250*time.Millisecond)
				cancel()
				res.Bids = bidRows(bids)
				if err != nil {
					waitErr = fmt.Errorf("not every order of %s has a bid after %s; `deai deploy preflight %s` shows why providers decline, `deai deploy bids %s --wait 1m` keeps waiting: %w",
						id, waitBids, args[0], id, err)
				}
			}
			if err := env.Print(res, func(w io.Writer) error {
				fmt.Fprintf(w, "deployment %s created\n  manifest hash %s\n  deposit %s\n  manifest saved to %s\n", res.Deployment, res.Hash, amt.DEAI(), path)
				writeGroups(w, res.Groups)
				printWarnings(w, res.Warnings)
				if waitBids > 0 {
					fmt.Fprintln(w, "bids, cheapest first:")
					return writeBids(w, res.Bids)
				}
				_, err := fmt.Fprintf(w, "next: deai deploy bids %d --wait 30s, then deai lease create BID\n", dseq)
				return err
			}); err != nil {
				return err
			}
			return waitErr
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&deposit, "deposit", "5deai", `escrow deposit, e.g. "5deai" or "5000000udeai" (the chain's minimum is 0.5deai)`)
	cmd.Flags().Uint64Var(&dseq, "dseq", 0, "deployment sequence, unique per owner (default: the current height)")
	cmd.Flags().DurationVar(&waitBids, "wait-bids", 0, "wait this long for a bid on every order and list the bids")
	cmd.Flags().StringArrayVar(&claims, "gpu-claim", nil, "SERVICE=FILE: take the service's GPU requirement from a Kubernetes DRA claim (repeat)")
	return cmd
}

func newDeployBidsCmd(env *Env) *cobra.Command {
	var (
		f    tenantFlags
		wait time.Duration
	)
	cmd := &cobra.Command{
		Use:   "bids DEPLOYMENT",
		Short: "List the bids on a deployment's orders, cheapest first",
		Long: `List the bids on the latest order of every group of DEPLOYMENT (owner/dseq,
or the dseq of a deployment of --from): the bid ID to pass to 'deai lease
create', the provider, the price per block for the whole group, the GPU
model offered per unit and the state. --wait waits until every open order
has an open bid.`,
		Example: "  deai deploy bids 42 --wait 30s",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			id, err := parseDeploymentArg(env, &f, args[0])
			if err != nil {
				return err
			}
			ten, cl, err := f.reader(ctx, env, id.Owner)
			if err != nil {
				return err
			}
			defer cl.Close()
			var bids []market.Bid
			var waitErr error
			if wait > 0 {
				wctx, cancel := context.WithTimeout(ctx, wait)
				bids, err = ten.WaitBids(wctx, id, 250*time.Millisecond)
				cancel()
				if err != nil && !errors.Is(err, context.DeadlineExceeded) {
					return marketErr("bids of "+id.String(), err)
				}
				waitErr = err
			} else if bids, err = ten.Bids(ctx, id); err != nil {
				return marketErr("bids of "+id.String(), err)
			}
			rows := bidRows(bids)
			if err := env.Print(rows, func(w io.Writer) error { return writeBids(w, rows) }); err != nil {
				return err
			}
			return waitErr
		},
	}
	f.register(cmd, false)
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait this long for a bid on every open order")
	return cmd
}

// deployStatus is the output of deploy status.
type deployStatus struct {
	Deployment   string       `json:"deployment"`
	State        string       `json:"state"`
	Hash         string       `json:"hash"`
	CreatedAt    uint64       `json:"created_at"`
	ClosedAt     uint64       `json:"closed_at,omitempty"`
	ManifestFile string       `json:"manifest_file,omitempty"` // "" when this home has none
	Groups       []groupRow   `json:"groups"`
	Leases       []leaseRow   `json:"leases"`
	Escrow       escrowStatus `json:"escrow"`
}

// escrowStatus is the escrow with its runway as of the latest block.
type escrowStatus struct {
	State         string    `json:"state"`
	Funds         tx.Amount `json:"funds"` // left after what the per-block leases owe at as_of
	Deposited     tx.Amount `json:"deposited"`
	Transferred   tx.Amount `json:"transferred"`
	Refunded      tx.Amount `json:"refunded"`
	BlockRate     tx.Amount `json:"block_rate"` // per-block leases, udeai per block
	UsageCap      tx.Amount `json:"usage_cap"`  // most the usage-billed leases cost per block
	AsOf          uint64    `json:"as_of"`
	DryHeight     uint64    `json:"dry_height,omitempty"`
	RunwayBlocks  *uint64   `json:"runway_blocks"`            // null: nothing burns
	BlockTime     string    `json:"block_time,omitempty"`     // recent average, e.g. "500ms"
	RunwaySeconds *uint64   `json:"runway_seconds,omitempty"` // runway_blocks × block_time
	RunwayTime    string    `json:"runway_time,omitempty"`    // the same, for people: "31d 4h"
}

func escrowStatusOf(e market.EscrowResult, blockTime time.Duration) escrowStatus {
	s := escrowStatus{State: e.State.String(), Funds: e.FundsAt, Deposited: e.Deposited, Transferred: e.Transferred, Refunded: e.Refunded,
		BlockRate: e.BlockRate, UsageCap: e.UsageCap, AsOf: e.AsOf, DryHeight: e.DryHeight, RunwayBlocks: e.RunwayBlocks}
	if blockTime > 0 {
		s.BlockTime = blockTime.String()
		if e.RunwayBlocks != nil {
			d := time.Duration(min(*e.RunwayBlocks, uint64(math.MaxInt64/blockTime))) * blockTime
			secs := uint64(d / time.Second)
			s.RunwaySeconds, s.RunwayTime = &secs, humanDuration(d)
		}
	}
	return s
}

func writeEscrow(w io.Writer, e escrowStatus) {
	fmt.Fprintf(w, "escrow %s: %s left (deposited %s, paid %s, refunded %s) at height %d\n", e.State, e.Funds.DEAI(),
		e.Deposited.DEAI(), e.Transferred.DEAI(), e.Refunded.DEAI(), e.AsOf)
	burn := fmt.Sprintf("%d udeai per block", e.BlockRate)
	if e.UsageCap > 0 {
		burn += fmt.Sprintf(" + usage up to %d udeai per block", e.UsageCap)
	}
	fmt.Fprintf(w, "  burn rate: %s\n", burn)
	switch {
	case e.RunwayBlocks == nil:
		fmt.Fprintln(w, "  runway: unlimited (nothing burns)")
	case e.RunwayTime != "":
		fmt.Fprintf(w, "  runway: %d blocks, about %s at %s per block\n", *e.RunwayBlocks, e.RunwayTime, e.BlockTime)
	default:
		fmt.Fprintf(w, "  runway: %d blocks\n", *e.RunwayBlocks)
	}
	if e.DryHeight > 0 {
		fmt.Fprintf(w, "  runs dry at height %d unless topped up (deai deploy deposit)\n", e.DryHeight)
	}
}

// humanDuration writes d for people: "45s", "12m 5s", "3h 20m", "31d 4h".
func humanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	days, h, m, sec := d/(24*time.Hour), d%(24*time.Hour)/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, sec)
	}
	return fmt.Sprintf("%ds", sec)
}

// blockTime estimates the chain's block interval from the last 100 blocks.
func blockTime(ctx context.Context, cl chain.Client) (time.Duration, error) {
	st, err := cl.Status(ctx)
	if err != nil {
		return 0, err
	}
	back := min(int64(100), st.LatestHeight-1)
	if back < 1 {
		return 0, nil
	}
	b, err := cl.Block(ctx, st.LatestHeight-back)
	if err != nil {
		return 0, err
	}
	return (st.LatestBlockTime.Sub(b.Time) / time.Duration(back)).Round(time.Millisecond), nil
}

// deploymentLeases are the leases of a deployment, all states.
func deploymentLeases(ctx context.Context, ten *cmarket.Tenant, id market.DeploymentID) ([]market.Lease, error) {
	all, err := ten.Leases(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []market.Lease
	for _, l := range all {
		if l.ID.Deployment() == id {
			out = append(out, l)
		}
	}
	return out, nil
}

func newDeployStatusCmd(env *Env) *cobra.Command {
	var f tenantFlags
	cmd := &cobra.Command{
		Use:   "status DEPLOYMENT",
		Short: "Show a deployment's groups, orders, leases, escrow, burn rate and runway",
		Long: `Show DEPLOYMENT (owner/dseq, or the dseq of a deployment of --from): its
groups and their latest orders, its leases, and its escrow as of the latest
block: funds left, the burn rate per block (per-block leases, plus the cap of
usage-billed ones), the runway in blocks and in time at the chain's recent
block interval, and the height at which it runs dry.`,
		Example: "  deai deploy status 42 -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			id, err := parseDeploymentArg(env, &f, args[0])
			if err != nil {
				return err
			}
			ten, cl, err := f.reader(ctx, env, id.Owner)
			if err != nil {
				return err
			}
			defer cl.Close()
			d, err := ten.Deployment(ctx, id)
			if err != nil {
				return marketErr("deployment "+id.String(), err)
			}
			esc, err := ten.Escrow(ctx, id)
			if err != nil {
				return marketErr("escrow of "+id.String(), err)
			}
			leases, err := deploymentLeases(ctx, ten, id)
			if err != nil {
				return err
			}
			bt, err := blockTime(ctx, cl)
			if err != nil {
				return fmt.Errorf("block time: %w", err)
			}
			res := deployStatus{Deployment: id.String(), State: d.State.String(), Hash: hex.EncodeToString(d.Hash[:]),
				CreatedAt: d.CreatedAt, ClosedAt: d.ClosedAt, Groups: groupRows(d), Leases: leaseRows(leases), Escrow: escrowStatusOf(esc, bt)}
			if _, err := readSavedManifest(env, id); err == nil {
				res.ManifestFile = manifestFile(env, id.DSeq)
			}
			return env.Print(res, func(w io.Writer) error {
				fmt.Fprintf(w, "deployment %s %s since height %d\n  manifest hash %s\n", res.Deployment, res.State, res.CreatedAt, res.Hash)
				if res.ClosedAt > 0 {
					fmt.Fprintf(w, "  closed at height %d\n", res.ClosedAt)
				}
				writeGroups(w, res.Groups)
				if len(res.Leases) > 0 {
					if err := writeLeases(w, res.Leases); err != nil {
						return err
					}
				}
				writeEscrow(w, res.Escrow)
				return nil
			})
		},
	}
	f.register(cmd, false)
	return cmd
}

// deployUpdated is the output of deploy update.
type deployUpdated struct {
	Deployment string         `json:"deployment"`
	Hash       string         `json:"hash"`
	Leases     []manifestSent `json:"leases"`
}

// manifestSent is the delivery of a manifest to one lease's provider.
type manifestSent struct {
	Lease    string `json:"lease"`
	Provider string `json:"provider"`
	HostURI  string `json:"host_uri,omitempty"`
	Sent     bool   `json:"sent"`
	Error    string `json:"error,omitempty"`

	err error
}

// sendManifest delivers m to the provider of each lease (once per
// provider); it reports per lease.
func sendManifest(ctx context.Context, ten *cmarket.Tenant, dseq uint64, m manifest.Manifest, leases []market.LeaseID) []manifestSent {
	out := make([]manifestSent, len(leases))
	done := map[tx.Address]manifestSent{}
	for i, l := range leases {
		r, ok := done[l.Provider]
		if !ok {
			r = manifestSent{Provider: l.Provider.String()}
			pc, err := ten.ProviderClient(ctx, l.Provider)
			if err == nil {
				r.HostURI = pc.BaseURL
				_, err = pc.SendManifest(ctx, dseq, m)
			}
			if err != nil {
				r.Error, r.err = err.Error(), err
			} else {
				r.Sent = true
			}
			done[l.Provider] = r
		}
		r.Lease = l.String()
		out[i] = r
	}
	return out
}

func writeSent(w io.Writer, sent []manifestSent) {
	for _, s := range sent {
		if s.Sent {
			fmt.Fprintf(w, "  manifest sent for lease %s to %s\n", s.Lease, s.HostURI)
		} else {
			fmt.Fprintf(w, "  manifest NOT delivered for lease %s: %s\n", s.Lease, s.Error)
		}
	}
}

func sendFailed(sent []manifestSent) error {
	for _, s := range sent {
		if !s.Sent {
			// A provider's 4xx (a manifest it cannot run) is the
			// tenant's input: exit 2.
			return marketErr("the manifest did not reach the provider of lease "+s.Lease, s.err)
		}
	}
	return nil
}

func newDeployUpdateCmd(env *Env) *cobra.Command {
	var (
		f      tenantFlags
		claims []string
	)
	cmd := &cobra.Command{
		Use:   "update DEPLOYMENT FILE",
		Short: "Replace a deployment's manifest (same resources) and resend it to its providers",
		Long: `Update DEPLOYMENT with the SDL in FILE: images, commands, arguments and
environment may change; groups, resources, ports, placement and prices may
not (those are what the providers bid on: close and create a new
deployment). The new manifest hash goes on chain, the manifest is saved and
sent to the provider of every active lease, which redeploys it.`,
		Example: "  deai deploy update 42 web-v2.yaml",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			id, err := parseDeploymentArg(env, &f, args[0])
			if err != nil {
				return err
			}
			df, err := readDeployFile(env, args[1], claims)
			if err != nil {
				return err
			}
			ten, cl, err := f.signer(ctx, env)
			if err != nil {
				return err
			}
			defer cl.Close()
			d, err := ten.Deployment(ctx, id)
			if err != nil {
				return marketErr("deployment "+id.String(), err)
			}
			if err := sameGroups(d, df.groups); err != nil {
				return invalidInput(fmt.Errorf("%s cannot update %s: %w", df.name, id, err))
			}
			if df.hash == d.Hash {
				return invalidInput(fmt.Errorf("%s has the manifest hash deployment %s already has: nothing to update", df.name, id))
			}
			if err := ten.UpdateDeployment(ctx, id, df.hash); err != nil {
				return marketErr("update deployment "+id.String(), err)
			}
			src, _ := filepath.Abs(args[1])
			if err := writeManifestFile(manifestFile(env, id.DSeq), id, src, df.manifest); err != nil {
				return err
			}
			leases, err := deploymentLeases(ctx, ten, id)
			if err != nil {
				return err
			}
			var active []market.LeaseID
			for _, l := range leases {
				if l.State == market.LeaseActive {
					active = append(active, l.ID)
				}
			}
			res := deployUpdated{Deployment: id.String(), Hash: hex.EncodeToString(df.hash[:]), Leases: sendManifest(ctx, ten, id.DSeq, df.manifest, active)}
			if err := env.Print(res, func(w io.Writer) error {
				fmt.Fprintf(w, "deployment %s updated\n  manifest hash %s\n", res.Deployment, res.Hash)
				if len(res.Leases) == 0 {
					fmt.Fprintln(w, "  no active lease: the manifest goes to the provider with deai lease create")
				}
				writeSent(w, res.Leases)
				return nil
			}); err != nil {
				return err
			}
			return sendFailed(res.Leases)
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringArrayVar(&claims, "gpu-claim", nil, "SERVICE=FILE: take the service's GPU requirement from a Kubernetes DRA claim (repeat)")
	return cmd
}

// sameGroups says how groups differ from the deployment's, or nil.
func sameGroups(d market.DeploymentResult, groups []market.GroupSpec) error {
	if len(groups) != len(d.Groups) {
		return fmt.Errorf("it has %d placement groups, the deployment %d", len(groups), len(d.Groups))
	}
	for i, g := range groups {
		have, _ := json.Marshal(d.Groups[i].Spec)
		want, _ := json.Marshal(g)
		if string(have) != string(want) {
			return fmt.Errorf("group %s: its resources, ports, placement or prices differ from the deployment's; only images, commands and env may change (close the deployment and create a new one)", g.Name)
		}
	}
	return nil
}

// escrowChanged is the output of deploy deposit and deploy close.
type escrowChanged struct {
	Deployment string       `json:"deployment"`
	State      string       `json:"state"`
	Amount     tx.Amount    `json:"amount,omitempty"`
	Escrow     escrowStatus `json:"escrow"`
}

func newDeployDepositCmd(env *Env) *cobra.Command {
	var f tenantFlags
	cmd := &cobra.Command{
		Use:   "deposit DEPLOYMENT AMOUNT",
		Short: "Top up a deployment's escrow",
		Long: `Add AMOUNT ("5deai" or "5000000udeai") to the escrow of DEPLOYMENT and show
the new funds and runway. A deployment whose escrow runs dry closes with its
leases, so top up before the runway ends.`,
		Example: "  deai deploy deposit 42 10deai",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			amt, err := tx.ParseAmount(args[1])
			if err != nil {
				return invalidInput(fmt.Errorf("AMOUNT: %w", err))
			}
			id, err := parseDeploymentArg(env, &f, args[0])
			if err != nil {
				return err
			}
			ten, cl, err := f.signer(ctx, env)
			if err != nil {
				return err
			}
			defer cl.Close()
			if err := ten.Deposit(ctx, id, uint64(amt)); err != nil {
				return marketErr("deposit to "+id.String(), err)
			}
			return printEscrowChange(ctx, env, ten, cl, id, amt, "deposited "+amt.DEAI()+" into")
		},
	}
	f.register(cmd, true)
	return cmd
}

func printEscrowChange(ctx context.Context, env *Env, ten *cmarket.Tenant, cl chain.Client, id market.DeploymentID, amt tx.Amount, verb string) error {
	d, err := ten.Deployment(ctx, id)
	if err != nil {
		return err
	}
	esc, err := ten.Escrow(ctx, id)
	if err != nil {
		return err
	}
	bt, err := blockTime(ctx, cl)
	if err != nil {
		return fmt.Errorf("block time: %w", err)
	}
	res := escrowChanged{Deployment: id.String(), State: d.State.String(), Amount: amt, Escrow: escrowStatusOf(esc, bt)}
	return env.Print(res, func(w io.Writer) error {
		if d.State == market.DeploymentClosed {
			e := res.Escrow
			_, err := fmt.Fprintf(w, "deployment %s closed at height %d: %s paid to providers, %s refunded\n", res.Deployment, d.ClosedAt, e.Transferred.DEAI(), e.Refunded.DEAI())
			return err
		}
		fmt.Fprintf(w, "%s deployment %s\n", verb, res.Deployment)
		writeEscrow(w, res.Escrow)
		return nil
	})
}

func newDeployCloseCmd(env *Env) *cobra.Command {
	var f tenantFlags
	cmd := &cobra.Command{
		Use:   "close DEPLOYMENT",
		Short: "Close a deployment and its leases; the escrow's rest is refunded",
		Long: `Close DEPLOYMENT: its orders, bids and leases close, the providers are
paid to this block and tear the workloads down, and the rest of the escrow
is refunded to the depositors. The saved manifest is deleted.`,
		Example: "  deai deploy close 42",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			id, err := parseDeploymentArg(env, &f, args[0])
			if err != nil {
				return err
			}
			ten, cl, err := f.signer(ctx, env)
			if err != nil {
				return err
			}
			defer cl.Close()
			if err := ten.CloseDeployment(ctx, id); err != nil {
				return marketErr("close deployment "+id.String(), err)
			}
			if _, err := readSavedManifest(env, id); err == nil {
				os.Remove(manifestFile(env, id.DSeq)) //nolint:errcheck // best effort; it may hold credentials
			}
			return printEscrowChange(ctx, env, ten, cl, id, 0, "closed")
		},
	}
	f.register(cmd, true)
	return cmd
}

// preflightResult is the output of deploy preflight.
type preflightResult struct {
	File   string                 `json:"file"`
	Groups []preflightGroup       `json:"groups"`
	Rows   []cmarket.PreflightRow `json:"providers"`
}

type preflightGroup struct {
	Name     string `json:"name"`
	MaxPrice uint64 `json:"max_price"`
	Bidders  int    `json:"bidders"`
}

func newDeployPreflightCmd(env *Env) *cobra.Command {
	var (
		f      tenantFlags
		claims []string
	)
	cmd := &cobra.Command{
		Use:   "preflight FILE",
		Short: "Ask every provider whether it would bid on an SDL, at what price, and why not",
		Long: `Ask every provider registered on chain whether it would bid on each group of
the SDL in FILE, and at what price per block, without creating anything. A
provider that would not bid says why: a placement attribute it lacks,
capacity it does not have (which node, which resource), or a price above the
group's maximum.`,
		Example: "  deai deploy preflight examples/deploy/echo.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			df, err := readDeployFile(env, args[0], claims)
			if err != nil {
				return err
			}
			owner, err := f.fromAddress(env)
			if err != nil {
				return err
			}
			ten, cl, err := f.reader(ctx, env, owner)
			if err != nil {
				return err
			}
			defer cl.Close()
			rows, err := ten.Preflight(ctx, df.groups)
			if err != nil {
				return marketErr("preflight", err)
			}
			res := preflightResult{File: df.name, Rows: rows}
			for _, g := range df.groups {
				pg := preflightGroup{Name: g.Name}
				pg.MaxPrice, _ = g.MaxPrice()
				for _, r := range rows {
					if r.Group == g.Name && r.Bid {
						pg.Bidders++
					}
				}
				res.Groups = append(res.Groups, pg)
			}
			if res.Rows == nil {
				res.Rows = []cmarket.PreflightRow{}
			}
			return env.Print(res, func(w io.Writer) error {
				for _, g := range res.Groups {
					fmt.Fprintf(w, "group %s (at most %d udeai per block): %d provider%s would bid\n", g.Name, g.MaxPrice, g.Bidders, plural(g.Bidders))
					for _, r := range res.Rows {
						if r.Group != g.Name {
							continue
						}
						if r.Bid {
							fmt.Fprintf(w, "  %s (%s): bids %d udeai per block\n", r.Provider, r.HostURI, r.Price)
						} else {
							fmt.Fprintf(w, "  %s (%s): no bid: %s\n", r.Provider, r.HostURI, r.Reason)
						}
					}
				}
				if len(res.Rows) == 0 {
					fmt.Fprintln(w, "no provider is registered on chain")
				}
				return nil
			})
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringArrayVar(&claims, "gpu-claim", nil, "SERVICE=FILE: take the service's GPU requirement from a Kubernetes DRA claim (repeat)")
	return cmd
}
