package agents_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

// TestRegistryLifecycle registers, updates, renews and deregisters a
// service, with the fee burned exactly and the record and indexes as
// expected after every step (the harness checks supply and indexes after
// every block).
func TestRegistryLifecycle(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 2, &p))
	const owner = 0
	burned := h.Supply().Burned

	r := h.OK(owner, register(owner, "summarize.acme", 101, 25, "llm", "summarize")) // block 1: 100 blocks × 10
	ev := events(agents.EventServiceRegistered, r.Events)
	if len(ev) != 1 || attr(ev[0], "fee") != "1000udeai" || attr(ev[0], "expiry") != "101" || attr(ev[0], "price") != "25udeai" {
		t.Fatalf("registered events %+v", ev)
	}
	if got, want := h.Balance(addr(owner)), funds-fee-1000; got != want {
		t.Errorf("owner balance %s, want %s (tx fee plus 100 blocks at 10)", got, want)
	}
	if got := h.Supply().Burned - burned; got != fee+1000 {
		t.Errorf("burned %s, want the tx fee plus the registration fee", got)
	}
	var s agents.Service
	h.Query("/agents/service/summarize.acme", &s)
	want := agents.Service{Name: "summarize.acme", Owner: addr(owner), ServiceSpec: spec(25, "llm", "summarize"), Expiry: 101, RegisteredAt: 1, UpdatedAt: 1}
	if diff := cmp.Diff(want, s, cmp.AllowUnexported(agents.Service{})); diff != "" {
		t.Errorf("service (-want +got):\n%s", diff)
	}

	u := &agents.MsgUpdateService{Owner: addr(owner), Name: "summarize.acme", ServiceSpec: spec(30, "summarize", "text")}
	u.Endpoint = "https://agent2.example.com"
	h.OK(owner, u) // block 2
	h.Query("/agents/service/summarize.acme", &s)
	if s.Price != 30 || s.Endpoint != "https://agent2.example.com" || s.UpdatedAt != 2 || s.Expiry != 101 || s.RegisteredAt != 1 {
		t.Errorf("after update %+v", s)
	}
	var list []agents.Service
	h.Query("/agents/services?capability=llm", &list)
	if len(list) != 0 {
		t.Errorf("capability llm still lists %+v after the update dropped it", list)
	}
	h.Query("/agents/services?capability=text", &list)
	if len(list) != 1 || list[0].Name != "summarize.acme" {
		t.Errorf("capability text lists %+v", list)
	}

	before := h.Balance(addr(owner))
	r = h.OK(owner, &agents.MsgRenewService{Owner: addr(owner), Name: "summarize.acme", Expiry: 151}) // block 3: 50 more blocks
	if ev := events(agents.EventServiceRenewed, r.Events); len(ev) != 1 || attr(ev[0], "fee") != "500udeai" || attr(ev[0], "expiry") != "151" {
		t.Fatalf("renewed events %+v", ev)
	}
	if got := before - h.Balance(addr(owner)); got != fee+500 {
		t.Errorf("renewal cost %s, want the tx fee plus 50 blocks at 10", got)
	}
	h.AdvanceTo(120) // past the old expiry: the old timer was cancelled
	h.Query("/agents/service/summarize.acme", &s)
	if s.Expiry != 151 {
		t.Errorf("after renewal and block 120 the expiry is %d", s.Expiry)
	}

	r = h.OK(owner, &agents.MsgDeregisterService{Owner: addr(owner), Name: "summarize.acme"})
	if ev := events(agents.EventServiceDeregistered, r.Events); len(ev) != 1 {
		t.Fatalf("deregistered events %+v", ev)
	}
	if got := h.QueryErr("/agents/service/summarize.acme"); got != module.ReasonNotFound {
		t.Errorf("query after deregistration: %v, want not_found", got)
	}
	h.OK(1, register(1, "summarize.acme", 200, 1)) // the name is free at once
	h.AdvanceTo(152)                               // the first registration's timer is gone with it
}

// TestRegistryUniquenessAndExpiry: a live name belongs to its owner; it
// drops out of discovery in the block after its expiry, and another owner
// may then take it.
func TestRegistryUniquenessAndExpiry(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 2, &p))
	h.OK(0, register(0, "fetch", 10, 5, "data")) // block 1

	if log := h.Reject(module.ReasonInvalid, 1, register(1, "fetch", 20, 5)); !strings.Contains(log, "taken by "+addr(0).String()+" until height 10") {
		t.Errorf("taken name: %s", log)
	}
	if log := h.Reject(module.ReasonInvalid, 0, register(0, "fetch", 20, 5)); !strings.Contains(log, "already yours") {
		t.Errorf("own name: %s", log)
	}
	h.Reject(module.ReasonUnauthorized, 1, &agents.MsgRenewService{Owner: addr(1), Name: "fetch", Expiry: 30})
	h.Reject(module.ReasonUnauthorized, 1, &agents.MsgDeregisterService{Owner: addr(1), Name: "fetch"})
	h.Reject(module.ReasonUnauthorized, 1, &agents.MsgUpdateService{Owner: addr(1), Name: "fetch", ServiceSpec: spec(1)})

	h.AdvanceTo(9)
	res := h.Block() // block 10: the last one at which the record is live
	if len(events(agents.EventServiceExpired, res.Events)) != 1 {
		t.Fatalf("block 10 end-block events %+v, want the expiry", res.Events)
	}
	var list []agents.Service
	h.Query("/agents/services", &list)
	if len(list) != 0 {
		t.Errorf("discovery after expiry lists %+v", list)
	}
	h.Query("/agents/services?capability=data", &list)
	if len(list) != 0 {
		t.Errorf("capability index after expiry lists %+v", list)
	}
	h.Reject(module.ReasonNotFound, 0, &agents.MsgRenewService{Owner: addr(0), Name: "fetch", Expiry: 30})
	h.OK(1, register(1, "fetch", 30, 7))
	var s agents.Service
	h.Query("/agents/service/fetch", &s)
	if s.Owner != addr(1) || s.Price != 7 {
		t.Errorf("new owner's record %+v", s)
	}
}

// TestRegisterOverUnsweptExpiry: with one expiry per block, a name whose
// record expired but was not swept yet can still be taken (and the
// discovery query hides it with ?height=).
func TestRegisterOverUnsweptExpiry(t *testing.T) {
	p := testParams()
	p.EndBlockLimit = 1
	h := newHarness(t, genesis(t, 3, &p))
	h.lagging = true
	h.OK(0, register(0, "a", 5, 1), register(0, "b", 5, 1), register(0, "c", 5, 1)) // block 1
	h.AdvanceTo(5)                                                                  // block 5 sweeps "a" only
	var list []agents.Service
	h.Query("/agents/services", &list)
	if len(list) != 2 {
		t.Fatalf("after block 5 with a limit of 1: %d services, want 2 left", len(list))
	}
	h.Query("/agents/services?height=6", &list)
	if len(list) != 0 {
		t.Errorf("?height=6 lists %+v", list)
	}
	if got := h.QueryErr("/agents/service/c?height=6"); got != module.ReasonNotFound {
		t.Errorf("service c at height 6: %v, want not_found", got)
	}
	r := h.OK(1, register(1, "c", 50, 2)) // block 6 (its end block sweeps b)
	if ev := events(agents.EventServiceExpired, r.Events); len(ev) != 1 || attr(ev[0], "name") != "c" {
		t.Errorf("registering over the expired record: events %+v", r.Events)
	}
	h.AdvanceTo(8)
	h.Query("/agents/services", &list)
	if len(list) != 1 || list[0].Owner != addr(1) {
		t.Errorf("services %+v", list)
	}
}

func TestRegistryRejects(t *testing.T) {
	p := testParams()
	poor := 3
	g := genesis(t, 3, &p)
	g.Accounts = append(g.Accounts, ledgerAccount(addr(poor), 1500))
	h := newHarness(t, g)
	h.OK(0, register(0, "svc", 50, 1))
	tests := []struct {
		name string
		from int
		msg  tx.Msg
		want module.Reason
		log  string
	}{
		{"expiry not after the height", 1, register(1, "x", 2, 1), module.ReasonInvalid, "not after the current height"},
		{"expiry too far", 1, register(1, "x", 2000, 1), module.ReasonInvalid, "want at most 1000"},
		{"fee above the balance", poor, register(poor, "x", 100, 1), module.ReasonInsufficientFunds, "insufficient funds"},
		{"renew to an earlier expiry", 0, &agents.MsgRenewService{Owner: addr(0), Name: "svc", Expiry: 40}, module.ReasonInvalid, "not after the current expiry 50"},
		{"renew too far", 0, &agents.MsgRenewService{Owner: addr(0), Name: "svc", Expiry: 5000}, module.ReasonInvalid, "want at most 1000"},
		{"update unknown", 0, &agents.MsgUpdateService{Owner: addr(0), Name: "nope", ServiceSpec: spec(1)}, module.ReasonNotFound, "not registered"},
		{"deregister unknown", 0, &agents.MsgDeregisterService{Owner: addr(0), Name: "nope"}, module.ReasonNotFound, "not registered"},
		{"signed by another", 1, &agents.MsgDeregisterService{Owner: addr(0), Name: "svc"}, module.ReasonUnauthorized, "signed by"},
		{"bad name", 1, register(1, "Bad_Name", 20, 1), module.ReasonInvalid, "service name"},
		{"unsorted capabilities", 1, register(1, "x", 20, 1, "b", "a"), module.ReasonInvalid, "sorted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.T = t
			before := h.Balance(addr(tt.from))
			log := h.Reject(tt.want, tt.from, tt.msg)
			if !strings.Contains(log, tt.log) {
				t.Errorf("log %q, want it to mention %q", log, tt.log)
			}
			paid := before - h.Balance(addr(tt.from))
			if paid != fee && paid != 0 { // stateless failures are not even charged
				t.Errorf("the failed tx cost %s, want at most the fee", paid)
			}
		})
	}
}

// TestDiscovery filters by capability and price, pages with after and
// limit, and lists by owner.
func TestDiscovery(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 2, &p))
	h.OK(0, register(0, "a.sum", 500, 10, "llm/chat", "summarize"), register(0, "b.sum", 500, 50, "summarize"))
	h.OK(1, register(1, "c.fetch", 500, 5, "data"), register(1, "d.sum", 500, 20, "summarize"))

	names := func(path string) []string {
		var list []agents.Service
		h.Query(path, &list)
		var out []string
		for _, s := range list {
			out = append(out, s.Name)
		}
		return out
	}
	tests := []struct {
		path string
		want []string
	}{
		{"/agents/services", []string{"a.sum", "b.sum", "c.fetch", "d.sum"}},
		{"/agents/services?capability=summarize", []string{"a.sum", "b.sum", "d.sum"}},
		{"/agents/services?capability=summarize&max_price=20", []string{"a.sum", "d.sum"}},
		{"/agents/services?capability=summarize&max_price=20udeai&limit=1", []string{"a.sum"}},
		{"/agents/services?capability=summarize&max_price=20&after=a.sum", []string{"d.sum"}},
		{"/agents/services?capability=llm/chat", []string{"a.sum"}},
		{"/agents/services?capability=llm", nil},
		{"/agents/services?max_price=5", []string{"c.fetch"}},
		{"/agents/services/owner/" + addr(1).String(), []string{"c.fetch", "d.sum"}},
		{"/agents/services/owner/" + addr(0).String() + "?after=a.sum", []string{"b.sum"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, names(tt.path)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.path, diff)
		}
	}
	for _, bad := range []string{"/agents/services?max_price=cheap", "/agents/services?capability=UP", "/agents/services?limit=0", "/agents/nothing", "/agents/services/owner/xyz", "/agents/services?color=red"} {
		if got := h.QueryErr(bad); got != module.ReasonBadQuery {
			t.Errorf("%s: %v, want bad_query", bad, got)
		}
	}
}
