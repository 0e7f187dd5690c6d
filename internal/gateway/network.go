package gateway

import (
	"context"
	"fmt"
	"strings"

	"github.com/deai-network/deai/internal/chain"
	lsubnet "github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
)

// Miner is one serving UID of a subnet, as the router needs it.
type Miner struct {
	UID       uint16
	Hotkey    tx.Address
	Endpoint  string // base URL, without /v1
	Digest    string // the model digest the miner published
	Region    string
	Incentive float64 // [0,1]
	Trust     float64 // [0,1]
}

// Model is one model the network serves: a subnet and one of its pinned
// digests, with the miners that publish exactly that digest.
type Model struct {
	ID     string // the friendly id clients send as "model"
	Netuid uint16
	Task   string
	Digest string // pinned on chain
	Miners []Miner
}

// Network lists the models the gateway serves. LedgerNetwork reads them
// from the chain; tests may supply a fixed list.
type Network interface {
	Models(ctx context.Context) ([]Model, error)
}

// LedgerNetwork reads subnets' pinned digests and metagraphs from the
// ledger through a chain client.
type LedgerNetwork struct {
	Client  chain.Client
	Netuids []uint16
	// Names maps a netuid to its friendly model id; default: the subnet's
	// name with spaces replaced by dashes.
	Names map[uint16]string
	// MinStake leaves out miners with less stake on their hotkey: a miner
	// with nothing at stake has nothing to lose when a spot check proves
	// it wrong (docs/verification.md).
	MinStake tx.Amount
}

var _ Network = (*LedgerNetwork)(nil)

func (l *LedgerNetwork) query(ctx context.Context, path string, v any) error {
	return queryJSON(ctx, l.Client, path, v)
}

// Models implements Network: one model per allowed digest of each subnet.
// A subnet with one digest is named plainly; with several, each model id
// gets "@" and the digest's first 12 hex digits.
func (l *LedgerNetwork) Models(ctx context.Context) ([]Model, error) {
	var out []Model
	for _, netuid := range l.Netuids {
		var info lsubnet.SubnetInfo
		if err := l.query(ctx, fmt.Sprintf("/subnet/%d", netuid), &info); err != nil {
			return nil, err
		}
		var mg lsubnet.Metagraph
		if err := l.query(ctx, fmt.Sprintf("/subnet/%d/metagraph", netuid), &mg); err != nil {
			return nil, err
		}
		name := l.Names[netuid]
		if name == "" {
			name = strings.ReplaceAll(strings.TrimSpace(info.Name), " ", "-")
		}
		for _, d := range info.AllowedDigests {
			digest := d.String()
			m := Model{ID: name, Netuid: netuid, Task: info.TaskType, Digest: digest}
			if len(info.AllowedDigests) > 1 {
				m.ID = name + "@" + digest[:min(12, len(digest))]
			}
			for _, n := range mg.Neurons {
				if n.Endpoint == "" || n.ModelDigest != digest {
					continue // not serving, or serving another model: never routed to
				}
				if n.JailedUntil > mg.Block {
					continue // slashed for a wrong answer and jailed: not routed to until released
				}
				if n.Stake < l.MinStake {
					continue
				}
				m.Miners = append(m.Miners, Miner{UID: n.UID, Hotkey: n.Hotkey, Endpoint: strings.TrimRight(n.Endpoint, "/"),
					Digest: n.ModelDigest, Region: n.Region, Incentive: float64(n.Incentive) / 65535, Trust: float64(n.Trust) / 65535})
			}
			out = append(out, m)
		}
	}
	return out, nil
}
