package agents

import (
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

// The expiry wheel schedules work for EndBlock at a given height with O(1)
// reads and writes per entry and no iteration (the market module's
// design): height h has a slot counter and its entries sit at (h,
// 0..n-1). Cancelling deletes an entry; EndBlock walks the slots of each
// due height in order, at most a fixed number per block, and keeps a
// cursor only while it is behind. Entries are only ever scheduled after
// the current height, so the walk never misses one.

func wheelCountKey(h uint64) []byte {
	return tx.AppendU64([]byte("agents/wn/"), h)
}

func wheelEntryKey(h uint64, slot uint32) []byte {
	return tx.AppendU32(tx.AppendU64([]byte("agents/we/"), h), slot)
}

var wheelCursorKey = []byte("agents/wc")

func (w writer) slots(h uint64) (uint32, error) {
	b, err := w.get(wheelCountKey(h), "timer slots")
	if err != nil || b == nil {
		return 0, err
	}
	r := tx.NewReader(b)
	n := r.U32()
	return n, decodeDone(r, "timer slots")
}

// schedule adds payload at height h (> the current height).
func (w writer) schedule(h uint64, payload []byte) (timer, error) {
	n, err := w.slots(h)
	if err != nil {
		return timer{}, err
	}
	if n == ^uint32(0) {
		return timer{}, module.Errorf(module.ReasonInternal, "expiry wheel: height %d is full", h)
	}
	w.st.Set(wheelEntryKey(h, n), payload)
	w.st.Set(wheelCountKey(h), tx.AppendU32(nil, n+1))
	return timer{Height: h, Slot: n}, nil
}

// cancel removes a scheduled entry; the zero timer is none.
func (w writer) cancel(t timer) {
	if t.Height != 0 {
		w.st.Delete(wheelEntryKey(t.Height, t.Slot))
	}
}

// run calls fn for the entries due at or before height, in (height,
// slot) order, visiting at most limit slots and heights. fn must only
// schedule entries after height.
func (w writer) run(height uint64, limit uint32, fn func(payload []byte) error) error {
	h, slot := height, uint32(0)
	b, err := w.get(wheelCursorKey, "timer cursor")
	if err != nil {
		return err
	}
	if b != nil {
		r := tx.NewReader(b)
		h, slot = r.U64(), r.U32()
		if err := decodeDone(r, "timer cursor"); err != nil {
			return err
		}
	}
	var ops uint32
	for ; h <= height; h, slot = h+1, 0 {
		n, err := w.slots(h)
		if err != nil {
			return err
		}
		for ; slot < n; slot++ {
			if ops >= limit {
				w.st.Set(wheelCursorKey, tx.AppendU32(tx.AppendU64(nil, h), slot))
				return nil
			}
			ops++
			key := wheelEntryKey(h, slot)
			p, err := w.get(key, "timer entry")
			if err != nil {
				return err
			}
			if p == nil {
				continue // cancelled
			}
			w.st.Delete(key)
			if err := fn(p); err != nil {
				return err
			}
		}
		if n > 0 {
			w.st.Delete(wheelCountKey(h))
		}
		ops++ // each height visited counts, so a far-behind cursor catches up in bounded steps
		if ops >= limit && h < height {
			w.st.Set(wheelCursorKey, tx.AppendU32(tx.AppendU64(nil, h+1), 0))
			return nil
		}
	}
	if b != nil {
		w.st.Delete(wheelCursorKey)
	}
	return nil
}
