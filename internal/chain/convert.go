package chain

import (
	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"
)

// The From* functions translate CometBFT types into this package's result
// types. They are exported for the in-memory twin (chaintest), which must
// produce exactly what the real clients produce; services never need them.

// FromCheckTx converts a CheckTx response for tx.
func FromCheckTx(tx []byte, r *abci.ResponseCheckTx) CheckResult {
	if r == nil {
		return CheckResult{Hash: TxHash(tx)}
	}
	return CheckResult{
		Hash:      TxHash(tx),
		Code:      r.Code,
		Codespace: r.Codespace,
		Log:       r.Log,
		Data:      nilIfEmpty(r.Data),
	}
}

// FromExecTxResult converts the result of tx at (height, index).
func FromExecTxResult(tx []byte, height int64, index uint32, r *abci.ExecTxResult) TxResult {
	out := TxResult{Hash: TxHash(tx), Height: height, Index: index}
	if r == nil {
		return out
	}
	out.Code = r.Code
	out.Codespace = r.Codespace
	out.Log = r.Log
	out.Info = r.Info
	out.Data = nilIfEmpty(r.Data)
	out.GasWanted = r.GasWanted
	out.GasUsed = r.GasUsed
	out.Events = FromEvents(r.Events)
	return out
}

// FromEvents converts ABCI events.
func FromEvents(evs []abci.Event) []AppEvent {
	if len(evs) == 0 {
		return nil
	}
	out := make([]AppEvent, len(evs))
	for i, e := range evs {
		out[i].Type = e.Type
		if len(e.Attributes) > 0 {
			out[i].Attributes = make([]Attribute, len(e.Attributes))
			for j, a := range e.Attributes {
				out[i].Attributes[j] = Attribute{Key: a.Key, Value: a.Value, Index: a.Index}
			}
		}
	}
	return out
}

// FromBlock converts a block whose ID hash is hash (nil: computed).
func FromBlock(b *cmttypes.Block, hash []byte) Block {
	if b == nil {
		return Block{}
	}
	if len(hash) == 0 {
		hash = b.Hash()
	}
	out := Block{
		ChainID:         b.ChainID,
		Height:          b.Height,
		Hash:            nilIfEmpty(hash),
		Time:            b.Time,
		LastBlockHash:   nilIfEmpty(b.LastBlockID.Hash),
		AppHash:         nilIfEmpty(b.AppHash),
		ProposerAddress: nilIfEmpty(b.ProposerAddress),
	}
	if len(b.Txs) > 0 {
		out.Txs = make([][]byte, len(b.Txs))
		for i, tx := range b.Txs {
			out.Txs[i] = tx
		}
	}
	return out
}

// FromQuery converts a Query response.
func FromQuery(r *abci.ResponseQuery) QueryResult {
	if r == nil {
		return QueryResult{}
	}
	return QueryResult{
		Code:      r.Code,
		Codespace: r.Codespace,
		Log:       r.Log,
		Info:      r.Info,
		Key:       nilIfEmpty(r.Key),
		Value:     nilIfEmpty(r.Value),
		Height:    r.Height,
	}
}

// FromEventData converts event data published on a CometBFT event bus. It
// reports false for event kinds this package does not expose.
func FromEventData(data cmttypes.TMEventData) (Event, bool) {
	switch d := data.(type) {
	case cmttypes.EventDataNewBlock:
		if d.Block == nil {
			return Event{}, false
		}
		b := FromBlock(d.Block, d.BlockID.Hash)
		ev := Event{Type: EventNewBlock, Height: b.Height, Block: &b, Events: FromEvents(d.ResultFinalizeBlock.Events)}
		ev.TxResults = blockTxResults(d.Block.Txs, d.Block.Height, d.ResultFinalizeBlock.TxResults)
		return ev, true
	case cmttypes.EventDataNewBlockHeader:
		b := Block{
			ChainID: d.Header.ChainID, Height: d.Header.Height, Hash: nilIfEmpty(d.Header.Hash()),
			Time: d.Header.Time, LastBlockHash: nilIfEmpty(d.Header.LastBlockID.Hash),
			AppHash: nilIfEmpty(d.Header.AppHash), ProposerAddress: nilIfEmpty(d.Header.ProposerAddress),
		}
		return Event{Type: EventNewBlockHeader, Height: b.Height, Block: &b}, true
	case cmttypes.EventDataNewBlockEvents:
		return Event{Type: EventNewBlockEvents, Height: d.Height, Events: FromEvents(d.Events)}, true
	case cmttypes.EventDataTx:
		r := FromExecTxResult(d.Tx, d.Height, d.Index, &d.Result)
		return Event{Type: EventTx, Height: d.Height, Tx: &r, Events: r.Events}, true
	case cmttypes.EventDataValidatorSetUpdates:
		return Event{Type: EventValidatorSet}, true
	}
	return Event{}, false
}

func blockTxResults(txs cmttypes.Txs, height int64, results []*abci.ExecTxResult) []TxResult {
	if len(txs) == 0 {
		return nil
	}
	out := make([]TxResult, len(txs))
	for i, tx := range txs {
		var r *abci.ExecTxResult
		if i < len(results) {
			r = results[i]
		}
		out[i] = FromExecTxResult(tx, height, uint32(i), r)
	}
	return out
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
