// Package state is the ledger's versioned key-value store: a committed
// store behind the small KV interface (abciapp implements it over
// cometbft-db, MemKV in memory), write overlays for a block and for CheckTx,
// a sorted write set that Commit hands to the caller to persist, and the
// app hash chain. It is pure: no I/O of its own, no clock, no goroutines.
//
// # App hash
//
// The app hash of height h is
//
//	H(h) = sha256(H(h-1) ‖ u64 h ‖ for each consensus write in key order:
//	              u32 len(key) ‖ key ‖ u8 op ‖ u32 len(value) ‖ value)
//
// with op 0 for set and 1 for delete, and H(genesis) computed the same way
// from 32 zero bytes and the genesis height 0. Because the chain starts
// from the empty store, two nodes with the same H(h) have applied the same
// write sets in the same order and so hold the same state: the hash commits
// to the whole state at O(writes) cost per block. It gives no inclusion
// proofs; a Merkle tree can replace it behind the same API if light clients
// need them.
//
// Keys under LocalPrefix (tx and block indexes, commit metadata) are
// persisted with the rest but are not part of the app hash: they describe
// how the node got to the state, and their encoding may change without a
// consensus break.
package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"sort"
)

// KV is a read-only, ordered key-value store. Get returns nil (and no
// error) for a missing key. Iterate calls fn for every key with the prefix
// in ascending byte order and stops at fn's first error; the slices passed
// to fn are valid only during the call. Returned slices must not be
// modified.
type KV interface {
	Get(key []byte) ([]byte, error)
	Iterate(prefix []byte, fn func(key, value []byte) error) error
}

// Store is a KV that can be written. Set takes ownership of key and value.
type Store interface {
	KV
	Set(key, value []byte)
	Delete(key []byte)
}

// LocalPrefix marks keys that are persisted but excluded from the app hash.
const LocalPrefix = "local/"

// IsLocal reports whether key is under LocalPrefix.
func IsLocal(key []byte) bool { return bytes.HasPrefix(key, []byte(LocalPrefix)) }

// Write is one entry of a write set.
type Write struct {
	Key    []byte
	Value  []byte // nil when Delete
	Delete bool
}

// WriteSet is a list of writes in ascending key order, one per key.
type WriteSet []Write

// NextAppHash returns the app hash after applying ws at height on top of
// the state whose hash is prev (nil or empty means the empty store: 32 zero
// bytes). Local keys are skipped.
func NextAppHash(prev []byte, height int64, ws WriteSet) []byte {
	h := sha256.New()
	if len(prev) == 0 {
		prev = make([]byte, sha256.Size)
	}
	h.Write(prev)
	var buf [9]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(height))
	h.Write(buf[:8])
	for _, w := range ws {
		if IsLocal(w.Key) {
			continue
		}
		binary.BigEndian.PutUint32(buf[:4], uint32(len(w.Key)))
		h.Write(buf[:4])
		h.Write(w.Key)
		op := byte(0)
		if w.Delete {
			op = 1
		}
		buf[0] = op
		binary.BigEndian.PutUint32(buf[1:5], uint32(len(w.Value)))
		h.Write(buf[:5])
		h.Write(w.Value)
	}
	return h.Sum(nil)
}

type entry struct {
	value   []byte
	deleted bool
}

type undo struct {
	key     string
	prev    entry
	existed bool // whether key was in writes before
}

// Overlay buffers writes over a parent KV. Reads see the overlay's writes
// first. Snapshot and RevertTo undo the writes of a failed transaction.
// An Overlay is not safe for concurrent use.
type Overlay struct {
	parent  KV
	writes  map[string]entry
	journal []undo
}

var _ Store = (*Overlay)(nil)

// NewOverlay returns an empty overlay over parent.
func NewOverlay(parent KV) *Overlay {
	return &Overlay{parent: parent, writes: make(map[string]entry)}
}

// Get implements KV.
func (o *Overlay) Get(key []byte) ([]byte, error) {
	if e, ok := o.writes[string(key)]; ok {
		if e.deleted {
			return nil, nil
		}
		return e.value, nil
	}
	return o.parent.Get(key)
}

func (o *Overlay) put(key string, e entry) {
	prev, existed := o.writes[key]
	o.journal = append(o.journal, undo{key: key, prev: prev, existed: existed})
	o.writes[key] = e
}

// Set implements Store.
func (o *Overlay) Set(key, value []byte) {
	if value == nil {
		value = []byte{}
	}
	o.put(string(key), entry{value: value})
}

// Delete implements Store.
func (o *Overlay) Delete(key []byte) { o.put(string(key), entry{deleted: true}) }

// Snapshot returns a point that RevertTo can return to.
func (o *Overlay) Snapshot() int { return len(o.journal) }

// RevertTo undoes every write made after the snapshot s.
func (o *Overlay) RevertTo(s int) {
	for i := len(o.journal) - 1; i >= s; i-- {
		u := o.journal[i]
		if u.existed {
			o.writes[u.key] = u.prev
		} else {
			delete(o.writes, u.key)
		}
	}
	o.journal = o.journal[:s]
}

// Forget drops the undo journal: the writes so far can no longer be
// reverted. The ledger calls it after each tx so the journal stays small.
func (o *Overlay) Forget() { o.journal = o.journal[:0] }

// Len returns the number of keys written.
func (o *Overlay) Len() int { return len(o.writes) }

// Reset drops every write.
func (o *Overlay) Reset() {
	clear(o.writes)
	o.journal = o.journal[:0]
}

// WriteSet returns the writes in key order.
func (o *Overlay) WriteSet() WriteSet {
	keys := make([]string, 0, len(o.writes))
	for k := range o.writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ws := make(WriteSet, len(keys))
	for i, k := range keys {
		e := o.writes[k]
		ws[i] = Write{Key: []byte(k), Value: e.value, Delete: e.deleted}
	}
	return ws
}

// Apply writes ws into the overlay.
func (o *Overlay) Apply(ws WriteSet) {
	for _, w := range ws {
		if w.Delete {
			o.Delete(w.Key)
		} else {
			o.Set(w.Key, w.Value)
		}
	}
}

// Iterate implements KV over the merged view of overlay and parent.
func (o *Overlay) Iterate(prefix []byte, fn func(key, value []byte) error) error {
	type kv struct{ k, v []byte }
	var base []kv
	if err := o.parent.Iterate(prefix, func(k, v []byte) error {
		if _, shadowed := o.writes[string(k)]; !shadowed {
			base = append(base, kv{append([]byte(nil), k...), append([]byte(nil), v...)})
		}
		return nil
	}); err != nil {
		return err
	}
	var mine []kv
	for k, e := range o.writes {
		if !e.deleted && len(k) >= len(prefix) && k[:len(prefix)] == string(prefix) {
			mine = append(mine, kv{[]byte(k), e.value})
		}
	}
	sort.Slice(mine, func(i, j int) bool { return bytes.Compare(mine[i].k, mine[j].k) < 0 })
	i, j := 0, 0
	for i < len(base) || j < len(mine) {
		var next kv
		if j == len(mine) || (i < len(base) && bytes.Compare(base[i].k, mine[j].k) < 0) {
			next, i = base[i], i+1
		} else {
			next, j = mine[j], j+1
		}
		if err := fn(next.k, next.v); err != nil {
			return err
		}
	}
	return nil
}

// MemKV is an in-memory KV that a write set can be applied to: the
// committed store of tests and of the in-memory chain twin. It is not safe
// for concurrent use.
type MemKV struct {
	m map[string][]byte
}

var _ KV = (*MemKV)(nil)

// NewMemKV returns an empty store.
func NewMemKV() *MemKV { return &MemKV{m: make(map[string][]byte)} }

// Get implements KV.
func (m *MemKV) Get(key []byte) ([]byte, error) { return m.m[string(key)], nil }

// Iterate implements KV.
func (m *MemKV) Iterate(prefix []byte, fn func(key, value []byte) error) error {
	var keys []string
	for k := range m.m {
		if len(k) >= len(prefix) && k[:len(prefix)] == string(prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn([]byte(k), m.m[k]); err != nil {
			return err
		}
	}
	return nil
}

// Apply persists a write set.
func (m *MemKV) Apply(ws WriteSet) {
	for _, w := range ws {
		if w.Delete {
			delete(m.m, string(w.Key))
		} else {
			m.m[string(w.Key)] = w.Value
		}
	}
}

// Len returns the number of keys.
func (m *MemKV) Len() int { return len(m.m) }
