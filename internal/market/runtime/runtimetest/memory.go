package runtimetest

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/deai-network/deai/internal/market/manifest"
	"github.com/deai-network/deai/internal/market/runtime"
)

// Memory is the in-memory twin of a runtime.Runtime for tests of the
// provider and other consumers: Deploy validates like the real runtimes
// (runtime.ValidateGroup) and marks every replica running and ready with a
// made-up endpoint per global port; usage is allocation-based (resources ×
// time on Now); logs are what Log appended. SetService, Fail and Now let a
// test play crashes, errors and time.
type Memory struct {
	mu     sync.Mutex // guards everything below
	leases map[string]*memLease
	fail   map[string]error // by operation name, once
	nextHP uint16
	now    func() time.Time
	host   string
}

var _ runtime.Runtime = (*Memory)(nil)

type memLease struct {
	ref      runtime.LeaseRef
	group    manifest.Group
	deployed time.Time // of the current group, for usage
	usage    runtime.Usage
	status   map[string]*runtime.ServiceStatus
	logs     []string
	deploys  int
}

// NewMemory returns an empty twin whose clock is now (nil: time.Now) and
// whose endpoints are on 127.0.0.1 from port 30000.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{leases: map[string]*memLease{}, fail: map[string]error{}, nextHP: 30000, now: now, host: "127.0.0.1"}
}

// Name is "memory".
func (m *Memory) Name() string { return "memory" }

// Fail makes the next call of op ("Deploy", "Status", "Logs", "Usage",
// "Close", "List") return err.
func (m *Memory) Fail(op string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail[op] = err
}

func (m *Memory) failed(op string) error {
	err := m.fail[op]
	delete(m.fail, op)
	return err
}

// Deploy records the group; a lease deployed again keeps the endpoints of
// services still present.
func (m *Memory) Deploy(ctx context.Context, l runtime.LeaseRef, g manifest.Group) (runtime.Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failed("Deploy"); err != nil {
		return runtime.Status{}, err
	}
	if err := runtime.ValidateGroup(g); err != nil {
		return runtime.Status{}, fmt.Errorf("deploy lease %s: %w", l.ID, err)
	}
	now := m.now()
	ml := m.leases[l.ID]
	if ml == nil {
		ml = &memLease{ref: l, status: map[string]*runtime.ServiceStatus{}, usage: runtime.Usage{Start: now, At: now}}
		m.leases[l.ID] = ml
	}
	m.accrueLocked(ml, now)
	ml.group, ml.deployed = g, now
	ml.deploys++
	old := ml.status
	ml.status = map[string]*runtime.ServiceStatus{}
	for _, s := range g.Services {
		n := int(s.Count)
		ss := &runtime.ServiceStatus{Name: s.Name, Replicas: n, Running: n, Ready: n}
		for i := 0; i < n; i++ {
			for _, x := range s.Expose {
				if !x.Global {
					continue
				}
				ep := runtime.Endpoint{Port: x.Port, ExternalPort: x.ExternalPort, Proto: strings.ToUpper(x.Proto), Host: m.host, Replica: i}
				if ep.ExternalPort == 0 {
					ep.ExternalPort = x.Port
				}
				if ep.Proto == "" {
					ep.Proto = "TCP"
				}
				if o := old[s.Name]; o != nil {
					for _, oe := range o.Endpoints {
						if oe.Port == ep.Port && oe.Proto == ep.Proto && oe.Replica == i {
							ep.HostPort = oe.HostPort
						}
					}
				}
				if ep.HostPort == 0 {
					ep.HostPort = m.nextHP
					m.nextHP++
				}
				ss.Endpoints = append(ss.Endpoints, ep)
			}
		}
		ml.status[s.Name] = ss
	}
	return m.statusLocked(ml), nil
}

// Deploys says how often the lease was deployed (0 if never).
func (m *Memory) Deploys(l runtime.LeaseRef) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ml := m.leases[l.ID]; ml != nil {
		return ml.deploys
	}
	return 0
}

// Group returns the lease's deployed group.
func (m *Memory) Group(l runtime.LeaseRef) (manifest.Group, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ml := m.leases[l.ID]; ml != nil {
		return ml.group, true
	}
	return manifest.Group{}, false
}

// SetService changes a service's state, e.g. to play a crash:
// SetService(l, "web", func(s *runtime.ServiceStatus) { s.Ready = 0; s.Restarts++ }).
func (m *Memory) SetService(l runtime.LeaseRef, service string, change func(*runtime.ServiceStatus)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ml := m.leases[l.ID]
	if ml == nil || ml.status[service] == nil {
		return fmt.Errorf("set service %s of lease %s: %w", service, l.ID, runtime.ErrNotFound)
	}
	m.accrueLocked(ml, m.now()) // the old state counts until now
	change(ml.status[service])
	return nil
}

// Log appends a line of output of service replica 0.
func (m *Memory) Log(l runtime.LeaseRef, service, line string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ml := m.leases[l.ID]; ml != nil {
		ml.logs = append(ml.logs, "["+service+"-0] "+line+"\n")
	}
}

// Status returns what Deploy and SetService made.
func (m *Memory) Status(ctx context.Context, l runtime.LeaseRef) (runtime.Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failed("Status"); err != nil {
		return runtime.Status{}, err
	}
	ml := m.leases[l.ID]
	if ml == nil {
		return runtime.Status{}, fmt.Errorf("status of lease %s: %w", l.ID, runtime.ErrNotFound)
	}
	return m.statusLocked(ml), nil
}

func (m *Memory) statusLocked(ml *memLease) runtime.Status {
	st := runtime.Status{Lease: ml.ref}
	for _, ss := range ml.status {
		c := *ss
		c.Endpoints = append([]runtime.Endpoint(nil), ss.Endpoints...)
		st.Services = append(st.Services, c)
	}
	sort.Slice(st.Services, func(i, j int) bool { return st.Services[i].Name < st.Services[j].Name })
	return st
}

// Logs returns the lines Log appended so far (Follow is not supported: the
// reader ends after them); Services filters by the "[service-" prefix.
func (m *Memory) Logs(ctx context.Context, l runtime.LeaseRef, opts runtime.LogOptions) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failed("Logs"); err != nil {
		return nil, err
	}
	ml := m.leases[l.ID]
	if ml == nil {
		return nil, fmt.Errorf("logs of lease %s: %w", l.ID, runtime.ErrNotFound)
	}
	var b strings.Builder
	for _, line := range ml.logs {
		keep := len(opts.Services) == 0
		for _, s := range opts.Services {
			keep = keep || strings.HasPrefix(line, "["+s+"-")
		}
		if keep {
			b.WriteString(line)
		}
	}
	return io.NopCloser(strings.NewReader(b.String())), nil
}

// Usage is allocation-based: each replica's CPU, memory and GPUs for the
// time its group has been deployed.
func (m *Memory) Usage(ctx context.Context, l runtime.LeaseRef) (runtime.Usage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failed("Usage"); err != nil {
		return runtime.Usage{}, err
	}
	ml := m.leases[l.ID]
	if ml == nil {
		return runtime.Usage{}, fmt.Errorf("usage of lease %s: %w", l.ID, runtime.ErrNotFound)
	}
	m.accrueLocked(ml, m.now())
	return ml.usage, nil
}

// accrueLocked adds the running replicas' allocation up to now.
func (m *Memory) accrueLocked(ml *memLease, now time.Time) {
	secs := uint64(max(0, now.Sub(ml.usage.At)/time.Second))
	if secs == 0 {
		return
	}
	for _, s := range ml.group.Services {
		n := uint64(0)
		if ss := ml.status[s.Name]; ss != nil {
			n = uint64(ss.Running)
		}
		ml.usage.CPUMilliSeconds += n * s.Resources.CPUMilli * secs
		ml.usage.MemoryMiBSeconds += n * (s.Resources.MemoryBytes >> 20) * secs
		ml.usage.GPUSeconds += n * uint64(s.Resources.GPU.Units) * secs
	}
	ml.usage.At = ml.usage.At.Add(time.Duration(secs) * time.Second)
}

// Close forgets the lease; closing an absent lease is not an error.
func (m *Memory) Close(ctx context.Context, l runtime.LeaseRef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failed("Close"); err != nil {
		return err
	}
	delete(m.leases, l.ID)
	return nil
}

// List returns the deployed leases sorted by ID.
func (m *Memory) List(ctx context.Context) ([]runtime.LeaseRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failed("List"); err != nil {
		return nil, err
	}
	var out []runtime.LeaseRef
	for _, ml := range m.leases {
		out = append(out, ml.ref)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Run waits for ctx to end.
func (m *Memory) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
