package ledger

import (
	"errors"
	"fmt"

	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// TxResult is the outcome of one tx. Code is OK (0) or the reason it was
// rejected; Log says why in words. Events are those of the state changes
// that happened: all of them on success; on a failed message in a block,
// only the fee and nonce events (the fee is still charged).
type TxResult struct {
	Code   Reason
	Log    string
	Events []Event
}

// OK reports whether the tx succeeded.
func (r *TxResult) OK() bool { return r.Code == module.OK }

func failed(err error) TxResult { return TxResult{Code: module.ReasonOf(err), Log: err.Error()} }

// Block is a decided block to execute.
type Block struct {
	Height       int64
	TimeUnixNano int64
	// Hash is the block's hash from consensus: unknown to a tx's sender
	// when it signs, so modules may use it as a beacon (the subnet
	// module's dispute committees). Empty in harnesses that do not set it.
	Hash []byte
	Txs  [][]byte
	// Verified[i] says the caller has already checked the signature of
	// Txs[i] with the SigVerifier's rules (e.g. in CheckTx). Missing
	// entries mean false.
	Verified []bool
}

// BlockResult is the outcome of FinalizeBlock.
type BlockResult struct {
	TxResults []TxResult
	Events    []Event // from the modules' begin- and end-block hooks
	AppHash   []byte
	TxHashes  []tx.Hash
}

// prepared is a tx after the stateless checks.
type prepared struct {
	raw   []byte
	tx    *tx.Tx
	spend tx.Amount // fee plus the amounts of Spender messages
	err   error     // the first stateless failure
}

// prepare runs every check that needs no state: size, decoding, chain id,
// message validation, amount overflow, fee floor.
func (l *Ledger) prepare(raw []byte) prepared {
	p := prepared{raw: raw}
	if len(raw) > int(l.params.MaxTxBytes) {
		p.err = module.Errorf(module.ReasonOversize, "tx is %d bytes, limit is %d", len(raw), l.params.MaxTxBytes)
		return p
	}
	t, err := tx.Decode(raw, l.reg)
	if err != nil {
		switch {
		case errors.Is(err, tx.ErrUnknownMsg):
			p.err = module.Wrap(module.ReasonUnknownMsg, err)
		case errors.Is(err, tx.ErrOversize):
			p.err = module.Wrap(module.ReasonOversize, err)
		default:
			p.err = module.Wrap(module.ReasonMalformed, err)
		}
		return p
	}
	p.tx = t
	if t.ChainID != l.chainID {
		p.err = module.Errorf(module.ReasonWrongChainID, "tx is signed for chain %q, this is %q", t.ChainID, l.chainID)
		return p
	}
	if len(t.Memo) > int(l.params.MaxMemoBytes) {
		p.err = module.Errorf(module.ReasonOversize, "memo is %d bytes, limit is %d", len(t.Memo), l.params.MaxMemoBytes)
		return p
	}
	if err := t.ValidateBasic(); err != nil {
		switch {
		case errors.Is(err, tx.ErrZeroAmount):
			p.err = module.Wrap(module.ReasonZeroAmount, err)
		case errors.Is(err, tx.ErrOversize):
			p.err = module.Wrap(module.ReasonOversize, err)
		default:
			p.err = module.Wrap(module.ReasonInvalid, err)
		}
		return p
	}
	if p.spend, err = t.TotalSpend(); err != nil {
		p.err = module.Wrap(module.ReasonOverflow, err)
		return p
	}
	if t.Fee < l.params.MinFee {
		p.err = module.Errorf(module.ReasonFeeTooLow, "fee %s is below the minimum %s", t.Fee, l.params.MinFee)
		return p
	}
	return p
}

var errBadSig = module.Errorf(module.ReasonBadSignature, "signature does not verify for the tx's public key and sign bytes")

// apply executes a prepared, signature-checked tx on ctx.Store. It returns
// whether the fee and nonce were applied; when err is non-nil and charged
// is true, the messages' writes and events were undone but the fee's stay.
// When charged is false nothing was written.
func (l *Ledger) apply(ctx *Context, st *state.Overlay, p *prepared) (charged bool, err error) {
	if p.err != nil {
		return false, p.err
	}
	t := p.tx
	snap := st.Snapshot()
	if err := bank.Ante(ctx, t.PubKey, t.Nonce, t.Fee, p.spend); err != nil {
		st.RevertTo(snap)
		ctx.Events = ctx.Events[:0]
		return false, err
	}
	snap, nev := st.Snapshot(), len(ctx.Events)
	sender := t.Sender()
	for i, m := range t.Msgs {
		h := l.handlers[m.Type()] // present: the registry decoded it
		if err := h.Deliver(ctx, sender, m); err != nil {
			st.RevertTo(snap)
			ctx.Events = ctx.Events[:nev]
			if len(t.Msgs) > 1 {
				err = fmt.Errorf("message %d: %w", i, err)
			}
			return true, err
		}
	}
	return true, nil
}

// SigState is what a caller already knows about a tx's signature, so that
// it is verified once: in CheckTx, possibly outside the caller's lock, or
// not at all for a recheck.
type SigState uint8

// The states.
const (
	SigUnchecked SigState = iota // the ledger verifies it
	SigValid                     // verified by the caller with the SigVerifier's rules
	SigInvalid                   // verified by the caller and found invalid
)

// CheckTx decides whether raw may enter the mempool, running it in full
// against the check state (the last commit plus every tx admitted since),
// so that a sender can queue several txs with consecutive nonces. A
// rejected tx leaves the check state untouched. sig says what the caller
// already knows about the signature of exactly these bytes (SigValid for a
// recheck or a verified-tx cache hit). The result has no events. The check
// state is reset at Commit.
func (l *Ledger) CheckTx(raw []byte, sig SigState) TxResult {
	if !l.ready {
		return failed(module.Errorf(module.ReasonInternal, "ledger has no genesis yet"))
	}
	p := l.prepare(raw)
	if p.err == nil {
		switch sig {
		case SigInvalid:
			p.err = errBadSig
		case SigUnchecked:
			if !l.verifier.Verify(p.tx.PubKey, tx.SignBytesOf(raw), p.tx.Signature) {
				p.err = errBadSig
			}
		}
	}
	ctx := &Context{Height: l.nextHeight, TimeUnixNano: l.lastTimeNs, ChainID: l.chainID, Check: true, Store: l.check}
	snap := l.check.Snapshot()
	if _, err := l.apply(ctx, l.check, &p); err != nil {
		l.check.RevertTo(snap)
		return failed(err)
	}
	l.check.Forget()
	return TxResult{Code: module.OK}
}

// Precheck runs the stateless checks of CheckTx (size, decoding, chain id,
// message validation, overflow, fee floor) without the signature. abciapp
// uses it to filter proposals.
func (l *Ledger) Precheck(raw []byte) error {
	if !l.ready {
		return module.Errorf(module.ReasonInternal, "ledger has no genesis yet")
	}
	return l.prepare(raw).err
}

// FinalizeBlock executes a decided block in memory and returns each tx's
// result and the new app hash. Signatures not flagged in b.Verified are
// checked in one SigVerifier.VerifyBatch call. A tx that fails before its
// fee is charged changes nothing; one whose messages fail pays the fee and
// uses its nonce. An error means the state machine cannot go on (an I/O
// error of the KV, a broken invariant): the caller must stop, not retry.
func (l *Ledger) FinalizeBlock(b Block) (*BlockResult, error) {
	switch {
	case !l.ready:
		return nil, errors.New("finalize block: ledger has no genesis")
	case l.fin != nil:
		return nil, fmt.Errorf("finalize block %d: block %d is finalized but not committed", b.Height, l.fin.height)
	case b.Height != l.nextHeight:
		return nil, fmt.Errorf("finalize block: height %d, want %d", b.Height, l.nextHeight)
	}
	preps := make([]prepared, len(b.Txs))
	var items []SigItem
	var idx []int
	for i, raw := range b.Txs {
		preps[i] = l.prepare(raw)
		if preps[i].err == nil && !(i < len(b.Verified) && b.Verified[i]) {
			t := preps[i].tx
			items = append(items, SigItem{PubKey: t.PubKey, Msg: tx.SignBytesOf(raw), Sig: t.Signature})
			idx = append(idx, i)
		}
	}
	if len(items) > 0 {
		ok := l.verifier.VerifyBatch(items)
		if len(ok) != len(items) {
			return nil, fmt.Errorf("finalize block %d: verifier returned %d results for %d signatures", b.Height, len(ok), len(items))
		}
		for k, i := range idx {
			if !ok[k] {
				preps[i].err = errBadSig
			}
		}
	}

	res := &BlockResult{TxResults: make([]TxResult, len(b.Txs)), TxHashes: make([]tx.Hash, len(b.Txs))}
	bctx := &Context{Height: b.Height, TimeUnixNano: b.TimeUnixNano, BlockHash: b.Hash, ChainID: l.chainID, Store: l.block}
	for _, m := range l.modules {
		if h, ok := m.(module.BeginBlocker); ok {
			if err := h.BeginBlock(bctx); err != nil {
				l.block.Reset()
				return nil, fmt.Errorf("finalize block %d: begin block %s: %w", b.Height, m.Name(), err)
			}
		}
	}
	for i := range preps {
		ctx := &Context{Height: b.Height, TimeUnixNano: b.TimeUnixNano, BlockHash: b.Hash, ChainID: l.chainID, Store: l.block}
		charged, err := l.apply(ctx, l.block, &preps[i])
		r := TxResult{Code: module.OK, Events: ctx.Events}
		if err != nil {
			if module.ReasonOf(err) == module.ReasonInternal {
				l.block.Reset()
				return nil, fmt.Errorf("finalize block %d: tx %d: %w", b.Height, i, err)
			}
			r = failed(err)
			if charged {
				r.Events = ctx.Events
			}
		}
		l.block.Forget()
		res.TxResults[i] = r
		h := tx.HashOf(preps[i].raw)
		res.TxHashes[i] = h
		if err := l.indexTx(h, b.Height, uint32(i), &r, preps[i].raw); err != nil {
			l.block.Reset()
			return nil, fmt.Errorf("finalize block %d: %w", b.Height, err)
		}
	}
	for _, m := range l.modules {
		if h, ok := m.(module.EndBlocker); ok {
			if err := h.EndBlock(bctx); err != nil {
				l.block.Reset()
				return nil, fmt.Errorf("finalize block %d: end block %s: %w", b.Height, m.Name(), err)
			}
		}
	}
	res.Events = bctx.Events
	res.AppHash = state.NextAppHash(l.head, b.Height, l.block.WriteSet())
	br := BlockRecord{Height: b.Height, TimeUnixNano: b.TimeUnixNano, AppHash: res.AppHash, Txs: res.TxHashes}
	l.block.Set(blockKey(b.Height), br.encode())
	l.fin = &meta{height: b.Height, appHash: res.AppHash, timeNs: b.TimeUnixNano}
	return res, nil
}

// indexTx records a tx's result. A failed inclusion never overwrites the
// record of a successful one (the same bytes can be included again, and
// then fail on their used nonce).
func (l *Ledger) indexTx(h tx.Hash, height int64, index uint32, r *TxResult, raw []byte) error {
	key := txKey(h)
	if !r.OK() {
		old, err := l.block.Get(key)
		if err != nil {
			return fmt.Errorf("read tx record %s: %w", h, err)
		}
		if len(old) >= 16 && old[12] == 0 && old[13] == 0 && old[14] == 0 && old[15] == 0 {
			return nil // code at offset 12 is 0: a success is already recorded
		}
	}
	l.block.Set(key, encodeTxRecord(height, index, r, raw))
	return nil
}

// Commit ends the finalized block and returns every write since the last
// commit, in key order, including the commit metadata that Load reads
// back. The caller must persist the write set atomically (one batch,
// synced) before calling into the Ledger again; if it crashes first, the
// persisted state is the previous commit and CometBFT replays the block.
func (l *Ledger) Commit() (state.WriteSet, error) {
	if l.fin == nil {
		return nil, errors.New("commit: no finalized block")
	}
	l.block.Set(metaKey, l.fin.encode())
	var ws state.WriteSet
	if l.pending.Len() == 0 {
		ws = l.block.WriteSet()
	} else {
		l.pending.Apply(l.block.WriteSet())
		ws = l.pending.WriteSet()
	}
	l.pending.Reset()
	l.block.Reset()
	l.check.Reset()
	l.height, l.appHash, l.lastTimeNs = l.fin.height, l.fin.appHash, l.fin.timeNs
	l.head, l.nextHeight, l.fin = l.fin.appHash, l.fin.height+1, nil
	return ws, nil
}
