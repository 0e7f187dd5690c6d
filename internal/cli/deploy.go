package cli

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market/manifest"
)

// newDeployCmd builds the `deploy` group: a tenant's deployments on the
// compute market. Subcommands in other files join it with AddCommand.
func newDeployCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Compute-market deployments: validate an SDL or a Kubernetes DRA claim",
		Long: `Work with deployments on the compute market. A deployment is described by an
Akash SDL (v2.0/2.1) file, or its GPU request by a Kubernetes DRA
ResourceClaimTemplate. An invalid file exits with status 2.`,
	}
	cmd.AddCommand(newDeployValidateCmd(env))
	return cmd
}

func newDeployValidateCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check an SDL or DRA file and show what it asks the market for",
		Long: `Check FILE ("-" reads stdin) and print the order it makes: per group the
resources of one replica, the replica count, the GPU requirement, the
placement and the most it pays per block; then any warnings. SDL and
Kubernetes DRA files (ResourceClaimTemplate) are told apart by their
top-level keys. Problems are listed with line and field path, and the
command exits with status 2.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			data, err := readManifestFile(env, name)
			if name == "-" {
				name = "stdin"
			}
			if err != nil {
				return err
			}
			switch manifest.Detect(data) {
			case manifest.FormatSDL:
				return validateSDL(env, name, data)
			case manifest.FormatDRA:
				return validateDRA(env, name, data)
			}
			return invalidFile(env, name, manifest.FormatUnknown, &manifest.FieldError{
				Msg: "neither an SDL (top-level version, services, profiles, deployment) nor a Kubernetes DRA file (apiVersion, kind)",
			})
		},
	}
}

// formatWindow writes a reclamation window as SDL does: 24h, 90m, 45s.
func formatWindow(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

func readManifestFile(env *Env, name string) ([]byte, error) {
	var r io.Reader = env.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, manifest.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return data, nil
}

// validateResult is the -o json form of deploy validate.
type validateResult struct {
	File     string                 `json:"file"`
	Format   manifest.Format        `json:"format"`
	Valid    bool                   `json:"valid"`
	Errors   []*manifest.FieldError `json:"errors,omitempty"`
	SDL      *sdlResult             `json:"sdl,omitempty"`
	DRA      *manifest.DRARequest   `json:"dra,omitempty"`
	Warnings []manifest.Warning     `json:"warnings,omitempty"`
}

type sdlResult struct {
	Version       string        `json:"version"`
	Denom         string        `json:"denom"` // as written; settled 1:1 in udeai
	ManifestHash  string        `json:"manifest_hash"`
	ReclaimWindow string        `json:"reclaim_window,omitempty"`
	Groups        []groupResult `json:"groups"`
}

type groupResult struct {
	lmarket.GroupSpec
	Services []string `json:"services"`  // unit i runs Services[i]
	MaxPrice uint64   `json:"max_price"` // udeai per block, all units and replicas
}

// invalidFile reports parse errors: as JSON on stdout with -o json, and
// in the returned error (printed on stderr) either way; exit status 2.
func invalidFile(env *Env, name string, format manifest.Format, err error) error {
	fes := manifest.FieldErrors(err)
	if env.JSON() {
		if perr := printJSON(env.Stdout, validateResult{File: name, Format: format, Errors: fes}); perr != nil {
			return perr
		}
	}
	what := map[manifest.Format]string{manifest.FormatSDL: "SDL", manifest.FormatDRA: "DRA file", manifest.FormatUnknown: "deployment file"}[format]
	var b strings.Builder
	fmt.Fprintf(&b, "%s is not a valid %s (%d problem%s):", name, what, len(fes), plural(len(fes)))
	for _, fe := range fes {
		b.WriteString("\n  ")
		if fe.Line > 0 {
			fmt.Fprintf(&b, "line %d: ", fe.Line)
		}
		b.WriteString(fe.Error())
	}
	return &exitError{code: 2, err: fmt.Errorf("%s", b.String())}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// printJSON writes v indented, without escaping <, > and & (CEL has &&).
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func validateSDL(env *Env, name string, data []byte) error {
	s, err := manifest.ParseSDL(data)
	if err != nil {
		return invalidFile(env, name, manifest.FormatSDL, err)
	}
	m := s.Manifest()
	h := m.Hash()
	res := &sdlResult{Version: s.Version, Denom: s.Denom(), ManifestHash: hex.EncodeToString(h[:])}
	if w := s.ReclaimWindow(); w > 0 {
		res.ReclaimWindow = formatWindow(w)
	}
	for i, g := range s.Groups() {
		gr := groupResult{GroupSpec: g}
		for _, svc := range m.Groups[i].Services {
			gr.Services = append(gr.Services, svc.Name)
		}
		// Validate has bounded the prices, so the sum cannot overflow.
		gr.MaxPrice, _ = g.MaxPrice()
		res.Groups = append(res.Groups, gr)
	}
	if env.JSON() {
		return printJSON(env.Stdout, validateResult{File: name, Format: manifest.FormatSDL, Valid: true, SDL: res, Warnings: s.Warnings})
	}
	w := env.Stdout
	fmt.Fprintf(w, "%s: valid SDL %s, %d group%s\n", name, s.Version, len(res.Groups), plural(len(res.Groups)))
	fmt.Fprintf(w, "manifest hash: %s\n", res.ManifestHash)
	if s.Denom() != manifest.DenomUDEAI {
		fmt.Fprintf(w, "prices: in %s, read 1:1 as udeai\n", s.Denom())
	}
	if res.ReclaimWindow != "" {
		fmt.Fprintf(w, "reclamation window: at least %s\n", res.ReclaimWindow)
	}
	for _, g := range res.Groups {
		billing := "per block"
		if g.Billing == lmarket.BillingUsage {
			billing = "by usage, capped per block"
		}
		fmt.Fprintf(w, "\ngroup %s: at most %d udeai per block in all, billed %s\n", g.Name, g.MaxPrice, billing)
		fmt.Fprintf(w, "  placement: %s\n", describePlacement(g.Requirements))
		for i, u := range g.Units {
			r := u.Resources
			fmt.Fprintf(w, "  unit %d: %s, %d replica%s, at most %d udeai per block each\n", u.ID, g.Services[i], u.Count, plural(int(u.Count)), u.Price)
			fmt.Fprintf(w, "    cpu:       %s\n", manifest.FormatCPU(r.CPUMilli))
			fmt.Fprintf(w, "    memory:    %s\n", manifest.FormatSize(r.MemoryBytes))
			fmt.Fprintf(w, "    storage:   %s\n", describeStorage(r.Storage))
			fmt.Fprintf(w, "    gpu:       %s\n", describeGPU(r.GPU))
			fmt.Fprintf(w, "    endpoints: %s\n", describeEndpoints(r.Endpoints))
		}
	}
	printWarnings(w, s.Warnings)
	return nil
}

func validateDRA(env *Env, name string, data []byte) error {
	r, err := manifest.ParseDRA(data)
	if err != nil {
		return invalidFile(env, name, manifest.FormatDRA, err)
	}
	warns := r.Warnings
	req := *r
	req.Warnings = nil
	if env.JSON() {
		return printJSON(env.Stdout, validateResult{File: name, Format: manifest.FormatDRA, Valid: true, DRA: &req, Warnings: warns})
	}
	w := env.Stdout
	where := req.APIVersion
	if req.Namespace != "" {
		where += ", namespace " + req.Namespace
	}
	fmt.Fprintf(w, "%s: valid %s %s (%s)\n", name, req.Kind, req.Name, where)
	fmt.Fprintf(w, "gpu per replica: %s\n", describeGPU(req.GPU))
	for _, dr := range req.Requests {
		fmt.Fprintf(w, "\nrequest %s", dr.Name)
		if len(dr.Alternatives) > 1 {
			fmt.Fprint(w, ": the first available of")
		}
		fmt.Fprintln(w)
		for _, a := range dr.Alternatives {
			label := a.DeviceClassName
			if a.Name != "" {
				label = a.Name + ": " + label
			}
			fmt.Fprintf(w, "  %s, %d device%s -> %s\n", label, a.Count, plural(int(a.Count)), strings.Join(a.GPU, " | "))
			for _, sel := range a.Selectors {
				fmt.Fprintf(w, "    selector: %s\n", strings.Join(strings.Fields(sel), " "))
			}
		}
		if dr.Sharing != "" {
			fmt.Fprintf(w, "  sharing: %s\n", dr.Sharing)
		}
	}
	printWarnings(w, warns)
	return nil
}

func printWarnings(w io.Writer, warns []manifest.Warning) {
	if len(warns) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%d warning%s:\n", len(warns), plural(len(warns)))
	for _, x := range warns {
		if x.Line > 0 {
			fmt.Fprintf(w, "  line %d: %s\n", x.Line, x)
		} else {
			fmt.Fprintf(w, "  %s\n", x)
		}
	}
}

func describePlacement(r lmarket.Requirements) string {
	var parts []string
	for _, a := range r.Attributes {
		parts = append(parts, a.Key+"="+a.Value)
	}
	if len(r.SignedBy.AllOf) > 0 {
		parts = append(parts, "signed by all of "+strings.Join(r.SignedBy.AllOf, ", "))
	}
	if len(r.SignedBy.AnyOf) > 0 {
		parts = append(parts, "signed by any of "+strings.Join(r.SignedBy.AnyOf, ", "))
	}
	if len(parts) == 0 {
		return "any provider"
	}
	return strings.Join(parts, "; ")
}

func describeStorage(vs []lmarket.Volume) string {
	var parts []string
	for _, v := range vs {
		kind := "ephemeral"
		switch {
		case v.Class == lmarket.StorageRAM:
			kind = "ram"
		case v.Persistent:
			kind = v.Class + ", persistent"
		}
		parts = append(parts, fmt.Sprintf("%s %s (%s)", v.Name, manifest.FormatSize(v.SizeBytes), kind))
	}
	return strings.Join(parts, ", ")
}

// describeGPU renders a GPU requirement: "1 × nvidia h100 80Gi or nvidia a100, shared (mps)".
func describeGPU(g lmarket.GPU) string {
	if g.Units == 0 {
		return "none"
	}
	var alts []string
	for _, s := range g.Attributes {
		a, err := lmarket.ParseGPUAttr(s)
		if err != nil {
			alts = append(alts, s)
			continue
		}
		d := a.Vendor + " " + a.Model
		if a.Model == "*" {
			d = "any " + a.Vendor + " model"
		}
		for _, x := range []string{a.RAM, a.Interface} {
			if x != "" {
				d += " " + x
			}
		}
		alts = append(alts, d)
	}
	s := fmt.Sprintf("%d × %s", g.Units, strings.Join(alts, " or "))
	if g.Sharing != "" {
		s += ", shared (" + g.Sharing + ")"
	}
	return s
}

func describeEndpoints(es []lmarket.Endpoint) string {
	var parts []string
	for _, e := range es {
		switch e.Kind {
		case lmarket.EndpointSharedHTTP:
			parts = append(parts, "shared HTTP ingress")
		case lmarket.EndpointRandomPort:
			parts = append(parts, "random port")
		case lmarket.EndpointLeasedIP:
			parts = append(parts, fmt.Sprintf("leased IP %d", e.Seq))
		}
	}
	if len(parts) == 0 {
		return "none (internal only)"
	}
	return strings.Join(parts, ", ")
}
