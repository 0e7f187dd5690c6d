package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/tx"
)

// statusReport is what `deai status` prints: the node, the dev account,
// the subnets and the gateway, each as far as it could be read.
type statusReport struct {
	Node    statusNode     `json:"node"`
	Dev     *statusAccount `json:"dev,omitempty"` // nil: no dev key in the home
	Subnets []statusSubnet `json:"subnets"`
	Gateway statusGateway  `json:"gateway"`
}

type statusNode struct {
	ChainID         string    `json:"chain_id"`
	Height          int64     `json:"height"`
	LatestBlockTime time.Time `json:"latest_block_time"`
	CatchingUp      bool      `json:"catching_up"`
	Validator       string    `json:"validator"` // hex address of the node's consensus key
	ValidatorPower  int64     `json:"validator_power"`
	NodeID          string    `json:"node_id"`
}

type statusAccount struct {
	Name    string    `json:"name"`
	Address string    `json:"address"`
	Balance tx.Amount `json:"balance"`
}

type statusSubnet struct {
	Netuid    uint16 `json:"netuid"`
	Name      string `json:"name"`
	Task      string `json:"task"`
	Neurons   uint16 `json:"neurons"` // registered UIDs: miners and validators
	Epochs    uint64 `json:"epochs"`
	LastEpoch uint64 `json:"last_epoch"` // block of the last epoch
	NextEpoch uint64 `json:"next_epoch"`
}

type statusGateway struct {
	URL    string `json:"url"`
	Up     bool   `json:"up"`
	Status int    `json:"status,omitempty"` // of GET /v1/models; 401 still means up
	Error  string `json:"error,omitempty"`
}

func newStatusCmd(env *Env) *cobra.Command {
	var nf nodeFlag
	var gateway string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Report the local node, the dev account, the subnets and the gateway",
		Long: `Report the local node (chain id, height, latest block time, catching up,
validator), the dev account's balance, the subnets (netuid, name, miners,
epochs) and whether a gateway answers GET /v1/models at --gateway.
The command fails only when the node cannot be reached.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cl, err := env.dial(ctx, nf)
			if err != nil {
				return err
			}
			defer cl.Close()
			rep, err := readStatus(ctx, env, cl, gateway)
			if err != nil {
				return err
			}
			return env.Print(rep, func(w io.Writer) error { return textStatus(w, rep) })
		},
	}
	nf.register(cmd)
	cmd.Flags().StringVar(&gateway, "gateway", "http://"+node.DefaultUpGatewayAddr, "the gateway's base URL")
	return cmd
}

func readStatus(ctx context.Context, env *Env, cl chain.Client, gatewayURL string) (statusReport, error) {
	st, err := cl.Status(ctx)
	if err != nil {
		return statusReport{}, fmt.Errorf("node status: %w", err)
	}
	rep := statusReport{Node: statusNode{ChainID: st.ChainID, Height: st.LatestHeight, LatestBlockTime: st.LatestBlockTime.UTC(),
		CatchingUp: st.CatchingUp, Validator: strings.ToUpper(hex.EncodeToString(st.ValidatorAddress)), ValidatorPower: st.ValidatorPower, NodeID: st.NodeID}}
	if ks, err := openKeystore(env); err == nil {
		if info, err := ks.Info(node.DevKeyName); err == nil {
			var acct ledger.Account
			rep.Dev = &statusAccount{Name: node.DevKeyName, Address: info.Address.String()}
			if err := queryJSON(ctx, cl, "/account/"+info.Address.String(), &acct); err == nil {
				rep.Dev.Balance = acct.Balance
			}
		}
	}
	var list []subnet.SubnetInfo
	if err := queryJSON(ctx, cl, "/subnet/list", &list); err != nil {
		return statusReport{}, err
	}
	rep.Subnets = []statusSubnet{}
	for _, s := range list {
		rep.Subnets = append(rep.Subnets, statusSubnet{Netuid: s.Netuid, Name: s.Name, Task: s.TaskType, Neurons: s.N,
			Epochs: s.Epoch, LastEpoch: s.LastEpoch, NextEpoch: s.NextEpoch})
	}
	rep.Gateway = probeGateway(ctx, strings.TrimSuffix(gatewayURL, "/"))
	return rep, nil
}

// probeGateway asks GET /v1/models; any HTTP answer (401 for a missing API
// key included) means a gateway is up.
func probeGateway(ctx context.Context, url string) statusGateway {
	g := statusGateway{URL: url}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/models", nil)
	if err != nil {
		g.Error = err.Error()
		return g
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.Error = err.Error()
		return g
	}
	resp.Body.Close()
	g.Up, g.Status = true, resp.StatusCode
	return g
}

func textStatus(w io.Writer, r statusReport) error {
	n := r.Node
	sync := "in sync"
	if n.CatchingUp {
		sync = "catching up"
	}
	fmt.Fprintf(w, "node       %s  height %d  (%s, last block %s)\n", n.ChainID, n.Height, sync, n.LatestBlockTime.Format(time.RFC3339))
	fmt.Fprintf(w, "validator  %s  power %d\n", n.Validator, n.ValidatorPower)
	if r.Dev != nil {
		fmt.Fprintf(w, "dev        %s  balance %s\n", r.Dev.Address, r.Dev.Balance.DEAI())
	}
	g := r.Gateway
	switch {
	case g.Up:
		fmt.Fprintf(w, "gateway    %s  up (GET /v1/models: %d)\n", g.URL, g.Status)
	default:
		fmt.Fprintf(w, "gateway    %s  not answering\n", g.URL)
	}
	if len(r.Subnets) == 0 {
		_, err := fmt.Fprintln(w, "subnets    none")
		return err
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NETUID\tNAME\tTASK\tNEURONS\tEPOCHS\tLAST EPOCH\tNEXT EPOCH")
	for _, s := range r.Subnets {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%d\n", s.Netuid, s.Name, s.Task, s.Neurons, s.Epochs, s.LastEpoch, s.NextEpoch)
	}
	return tw.Flush()
}
