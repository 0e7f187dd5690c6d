package ledger_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// counter is a toy module that proves the plug-in points: its own message,
// state, genesis section, block hooks, query, and use of bank.
type counter struct{}

const typeMsgBump tx.MsgType = 0x7e01

type msgBump struct{ By uint64 }

func (m *msgBump) Type() tx.MsgType             { return typeMsgBump }
func (m *msgBump) AppendBody(dst []byte) []byte { return tx.AppendU64(dst, m.By) }
func (m *msgBump) ValidateBasic() error {
	if m.By == 0 {
		return fmt.Errorf("bump: %w", tx.ErrZeroAmount)
	}
	return nil
}

var counterKey = []byte("counter/n")

func get(kv state.KV) uint64 {
	b, _ := kv.Get(counterKey)
	if b == nil {
		return 0
	}
	n, _ := strconv.ParseUint(string(b), 10, 64)
	return n
}

func (counter) Name() string { return "counter" }
func (counter) RegisterMsgs(r *tx.Registry) error {
	return r.Register(typeMsgBump, "counter/bump", func(b []byte) (tx.Msg, error) {
		r := tx.NewReader(b)
		m := &msgBump{By: r.U64()}
		return m, r.Done()
	})
}
func (counter) Deliver(ctx *module.Context, sender tx.Address, msg tx.Msg) error {
	m := msg.(*msgBump)
	if m.By == 13 {
		return module.Errorf(module.ReasonInvalid, "unlucky")
	}
	ctx.Store.Set(counterKey, []byte(strconv.FormatUint(get(ctx.Store)+m.By, 10)))
	ctx.Emit("bump", "by", strconv.FormatUint(m.By, 10))
	// Modules move funds through bank: each bump costs 1 udeai, burned.
	return bank.Burn(ctx, sender, 1)
}
func (counter) ValidateGenesis(raw json.RawMessage) error {
	if raw == nil {
		return nil
	}
	var g struct{ Start uint64 }
	return json.Unmarshal(raw, &g)
}
func (counter) InitGenesis(ctx *module.Context, raw json.RawMessage) error {
	var g struct{ Start uint64 }
	if raw != nil {
		_ = json.Unmarshal(raw, &g)
	}
	ctx.Store.Set(counterKey, []byte(strconv.FormatUint(g.Start, 10)))
	return nil
}
func (counter) BeginBlock(ctx *module.Context) error {
	ctx.Emit("begin", "height", strconv.FormatInt(ctx.Height, 10))
	return nil
}
func (counter) EndBlock(ctx *module.Context) error {
	ctx.Emit("end", "n", strconv.FormatUint(get(ctx.Store), 10))
	return nil
}
func (counter) Query(kv state.KV, path []string) (any, error) {
	if len(path) == 1 && path[0] == "n" {
		return map[string]uint64{"n": get(kv)}, nil
	}
	return nil, module.Errorf(module.ReasonBadQuery, "no such counter query")
}

func TestModulePlugsIn(t *testing.T) {
	g := genesis(1)
	g.Modules = map[string]json.RawMessage{"counter": json.RawMessage(`{"Start":40}`)}
	h := newHarness(t, ledger.Config{Modules: []ledger.Module{counter{}}}, g)
	bump := func(nonce, by uint64) []byte {
		return mustSign(t, 0, &tx.Tx{ChainID: chainID, Nonce: nonce, Fee: fee, Msgs: []tx.Msg{&msgBump{By: by}}})
	}
	if r := h.l.CheckTx(bump(0, 2), ledger.SigUnchecked); !r.OK() {
		t.Fatal(r.Log)
	}
	if r := h.l.CheckTx(bump(1, 0), ledger.SigUnchecked); r.Code != module.ReasonZeroAmount {
		t.Fatalf("zero bump: %v %s", r.Code, r.Log)
	}
	res := h.block(bump(0, 2), bump(1, 13))
	if !res.TxResults[0].OK() || res.TxResults[1].Code != module.ReasonInvalid {
		t.Fatalf("results %+v", res.TxResults)
	}
	if len(res.Events) != 2 || res.Events[0].Type != "begin" || res.Events[1].Attrs[0].Value != "42" {
		t.Fatalf("block events %+v", res.Events)
	}
	b, err := h.l.Query("/counter/n")
	if err != nil || string(b) != `{"n":42}` {
		t.Fatalf("query = %s, %v", b, err)
	}
	if _, err := h.l.Query("/counter/x"); module.ReasonOf(err) != module.ReasonBadQuery {
		t.Errorf("bad module query: %v", err)
	}
	rec, _ := h.l.Tx(tx.HashOf(bump(0, 2)))
	if rec == nil || rec.Tx == nil || rec.Tx.Msgs[0].Type != "counter/bump" {
		t.Errorf("tx record %+v", rec)
	}
	if s, _ := h.l.Supply(); !s.Conserved() || s.Burned != 2*fee+1 {
		t.Errorf("supply %+v", s)
	}
	if _, err := ledger.New(ledger.Config{KV: stateKV(), Modules: []ledger.Module{counter{}, counter{}}}); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Errorf("duplicate module: %v", err)
	}
}
