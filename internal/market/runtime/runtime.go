package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/deai-network/deai/internal/market/manifest"
)

// Runtime runs the workloads of leases. Implementations are safe for
// concurrent use. A Runtime never removes workloads on its own: a new
// Runtime over the same backend (a provider restart) adopts what is running.
type Runtime interface {
	// Name says which runtime this is: "docker", "exec" or "kubernetes".
	Name() string
	// Deploy starts the lease's group, or brings a deployed lease to the
	// group: unchanged replicas are kept, changed ones replaced, removed
	// ones stopped. It does not wait for readiness; poll Status.
	Deploy(ctx context.Context, lease LeaseRef, g manifest.Group) (Status, error)
	// Status reports the lease's services; ErrNotFound when nothing of the
	// lease is present.
	Status(ctx context.Context, lease LeaseRef) (Status, error)
	// Logs streams the lease's stdout and stderr as whole lines, each
	// prefixed "[<service>-<replica>] " (Kubernetes: "[<pod name>] ").
	// Without Follow the reader ends after the current output; closing it
	// stops a follow.
	Logs(ctx context.Context, lease LeaseRef, opts LogOptions) (io.ReadCloser, error)
	// Usage reports what the lease has consumed since it started.
	Usage(ctx context.Context, lease LeaseRef) (Usage, error)
	// Close removes everything of the lease. Closing an absent lease is not
	// an error.
	Close(ctx context.Context, lease LeaseRef) error
	// List returns the leases that have workloads present, sorted by ID.
	List(ctx context.Context) ([]LeaseRef, error)
	// Run does the background work (usage sampling, restarting crashed
	// processes) until ctx ends; it returns nil then.
	Run(ctx context.Context) error
}

// Errors callers branch on.
var (
	// ErrNotFound: the lease has no workloads in this runtime.
	ErrNotFound = errors.New("lease not found")
	// ErrInvalid wraps a group this runtime cannot run as asked (bad
	// names, missing image, GPUs the host does not have).
	ErrInvalid = errors.New("invalid workload")
)

// LeaseRef names a lease: its ID (owner/dseq/gseq/oseq/provider) and a
// short name derived from the ID's hash that is safe in container,
// network, namespace and label names.
type LeaseRef struct {
	ID   string
	Name string // 24 lower-case hex digits of sha256(ID)

	Owner    string
	DSeq     uint64
	GSeq     uint32
	OSeq     uint32
	Provider string
}

// NewLeaseRef parses a lease ID "owner/dseq/gseq/oseq/provider".
func NewLeaseRef(id string) (LeaseRef, error) {
	parts := strings.Split(id, "/")
	if len(parts) != 5 || parts[0] == "" || parts[4] == "" {
		return LeaseRef{}, fmt.Errorf("lease id %q: want owner/dseq/gseq/oseq/provider", id)
	}
	for _, p := range []string{parts[0], parts[4]} {
		if strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return LeaseRef{}, fmt.Errorf("lease id %q: address %q has spaces or non-ASCII characters", id, p)
		}
	}
	dseq, err := strconv.ParseUint(parts[1], 10, 64)
	if err != nil {
		return LeaseRef{}, fmt.Errorf("lease id %q: dseq: %w", id, err)
	}
	gseq, err := strconv.ParseUint(parts[2], 10, 32)
	if err != nil {
		return LeaseRef{}, fmt.Errorf("lease id %q: gseq: %w", id, err)
	}
	oseq, err := strconv.ParseUint(parts[3], 10, 32)
	if err != nil {
		return LeaseRef{}, fmt.Errorf("lease id %q: oseq: %w", id, err)
	}
	sum := sha256.Sum256([]byte(id))
	return LeaseRef{
		ID:    id,
		Name:  hex.EncodeToString(sum[:12]),
		Owner: parts[0], DSeq: dseq, GSeq: uint32(gseq), OSeq: uint32(oseq), Provider: parts[4],
	}, nil
}

func (l LeaseRef) String() string { return l.ID }

// Status is the state of one lease's workloads.
type Status struct {
	Lease    LeaseRef
	Services []ServiceStatus // sorted by name
}

// Service returns the status of the named service, or false.
func (s Status) Service(name string) (ServiceStatus, bool) {
	for _, ss := range s.Services {
		if ss.Name == name {
			return ss, true
		}
	}
	return ServiceStatus{}, false
}

// ServiceStatus is the state of one service of a lease.
type ServiceStatus struct {
	Name      string
	Replicas  int        // asked for
	Running   int        // processes or containers alive
	Ready     int        // running and accepting (see each runtime)
	Restarts  int        // summed over replicas
	Endpoints []Endpoint // global ports as the tenant reaches them
	LastError string     // the most recent failure, "" if none
}

// Endpoint is one global port of one replica (or of the service, where the
// backend balances, as a Kubernetes NodePort does).
type Endpoint struct {
	Port         uint16 // container port
	ExternalPort uint16 // the manifest's "as"
	Proto        string // "TCP" or "UDP"
	Host         string // host name or IP the tenant connects to
	HostPort     uint16 // port the tenant connects to
	Replica      int    // -1 when the endpoint balances over replicas
}

// Addr is Host:HostPort.
func (e Endpoint) Addr() string {
	return net.JoinHostPort(e.Host, strconv.Itoa(int(e.HostPort)))
}

// LogOptions selects log output.
type LogOptions struct {
	Services []string  // only these services; empty = all
	Follow   bool      // keep streaming until ctx ends or the reader is closed
	Tail     int       // last lines per replica and stream; 0 = all
	Since    time.Time // zero = from the start (Docker and Kubernetes only)
}

func (o LogOptions) wants(service string) bool {
	if len(o.Services) == 0 {
		return true
	}
	for _, s := range o.Services {
		if s == service {
			return true
		}
	}
	return false
}

// Usage is what a lease consumed from Start to At. CPU is in
// milli-CPU-seconds (1000 = one core busy for one second), memory in
// MiB-seconds, GPUs in GPU-seconds of allocation.
type Usage struct {
	Start            time.Time
	At               time.Time
	CPUMilliSeconds  uint64
	MemoryMiBSeconds uint64
	GPUSeconds       uint64
}

// LeaseEnv returns the DEAI_* environment of one service of a lease, in a
// fixed order. publicHost may be empty.
func LeaseEnv(l LeaseRef, service, publicHost string) []string {
	env := []string{
		"DEAI_LEASE_ID=" + l.ID,
		"DEAI_OWNER=" + l.Owner,
		"DEAI_DEPLOYMENT_SEQUENCE=" + strconv.FormatUint(l.DSeq, 10),
		"DEAI_GROUP_SEQUENCE=" + strconv.FormatUint(uint64(l.GSeq), 10),
		"DEAI_ORDER_SEQUENCE=" + strconv.FormatUint(uint64(l.OSeq), 10),
		"DEAI_PROVIDER=" + l.Provider,
		"DEAI_SERVICE=" + service,
	}
	if publicHost != "" {
		env = append(env, "DEAI_CLUSTER_PUBLIC_HOSTNAME="+publicHost)
	}
	return env
}
