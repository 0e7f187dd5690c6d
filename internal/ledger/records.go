package ledger

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// Keys owned by the ledger core. Consensus keys live under "ledger/";
// indexes and commit metadata under state.LocalPrefix.
var (
	chainIDKey  = []byte("ledger/chain_id")
	paramsKey   = []byte("ledger/params")
	metaKey     = []byte(state.LocalPrefix + "meta")
	txPrefix    = []byte(state.LocalPrefix + "tx/")
	blockPrefix = []byte(state.LocalPrefix + "block/")
)

func txKey(h tx.Hash) []byte {
	return append(append(make([]byte, 0, len(txPrefix)+len(h)), txPrefix...), h[:]...)
}

func blockKey(height int64) []byte {
	return tx.AppendU64(append(make([]byte, 0, len(blockPrefix)+8), blockPrefix...), uint64(height))
}

// HexBytes marshals as upper-case hex, as CometBFT prints hashes.
type HexBytes []byte

// MarshalText implements encoding.TextMarshaler.
func (h HexBytes) MarshalText() ([]byte, error) {
	return []byte(strings.ToUpper(hex.EncodeToString(h))), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *HexBytes) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	*h = v
	return err
}

// TxRecord is what the ledger remembers about an executed tx: the answer
// of the /tx/<hash> query.
type TxRecord struct {
	Hash   tx.Hash       `json:"hash"`
	Height int64         `json:"height"`
	Index  uint32        `json:"index"`
	Code   uint32        `json:"code"`             // a Reason; 0 = success
	Reason string        `json:"reason,omitempty"` // the Reason's name when Code != 0
	Log    string        `json:"log,omitempty"`
	Events []Event       `json:"events"`
	Tx     *TxView       `json:"tx,omitempty"` // nil if the bytes did not decode
	Raw    bank.HexBytes `json:"raw"`          // the tx bytes as included
}

// TxView is the JSON view of a decoded tx.
type TxView struct {
	ChainID   string        `json:"chain_id"`
	Sender    string        `json:"sender"`
	PubKey    bank.HexBytes `json:"pubkey"`
	Nonce     uint64        `json:"nonce"`
	Fee       tx.Amount     `json:"fee"`
	Memo      string        `json:"memo,omitempty"`
	Msgs      []MsgView     `json:"msgs"`
	Signature bank.HexBytes `json:"signature"`
}

// MsgView is the JSON view of one message: its registered name and the
// message as JSON.
type MsgView struct {
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

func viewTx(t *tx.Tx, reg *tx.Registry) *TxView {
	v := &TxView{ChainID: t.ChainID, Sender: t.Sender().String(), PubKey: bank.HexBytes(t.PubKey), Nonce: t.Nonce,
		Fee: t.Fee, Memo: t.Memo, Signature: bank.HexBytes(t.Signature)}
	for _, m := range t.Msgs {
		name, _ := reg.Name(m.Type())
		val, err := json.Marshal(m)
		if err != nil {
			val = []byte("null")
		}
		v.Msgs = append(v.Msgs, MsgView{Type: name, Value: val})
	}
	return v
}

// encode: height u64 ‖ index u32 ‖ code u32 ‖ log u16-bytes ‖ events ‖ raw u16-bytes
// events: count u16 ‖ each (type u16-bytes ‖ attr count u16 ‖ each (key, value u16-bytes))
func encodeTxRecord(height int64, index uint32, res *TxResult, raw []byte) []byte {
	n := 8 + 4 + 4 + 2 + len(res.Log) + 2 + 2 + len(raw)
	for _, e := range res.Events {
		n += 2 + len(e.Type) + 2
		for _, a := range e.Attrs {
			n += 4 + len(a.Key) + len(a.Value)
		}
	}
	b := make([]byte, 0, n)
	b = tx.AppendU64(b, uint64(height))
	b = tx.AppendU32(b, index)
	b = tx.AppendU32(b, uint32(res.Code))
	b = tx.AppendString16(b, truncate(res.Log))
	b = appendEvents(b, res.Events)
	return tx.AppendBytes16(b, raw)
}

func appendEvents(b []byte, evs []Event) []byte {
	b = tx.AppendU16(b, uint16(len(evs)))
	for _, e := range evs {
		b = tx.AppendString16(b, truncate(e.Type))
		b = tx.AppendU16(b, uint16(len(e.Attrs)))
		for _, a := range e.Attrs {
			b = tx.AppendString16(b, truncate(a.Key))
			b = tx.AppendString16(b, truncate(a.Value))
		}
	}
	return b
}

func truncate(s string) string {
	if len(s) > 0xffff {
		return s[:0xffff]
	}
	return s
}

func decodeTxRecord(h tx.Hash, b []byte, reg *tx.Registry) (*TxRecord, error) {
	r := tx.NewReader(b)
	rec := &TxRecord{Hash: h, Height: int64(r.U64()), Index: r.U32(), Code: r.U32()}
	rec.Log = string(r.Bytes16(0xffff))
	rec.Events = readEvents(r)
	rec.Raw = append(bank.HexBytes(nil), r.Bytes16(0xffff)...)
	if err := r.Done(); err != nil {
		return nil, module.Errorf(module.ReasonInternal, "decode tx record %s: %v", h, err)
	}
	if rec.Code != 0 {
		rec.Reason = module.Reason(rec.Code).String()
	}
	if t, err := tx.Decode(rec.Raw, reg); err == nil {
		rec.Tx = viewTx(t, reg)
	}
	return rec, nil
}

func readEvents(r *tx.Reader) []Event {
	n := int(r.U16())
	if r.Err() != nil || n > r.Len()/4 {
		r.Fail(fmt.Errorf("bad event count %d", n))
		return nil
	}
	evs := make([]Event, 0, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		e := Event{Type: string(r.Bytes16(0xffff))}
		na := int(r.U16())
		if na > r.Len()/4 {
			r.Fail(fmt.Errorf("bad attribute count %d", na))
			return nil
		}
		e.Attrs = make([]Attr, 0, na)
		for j := 0; j < na; j++ {
			e.Attrs = append(e.Attrs, Attr{Key: string(r.Bytes16(0xffff)), Value: string(r.Bytes16(0xffff))})
		}
		evs = append(evs, e)
	}
	return evs
}

// BlockRecord is what the ledger remembers about a block: the answer of
// the /block/<height> query.
type BlockRecord struct {
	Height       int64     `json:"height"`
	TimeUnixNano int64     `json:"time_unix_nano"`
	AppHash      HexBytes  `json:"app_hash"`
	Txs          []tx.Hash `json:"txs"`
}

func (br *BlockRecord) encode() []byte {
	b := make([]byte, 0, 8+8+1+32+4+32*len(br.Txs))
	b = tx.AppendU64(b, uint64(br.Height))
	b = tx.AppendU64(b, uint64(br.TimeUnixNano))
	b = tx.AppendBytes8(b, br.AppHash)
	b = tx.AppendU32(b, uint32(len(br.Txs)))
	for _, h := range br.Txs {
		b = append(b, h[:]...)
	}
	return b
}

func decodeBlockRecord(b []byte) (*BlockRecord, error) {
	r := tx.NewReader(b)
	br := &BlockRecord{Height: int64(r.U64()), TimeUnixNano: int64(r.U64())}
	br.AppHash = append(HexBytes(nil), r.Bytes8(64)...)
	n := int(r.U32())
	if r.Err() == nil && n > r.Len()/32 {
		r.Fail(fmt.Errorf("bad tx count %d", n))
	}
	if r.Err() == nil {
		br.Txs = make([]tx.Hash, n)
		for i := range br.Txs {
			copy(br.Txs[i][:], r.Fixed(32))
		}
	}
	if err := r.Done(); err != nil {
		return nil, module.Errorf(module.ReasonInternal, "decode block record: %v", err)
	}
	return br, nil
}

type meta struct {
	height  int64
	appHash []byte
	timeNs  int64
}

func (m meta) encode() []byte {
	b := tx.AppendU64(nil, uint64(m.height))
	b = tx.AppendBytes8(b, m.appHash)
	return tx.AppendU64(b, uint64(m.timeNs))
}

func decodeMeta(b []byte) (meta, error) {
	r := tx.NewReader(b)
	m := meta{height: int64(r.U64())}
	m.appHash = append([]byte(nil), r.Bytes8(64)...)
	m.timeNs = int64(r.U64())
	return m, r.Done()
}
