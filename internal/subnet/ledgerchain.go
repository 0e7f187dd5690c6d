package subnet

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"time"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/chain/account"
	lsubnet "github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
)

// DefaultTxTimeout bounds waiting for one tx to be committed.
const DefaultTxTimeout = account.DefaultTimeout

// LedgerChain implements Chain over a chain.Client and deai's subnet
// ledger module, signing every tx with the hotkey.
type LedgerChain struct {
	c    chain.Client
	key  TxKey
	acct *account.Account
	// MaxBurn caps the registration price the hotkey agrees to pay; zero
	// means any price.
	MaxBurn tx.Amount
	// TxTimeout bounds each BroadcastCommit; zero means DefaultTxTimeout.
	TxTimeout time.Duration

	mu sync.Mutex // serializes txs (and guards acct.Timeout)
}

var _ Chain = (*LedgerChain)(nil)

// NewLedgerChain returns a Chain that reads c and signs txs with key.
func NewLedgerChain(c chain.Client, key TxKey) *LedgerChain {
	return &LedgerChain{c: c, key: key, acct: account.New(c, key)}
}

// ErrTxRejected is wrapped by the errors of txs the ledger refused.
var ErrTxRejected = account.ErrTxRejected

func (l *LedgerChain) query(ctx context.Context, path string, v any) error {
	return account.Query(ctx, l.c, path, v)
}

// send signs msg in a tx from the hotkey and waits for its block.
func (l *LedgerChain) send(ctx context.Context, msg tx.Msg) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acct.Timeout = l.TxTimeout
	_, err := l.acct.Send(ctx, msg)
	return err
}

// TxKey is a hotkey that can also sign txs: the tx builder needs the raw
// ed25519 key. *wallet.Key implements it.
type TxKey interface {
	Key
	PrivateKey() ed25519.PrivateKey
}

// Head implements Chain.
func (l *LedgerChain) Head(ctx context.Context) (Head, error) {
	st, err := l.c.Status(ctx)
	if err != nil {
		return Head{}, fmt.Errorf("chain status: %w", err)
	}
	return Head{Height: st.LatestHeight, Hash: st.LatestBlockHash}, nil
}

// Register implements Chain.
func (l *LedgerChain) Register(ctx context.Context, netuid uint16) error {
	max := l.MaxBurn
	if max == 0 {
		max = tx.Amount(^uint64(0) >> 1)
	}
	return l.send(ctx, &lsubnet.MsgRegister{Hotkey: l.key.Address(), Netuid: netuid, MaxBurn: max})
}

// Serve implements Chain.
func (l *LedgerChain) Serve(ctx context.Context, netuid uint16, info ServeInfo) error {
	d, err := lsubnet.ParseDigest(info.ModelDigest)
	if err != nil {
		return fmt.Errorf("serve: model digest: %w", err)
	}
	return l.send(ctx, &lsubnet.MsgServe{Hotkey: l.key.Address(), Netuid: netuid, Endpoint: info.Endpoint,
		ProtocolVersion: info.ProtocolVersion, ModelDigest: d, Region: info.Region})
}

// SetWeights implements Chain.
func (l *LedgerChain) SetWeights(ctx context.Context, netuid uint16, w Weights) error {
	return l.send(ctx, &lsubnet.MsgSetWeights{Hotkey: l.key.Address(), Netuid: netuid, UIDs: w.UIDs, Weights: w.Values})
}

// CommitWeights implements Chain with the ledger's CommitHash.
func (l *LedgerChain) CommitWeights(ctx context.Context, netuid uint16, w Weights, salt []byte) error {
	h := lsubnet.CommitHash(netuid, l.key.Address(), w.UIDs, w.Values, salt)
	return l.send(ctx, &lsubnet.MsgCommitWeights{Hotkey: l.key.Address(), Netuid: netuid, Hash: h})
}

// RevealWeights implements Chain.
func (l *LedgerChain) RevealWeights(ctx context.Context, netuid uint16, w Weights, salt []byte) error {
	return l.send(ctx, &lsubnet.MsgRevealWeights{Hotkey: l.key.Address(), Netuid: netuid, UIDs: w.UIDs, Weights: w.Values, Salt: salt})
}

// Metagraph implements Chain from the ledger's /subnet/<netuid>/metagraph
// and /subnet/<netuid>/params queries and the task type of
// /subnet/<netuid>.
func (l *LedgerChain) Metagraph(ctx context.Context, netuid uint16) (Metagraph, error) {
	var (
		info   lsubnet.SubnetInfo
		params lsubnet.Params
		j      lsubnet.Metagraph
	)
	if err := l.query(ctx, fmt.Sprintf("/subnet/%d", netuid), &info); err != nil {
		return Metagraph{}, err
	}
	if err := l.query(ctx, fmt.Sprintf("/subnet/%d/params", netuid), &params); err != nil {
		return Metagraph{}, err
	}
	if err := l.query(ctx, fmt.Sprintf("/subnet/%d/metagraph", netuid), &j); err != nil {
		return Metagraph{}, err
	}
	mg := Metagraph{Netuid: j.Netuid, Block: int64(j.Block), TaskType: info.TaskType, Tempo: int64(j.Tempo), Epoch: int64(j.Epoch),
		CommitReveal: params.CommitReveal, RevealDelay: int64(params.RevealPeriod)}
	for _, n := range j.Neurons {
		nn := Neuron{UID: n.UID, Hotkey: n.Hotkey, Stake: n.Stake, ValidatorPermit: n.ValidatorPermit,
			Incentive: float64(n.Incentive) / 65535, Dividends: float64(n.Dividends) / 65535}
		if n.Endpoint != "" {
			nn.Serving = ServeInfo{Endpoint: n.Endpoint, ProtocolVersion: n.ProtocolVersion, ModelDigest: n.ModelDigest, Region: n.Region}
		}
		mg.Neurons = append(mg.Neurons, nn)
	}
	return mg, nil
}
