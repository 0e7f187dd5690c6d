package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/tx"
)

// newAuditCmd is the auditor's side of the marketplace: signing a
// provider's attributes on chain, so that placements with signedBy trust
// them (market spec §5).
func newAuditCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Sign or revoke provider attributes as an auditor",
		Long: `Auditors vouch for providers: an auditor account signs some of a
provider's attributes (region, tier, GPU models...). A deployment whose
placement has signedBy.allOf / signedBy.anyOf only gets bids from providers
whose required attributes those auditors signed.`,
	}
	cmd.AddCommand(newAuditSignCmd(env), newAuditRevokeCmd(env), newAuditListCmd(env))
	return cmd
}

func parseAttrArgs(args []string) ([]lmarket.Attribute, error) {
	var out []lmarket.Attribute
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("attribute %q: want key=value", a)
		}
		if err := lmarket.ValidAttrKey(k, false); err != nil {
			return nil, err
		}
		out = append(out, lmarket.Attribute{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// auditTxResult is what audit sign and revoke print.
type auditTxResult struct {
	Hash     string `json:"hash"`
	Code     uint32 `json:"code"`
	Reason   string `json:"reason,omitempty"`
	Log      string `json:"log,omitempty"`
	Height   int64  `json:"height,omitempty"`
	Auditor  string `json:"auditor"`
	Provider string `json:"provider"`
}

func (e *Env) auditTx(cmd *cobra.Command, f *subnetTxFlags, provider string, build func(auditor, prov tx.Address) tx.Msg, what string) error {
	ctx := cmd.Context()
	prov, err := tx.ParseAddress(provider)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("provider %q: %w", provider, err)}
	}
	key, err := e.loadKey(f.from, f.passFile)
	if err != nil {
		return err
	}
	cl, err := e.dial(ctx, f.nf)
	if err != nil {
		return err
	}
	defer cl.Close()
	r, err := broadcastMsg(ctx, cl, key, build(key.Address(), prov), f.fee, f.timeout)
	if err != nil {
		return err
	}
	out := auditTxResult{Hash: r.Hash, Code: r.Code, Reason: r.Reason, Log: r.Log, Height: r.Height, Auditor: key.Address().String(), Provider: prov.String()}
	if err := e.Print(out, func(w io.Writer) error {
		if out.Code != 0 {
			_, err := fmt.Fprintf(w, "rejected: %s (code %d %s)\n", out.Log, out.Code, out.Reason)
			return err
		}
		_, err := fmt.Fprintf(w, "%s %s's attributes as auditor %s\n  tx %s at height %d\n", what, out.Provider, out.Auditor, out.Hash, out.Height)
		return err
	}); err != nil {
		return err
	}
	if out.Code != 0 {
		return &exitError{code: 2, err: fmt.Errorf("tx rejected with code %d (%s)", out.Code, out.Reason)}
	}
	return nil
}

func newAuditSignCmd(env *Env) *cobra.Command {
	var f subnetTxFlags
	cmd := &cobra.Command{
		Use:     "sign PROVIDER KEY=VALUE...",
		Short:   "Sign attributes of a provider (adds to what this auditor signed before)",
		Example: "  deai audit sign deai1… region=eu-west tier=datacenter --from auditor",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			attrs, err := parseAttrArgs(args[1:])
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			return env.auditTx(cmd, &f, args[0], func(auditor, prov tx.Address) tx.Msg {
				return &lmarket.MsgSignProviderAttributes{Auditor: auditor, Provider: prov, Attributes: attrs}
			}, "signed")
		},
	}
	f.register(cmd)
	return cmd
}

func newAuditRevokeCmd(env *Env) *cobra.Command {
	var f subnetTxFlags
	cmd := &cobra.Command{
		Use:   "revoke PROVIDER [KEY...]",
		Short: "Withdraw this auditor's signature from some (or all) of a provider's attributes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, k := range args[1:] {
				if err := lmarket.ValidAttrKey(k, false); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			return env.auditTx(cmd, &f, args[0], func(auditor, prov tx.Address) tx.Msg {
				return &lmarket.MsgDeleteProviderAttributes{Auditor: auditor, Provider: prov, Keys: args[1:]}
			}, "revoked signatures on")
		},
	}
	f.register(cmd)
	return cmd
}

func newAuditListCmd(env *Env) *cobra.Command {
	var nf nodeFlag
	cmd := &cobra.Command{
		Use:   "list PROVIDER",
		Short: "Show a provider's own attributes and what each auditor signed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := tx.ParseAddress(args[0]); err != nil {
				return &exitError{code: 2, err: fmt.Errorf("provider %q: %w", args[0], err)}
			}
			cl, err := env.dial(cmd.Context(), nf)
			if err != nil {
				return err
			}
			defer cl.Close()
			var p lmarket.ProviderResult
			if err := queryJSON(cmd.Context(), cl, "/market/provider/"+args[0], &p); err != nil {
				return err
			}
			return env.Print(p, func(w io.Writer) error {
				fmt.Fprintf(w, "provider %s  %s  region %s\n", p.Owner, p.HostURI, p.Region)
				for _, a := range p.Attributes {
					fmt.Fprintf(w, "  %s=%s\n", a.Key, a.Value)
				}
				for _, au := range p.Audited {
					fmt.Fprintf(w, "signed by %s:\n", au.Auditor)
					for _, a := range au.Attributes {
						fmt.Fprintf(w, "  %s=%s\n", a.Key, a.Value)
					}
				}
				return nil
			})
		},
	}
	nf.register(cmd)
	return cmd
}
