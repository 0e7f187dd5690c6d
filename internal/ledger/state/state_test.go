package state

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func collect(t *testing.T, kv KV, prefix string) string {
	t.Helper()
	var parts []string
	if err := kv.Iterate([]byte(prefix), func(k, v []byte) error {
		parts = append(parts, string(k)+"="+string(v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return strings.Join(parts, ",")
}

func TestOverlayReadsThroughAndShadows(t *testing.T) {
	base := NewMemKV()
	base.Apply(WriteSet{{Key: []byte("a/1"), Value: []byte("x")}, {Key: []byte("a/3"), Value: []byte("y")}, {Key: []byte("b/1"), Value: []byte("z")}})
	o := NewOverlay(base)
	o.Set([]byte("a/2"), []byte("new"))
	o.Delete([]byte("a/3"))
	o.Set([]byte("a/1"), []byte("over"))
	if v, _ := o.Get([]byte("a/1")); string(v) != "over" {
		t.Errorf("a/1 = %q", v)
	}
	if v, _ := o.Get([]byte("a/3")); v != nil {
		t.Errorf("deleted a/3 = %q", v)
	}
	if v, _ := o.Get([]byte("b/1")); string(v) != "z" {
		t.Errorf("b/1 = %q", v)
	}
	if got, want := collect(t, o, "a/"), "a/1=over,a/2=new"; got != want {
		t.Errorf("iterate a/ = %s, want %s", got, want)
	}
	if got, want := collect(t, o, ""), "a/1=over,a/2=new,b/1=z"; got != want {
		t.Errorf("iterate all = %s, want %s", got, want)
	}
	if got, want := collect(t, base, ""), "a/1=x,a/3=y,b/1=z"; got != want {
		t.Errorf("base changed: %s", got)
	}
	ws := o.WriteSet()
	var keys []string
	for _, w := range ws {
		keys = append(keys, fmt.Sprintf("%s:%v", w.Key, w.Delete))
	}
	if got, want := strings.Join(keys, ","), "a/1:false,a/2:false,a/3:true"; got != want {
		t.Errorf("write set %s, want %s", got, want)
	}
	base.Apply(ws)
	if got, want := collect(t, base, ""), "a/1=over,a/2=new,b/1=z"; got != want {
		t.Errorf("after apply: %s, want %s", got, want)
	}
}

func TestOverlaySnapshotRevert(t *testing.T) {
	base := NewMemKV()
	base.Apply(WriteSet{{Key: []byte("k"), Value: []byte("base")}})
	o := NewOverlay(base)
	o.Set([]byte("k"), []byte("one"))
	s := o.Snapshot()
	o.Set([]byte("k"), []byte("two"))
	o.Set([]byte("n"), []byte("new"))
	o.Delete([]byte("k"))
	o.RevertTo(s)
	if v, _ := o.Get([]byte("k")); string(v) != "one" {
		t.Errorf("k = %q, want one", v)
	}
	if v, _ := o.Get([]byte("n")); v != nil {
		t.Errorf("n = %q, want absent", v)
	}
	o.RevertTo(0)
	if o.Len() != 0 {
		t.Errorf("%d writes after full revert", o.Len())
	}
	if v, _ := o.Get([]byte("k")); string(v) != "base" {
		t.Errorf("k = %q, want base", v)
	}
}

func TestAppHash(t *testing.T) {
	ws := WriteSet{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Delete: true}}
	h1 := NextAppHash(nil, 1, ws)
	if !bytes.Equal(h1, NextAppHash(make([]byte, 32), 1, ws)) {
		t.Error("nil prev is not the zero hash")
	}
	withLocal := append(WriteSet{}, ws...)
	withLocal = append(withLocal, Write{Key: []byte(LocalPrefix + "x"), Value: []byte("idx")})
	if !bytes.Equal(h1, NextAppHash(nil, 1, withLocal)) {
		t.Error("local keys change the app hash")
	}
	for name, other := range map[string][]byte{
		"height":     NextAppHash(nil, 2, ws),
		"prev":       NextAppHash(h1, 1, ws),
		"value":      NextAppHash(nil, 1, WriteSet{{Key: []byte("a"), Value: []byte("2")}, ws[1]}),
		"op":         NextAppHash(nil, 1, WriteSet{ws[0], {Key: []byte("b"), Value: []byte{}}}),
		"boundaries": NextAppHash(nil, 1, WriteSet{{Key: []byte("a1"), Value: []byte("")}, ws[1]}),
	} {
		if bytes.Equal(h1, other) {
			t.Errorf("changing the %s keeps the hash", name)
		}
	}
}

func TestIterateStopsOnError(t *testing.T) {
	m := NewMemKV()
	m.Apply(WriteSet{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("2")}})
	stop := errors.New("stop")
	n := 0
	err := NewOverlay(m).Iterate(nil, func(k, v []byte) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("err %v after %d calls", err, n)
	}
}
