package subnet

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/ledger"
	lsubnet "github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
)

// DefaultTxTimeout bounds waiting for one tx to be committed.
const DefaultTxTimeout = 30 * time.Second

// LedgerChain implements Chain over a chain.Client and deai's subnet
// ledger module, signing every tx with the hotkey.
type LedgerChain struct {
	c   chain.Client
	key TxKey
	// MaxBurn caps the registration price the hotkey agrees to pay; zero
	// means any price.
	MaxBurn tx.Amount
	// TxTimeout bounds each BroadcastCommit; zero means DefaultTxTimeout.
	TxTimeout time.Duration

	mu sync.Mutex // serializes txs: each one reads the account nonce
}

var _ Chain = (*LedgerChain)(nil)

// NewLedgerChain returns a Chain that reads c and signs txs with key.
func NewLedgerChain(c chain.Client, key TxKey) *LedgerChain {
	return &LedgerChain{c: c, key: key}
}

// ErrTxRejected is wrapped by the errors of txs the ledger refused.
var ErrTxRejected = errors.New("tx rejected")

func (l *LedgerChain) query(ctx context.Context, path string, v any) error {
	r, err := l.c.Query(ctx, path, nil)
	if err != nil {
		return fmt.Errorf("query %s: %w", path, err)
	}
	if r.Code != 0 {
		return fmt.Errorf("query %s: %s (code %d)", path, r.Log, r.Code)
	}
	if err := json.Unmarshal(r.Value, v); err != nil {
		return fmt.Errorf("query %s: decode: %w", path, err)
	}
	return nil
}

// send signs msg in a tx from the hotkey and waits for its block.
func (l *LedgerChain) send(ctx context.Context, msg tx.Msg) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var params ledger.Params
	if err := l.query(ctx, "/params", &params); err != nil {
		return err
	}
	st, err := l.c.Status(ctx)
	if err != nil {
		return fmt.Errorf("chain status: %w", err)
	}
	var acct ledger.Account
	if err := l.query(ctx, "/account/"+l.key.Address().String(), &acct); err != nil {
		return fmt.Errorf("hotkey %s has no account (fund it first): %w", l.key.Address(), err)
	}
	t, err := tx.Builder{ChainID: st.ChainID, Nonce: acct.Nonce, Fee: params.MinFee, Msgs: []tx.Msg{msg}}.Sign(l.privateKey())
	if err != nil {
		return err
	}
	raw, err := t.Encode()
	if err != nil {
		return err
	}
	to := l.TxTimeout
	if to <= 0 {
		to = DefaultTxTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	res, err := l.c.BroadcastCommit(cctx, raw)
	if err != nil {
		return fmt.Errorf("broadcast: %w", err)
	}
	if res.Code != 0 {
		return fmt.Errorf("%w: %s (code %d)", ErrTxRejected, res.Log, res.Code)
	}
	return nil
}

// TxKey is a hotkey that can also sign txs: the tx builder needs the raw
// ed25519 key. *wallet.Key implements it.
type TxKey interface {
	Key
	PrivateKey() ed25519.PrivateKey
}

func (l *LedgerChain) privateKey() ed25519.PrivateKey { return l.key.PrivateKey() }

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
