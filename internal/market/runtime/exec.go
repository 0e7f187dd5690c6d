package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	dlog "github.com/deai-network/deai/internal/log"
	"github.com/deai-network/deai/internal/market/manifest"
)

// ExecImage is the image value that runs the manifest's command as given.
const ExecImage = "exec"

// Exec defaults.
const (
	DefaultRestartBackoff    = time.Second
	DefaultMaxRestartBackoff = time.Minute
	DefaultPollInterval      = 500 * time.Millisecond
	DefaultStopGrace         = 5 * time.Second
	DefaultNoFile            = 4096
	// DefaultDataHeadroom is added to a replica's memory for RLIMIT_DATA,
	// which bounds virtual private memory: an idle Go server already maps
	// ~75 MiB that it never touches.
	DefaultDataHeadroom = 256 << 20
	// DefaultMaxLogBytes: a replica's log larger than this when it
	// (re)starts is moved to <log>.1 first.
	DefaultMaxLogBytes = 16 << 20
)

// ExecOptions configures an Exec runtime.
type ExecOptions struct {
	// StateDir holds one directory per lease: state.json, logs, work and
	// volume directories. Required.
	StateDir string
	// Allow lists the binaries leases may run: absolute paths, patterns
	// (filepath.Match), directories ending in "/" (anything below), or "*"
	// for anything. Empty allows nothing: the exec runtime runs tenant
	// commands on the host, so the provider must say which.
	Allow []string
	// PublishIP is where free ports are looked for. Default 127.0.0.1.
	PublishIP string
	// PublicHost goes into endpoints and DEAI_CLUSTER_PUBLIC_HOSTNAME.
	// Default PublishIP.
	PublicHost string
	// Credential, when set, runs replicas as that user (the provider must
	// be root). Nil: as the provider's user.
	Credential *syscall.Credential
	// RestartBackoff is the first delay before restarting a crashed
	// replica; it doubles per crash up to MaxRestartBackoff and resets
	// after a replica ran for MaxRestartBackoff.
	RestartBackoff    time.Duration
	MaxRestartBackoff time.Duration
	PollInterval      time.Duration // supervision in Run; default 500ms
	SampleInterval    time.Duration // usage sampling in Run; default 15s
	StopGrace         time.Duration // SIGTERM to SIGKILL; default 5s
	NoFile            uint64        // RLIMIT_NOFILE; default 4096
	DataHeadroom      uint64        // RLIMIT_DATA = memory + ram volumes + this; default 256 MiB
	MaxLogBytes       int64         // default DefaultMaxLogBytes
	Logger            *slog.Logger
	Now               func() time.Time
}

// Exec runs each service replica as a local process group, for machines
// without Docker.
//
// Image convention: image "exec" runs command+args as given (command[0]
// absolute or found in PATH); an image that is an absolute path runs that
// binary with args (a command, when given, replaces it, as an entrypoint
// would). The binary must be allowed by ExecOptions.Allow.
//
// Environment: a clean one (PATH, HOME and TMPDIR in the replica's work
// directory), the manifest's env, the DEAI_* lease env, DEAI_REPLICA, PORT
// (the host port of the first exposed port), DEAI_PORT_<port> for every
// exposed port and DEAI_VOLUME_<NAME> for every mounted volume (a directory:
// there are no mount namespaces, so the manifest's mount path is not
// honoured). The provider's own environment is not passed on.
//
// Enforced: resident memory, by Run, which every PollInterval sums the RSS
// of each replica's process group and kills the group (SIGKILL) when it
// exceeds memory + ram volumes, so a replica may overshoot for up to one
// interval; and with prlimit(2), applied right after the process starts (the
// first instructions run unlimited): RLIMIT_DATA = memory + ram volumes +
// DataHeadroom (virtual private writable memory, a hard backstop against a
// runaway heap), RLIMIT_NOFILE, RLIMIT_CORE = 0, RLIMIT_FSIZE = the
// ephemeral storage size (per file, the log files included; not a total).
// Only metered: CPU (no rate limit without cgroups; RLIMIT_CPU caps total
// seconds, not a rate, so it is not used), disk totals. Not done: cgroup v2
// placement, network isolation, process-count limits (RLIMIT_NPROC counts
// per user), GPUs (refused). Ports: each exposed port gets a free host port,
// kept across restarts when still free.
//
// Supervision: Run restarts crashed replicas with exponential backoff.
// State (pids, process start times, ports) is saved per lease, so a new Exec
// over the same StateDir adopts live processes (checking /proc/<pid> start
// time against pid reuse) instead of killing them. Close kills the process
// groups (SIGTERM, then SIGKILL after StopGrace).
type Exec struct {
	opts  ExecOptions
	log   *slog.Logger
	locks leaseLocks // one per lease: guards that lease's *execLease

	mu     sync.Mutex // guards leases (the map)
	leases map[string]*execLease
}

var _ Runtime = (*Exec)(nil)

// execLease is the persisted state of one lease.
type execLease struct {
	ID       string         `json:"lease_id"`
	Group    manifest.Group `json:"group"`
	Replicas []*execReplica `json:"replicas"`
	Meter    *meter         `json:"meter"`
}

// execReplica is one process of a service.
type execReplica struct {
	Service    string     `json:"service"`
	Index      int        `json:"index"`
	Spec       string     `json:"spec"`
	Argv       []string   `json:"argv"`
	Env        []string   `json:"env"` // without the port variables
	Dir        string     `json:"dir"`
	Ports      []execPort `json:"ports,omitempty"`
	Limits     []uint64   `json:"limits"` // resident memory, file size
	PID        int        `json:"pid"`
	StartTicks uint64     `json:"start_ticks"`
	StartedAt  time.Time  `json:"started_at"`
	Restarts   int        `json:"restarts"`
	LastError  string     `json:"last_error,omitempty"`
	Backoff    int64      `json:"backoff_ns"`
	NextStart  time.Time  `json:"next_start"`

	// Set when this process started the replica: the reaper's result.
	exited  chan struct{}
	waitErr error
	killed  string // why the supervisor killed it, if it did
}

type execPort struct {
	Port     uint16 `json:"port"`
	External uint16 `json:"external"`
	Proto    string `json:"proto"`
	Global   bool   `json:"global"`
	HostPort uint16 `json:"host_port"`
}

// NewExec loads the state of the leases under StateDir and adopts their live
// processes. Replicas found dead are restarted by Run.
func NewExec(opts ExecOptions) (*Exec, error) {
	if !procSupported {
		return nil, errNoProcSupport
	}
	if opts.StateDir == "" {
		return nil, errors.New("exec runtime: state dir not set")
	}
	if opts.PublishIP == "" {
		opts.PublishIP = DefaultPublishIP
	}
	if net.ParseIP(opts.PublishIP) == nil {
		return nil, fmt.Errorf("exec runtime: publish ip %q is not an IP address", opts.PublishIP)
	}
	if opts.PublicHost == "" {
		opts.PublicHost = opts.PublishIP
	}
	setDefault(&opts.RestartBackoff, DefaultRestartBackoff)
	setDefault(&opts.MaxRestartBackoff, DefaultMaxRestartBackoff)
	setDefault(&opts.PollInterval, DefaultPollInterval)
	setDefault(&opts.SampleInterval, DefaultSampleInterval)
	setDefault(&opts.StopGrace, DefaultStopGrace)
	if opts.NoFile == 0 {
		opts.NoFile = DefaultNoFile
	}
	if opts.DataHeadroom == 0 {
		opts.DataHeadroom = DefaultDataHeadroom
	}
	if opts.MaxLogBytes == 0 {
		opts.MaxLogBytes = DefaultMaxLogBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &Exec{opts: opts, log: dlog.OrDiscard(opts.Logger).With(dlog.KeyComponent, "runtime.exec"), leases: map[string]*execLease{}}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("exec runtime: %w", err)
	}
	files, err := filepath.Glob(filepath.Join(opts.StateDir, "*", "state.json"))
	if err != nil {
		return nil, fmt.Errorf("exec runtime: %w", err)
	}
	for _, f := range files {
		var el execLease
		if _, err := readJSON(f, &el); err != nil {
			return nil, fmt.Errorf("exec runtime: %w", err)
		}
		if _, err := NewLeaseRef(el.ID); err != nil {
			return nil, fmt.Errorf("exec runtime: %s: %w", f, err)
		}
		if el.Meter == nil {
			el.Meter = newMeter(opts.Now())
		}
		alive := 0
		for _, r := range el.Replicas {
			if e.alive(r) {
				alive++
			}
		}
		e.log.Info("adopted lease", "lease", el.ID, "replicas", len(el.Replicas), "alive", alive)
		e.leases[el.ID] = &el
	}
	return e, nil
}

var errNoProcSupport = errors.New("exec runtime: needs Linux (/proc, prlimit)")

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// Name is "exec".
func (e *Exec) Name() string { return "exec" }

func (e *Exec) leaseDir(l LeaseRef) string { return filepath.Join(e.opts.StateDir, l.Name) }

func (e *Exec) get(id string) *execLease {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leases[id]
}

func (e *Exec) save(l LeaseRef, el *execLease) error {
	return writeJSON(filepath.Join(e.leaseDir(l), "state.json"), el)
}

// argv resolves a service's command line by the image convention and checks
// it against Allow.
func (e *Exec) argv(s manifest.Service) ([]string, error) {
	var argv []string
	switch {
	case s.Image == ExecImage:
		if len(s.Command) == 0 {
			return nil, fmt.Errorf("%w: service %s: image %q needs a command", ErrInvalid, s.Name, ExecImage)
		}
		argv = append(slices.Clone(s.Command), s.Args...)
	case filepath.IsAbs(s.Image):
		argv = append([]string{s.Image}, s.Args...)
		if len(s.Command) > 0 {
			argv = append(slices.Clone(s.Command), s.Args...)
		}
	default:
		return nil, fmt.Errorf("%w: service %s: image %q: the exec runtime wants %q (run the command as given) or an absolute path to a binary", ErrInvalid, s.Name, s.Image, ExecImage)
	}
	bin := argv[0]
	if !filepath.IsAbs(bin) {
		p, err := exec.LookPath(bin)
		if err != nil {
			return nil, fmt.Errorf("%w: service %s: command %q: %w", ErrInvalid, s.Name, bin, err)
		}
		bin = p
	}
	bin = filepath.Clean(bin)
	if !e.allowed(bin) {
		return nil, fmt.Errorf("%w: service %s: binary %s is not allowed on this provider (exec runtime allow list)", ErrInvalid, s.Name, bin)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return nil, fmt.Errorf("%w: service %s: binary: %w", ErrInvalid, s.Name, err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("%w: service %s: %s is not an executable file", ErrInvalid, s.Name, bin)
	}
	argv[0] = bin
	return argv, nil
}

func (e *Exec) allowed(bin string) bool {
	for _, a := range e.opts.Allow {
		switch {
		case a == "*":
			return true
		case strings.HasSuffix(a, "/") && strings.HasPrefix(bin, a):
			return true
		default:
			if ok, _ := filepath.Match(a, bin); ok {
				return true
			}
		}
	}
	return false
}

// Deploy starts the lease's processes or updates them: replicas whose
// spec (argv, binary, env, limits, ports) is unchanged keep running, others
// are stopped and started anew, extra ones stopped.
func (e *Exec) Deploy(ctx context.Context, l LeaseRef, g manifest.Group) (Status, error) {
	if err := ValidateGroup(g); err != nil {
		return Status{}, fmt.Errorf("deploy lease %s: %w", l.ID, err)
	}
	argvs := map[string][]string{}
	for _, s := range g.Services {
		if s.Resources.GPU.Units > 0 {
			return Status{}, fmt.Errorf("deploy lease %s: %w: service %s asks for %d gpu(s); the exec runtime provides none", l.ID, ErrInvalid, s.Name, s.Resources.GPU.Units)
		}
		argv, err := e.argv(s)
		if err != nil {
			return Status{}, fmt.Errorf("deploy lease %s: %w", l.ID, err)
		}
		argvs[s.Name] = argv
	}
	unlock := e.locks.lock(l.ID)
	defer unlock()
	el := e.get(l.ID)
	if el == nil {
		el = &execLease{ID: l.ID, Meter: newMeter(e.opts.Now())}
	}
	el.Group = g
	old := map[string]*execReplica{}
	for _, r := range el.Replicas {
		old[fmt.Sprintf("%s-%d", r.Service, r.Index)] = r
	}
	var replicas []*execReplica
	var errs []error
	for _, s := range g.Services {
		for i := 0; i < int(s.Count); i++ {
			key := fmt.Sprintf("%s-%d", s.Name, i)
			r := e.replica(l, s, i, argvs[s.Name])
			if o := old[key]; o != nil {
				delete(old, key)
				if o.Spec == r.Spec {
					replicas = append(replicas, o)
					continue
				}
				keepHostPorts(r, o)
				if err := e.stop(ctx, o); err != nil {
					errs = append(errs, err)
				}
			}
			replicas = append(replicas, r)
		}
	}
	for _, o := range old {
		if err := e.stop(ctx, o); err != nil {
			errs = append(errs, err)
		}
		os.RemoveAll(o.Dir)
	}
	el.Replicas = replicas
	e.mu.Lock()
	e.leases[l.ID] = el
	e.mu.Unlock()
	for _, r := range replicas {
		if !e.alive(r) {
			e.noteExit(l, r)
			if err := e.start(l, r); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := e.save(l, el); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Status{}, fmt.Errorf("deploy lease %s: %w", l.ID, err)
	}
	e.log.Info("deployed", "lease", l.ID, "replicas", len(replicas))
	return e.statusLocked(l, el), nil
}

// replica builds the spec of one replica (not started).
func (e *Exec) replica(l LeaseRef, s manifest.Service, i int, argv []string) *execReplica {
	dir := filepath.Join(e.leaseDir(l), "work", fmt.Sprintf("%s-%d", s.Name, i))
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + dir,
		"TMPDIR=" + filepath.Join(dir, "tmp"),
	}
	env = append(env, serviceEnv(s, l, e.opts.PublicHost, "DEAI_REPLICA="+strconv.Itoa(i))...)
	for _, v := range s.Resources.Storage {
		if mountOf(s, v.Name) == "" {
			continue
		}
		vdir := filepath.Join(e.leaseDir(l), "volumes", fmt.Sprintf("%s-%d", s.Name, i), v.Name)
		env = append(env, "DEAI_VOLUME_"+envName(v.Name)+"="+vdir)
	}
	r := &execReplica{
		Service: s.Name, Index: i, Argv: argv, Env: env, Dir: dir,
		Limits: []uint64{s.Resources.MemoryBytes + ramBytes(s), ephemeralBytes(s)},
		// Limits: resident memory, file size.
	}
	for _, x := range s.Expose {
		r.Ports = append(r.Ports, execPort{Port: x.Port, External: externalPort(x), Proto: protoOf(x), Global: x.Global})
	}
	var binID string
	if fi, err := os.Stat(argv[0]); err == nil {
		binID = fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
	}
	r.Spec = specHash(struct {
		Argv, Env []string
		Ports     []execPort
		Limits    []uint64
		Bin       string
		NoFile    uint64
		Headroom  uint64
	}{r.Argv, r.Env, r.Ports, r.Limits, binID, e.opts.NoFile, e.opts.DataHeadroom})
	return r
}

// keepHostPorts gives r the host ports o had for the same ports, so an
// update keeps the tenant's endpoints (when they are still free).
func keepHostPorts(r, o *execReplica) {
	for i := range r.Ports {
		for _, op := range o.Ports {
			if op.Port == r.Ports[i].Port && op.Proto == r.Ports[i].Proto {
				r.Ports[i].HostPort = op.HostPort
			}
		}
	}
}

// envName turns a volume or port name into an env variable suffix.
func envName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, s)
}

// alive reports whether the replica's recorded process still runs: the pid
// exists, is not a zombie and started when recorded (not a reused pid).
func (e *Exec) alive(r *execReplica) bool {
	if r.PID <= 0 {
		return false
	}
	if r.exited != nil {
		select {
		case <-r.exited:
			return false
		default:
		}
	}
	st, err := readProcStat(r.PID)
	return err == nil && st.State != 'Z' && st.State != 'X' && st.StartTicks == r.StartTicks
}

// start starts r's process and applies its limits; the caller holds the
// lease lock.
func (e *Exec) start(l LeaseRef, r *execReplica) (err error) {
	defer func() {
		if err != nil {
			r.LastError = err.Error()
			e.scheduleRestart(r)
			err = fmt.Errorf("start %s-%d: %w", r.Service, r.Index, err)
		}
	}()
	if err := os.MkdirAll(filepath.Join(r.Dir, "tmp"), 0o700); err != nil {
		return err
	}
	env := slices.Clone(r.Env)
	for _, v := range env {
		if k, dir, _ := strings.Cut(v, "="); strings.HasPrefix(k, "DEAI_VOLUME_") {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
		}
	}
	for i := range r.Ports {
		p := &r.Ports[i]
		if p.HostPort == 0 || !portFreeSoon(e.opts.PublishIP, p.Proto, p.HostPort) {
			hp, err := freePort(e.opts.PublishIP, p.Proto)
			if err != nil {
				return err
			}
			p.HostPort = hp
		}
		if i == 0 {
			env = append(env, "PORT="+strconv.Itoa(int(p.HostPort)))
		}
		env = append(env, fmt.Sprintf("DEAI_PORT_%d=%d", p.Port, p.HostPort))
	}
	stdout, err := e.openLog(l, r, "out")
	if err != nil {
		return err
	}
	defer stdout.Close()
	stderr, err := e.openLog(l, r, "err")
	if err != nil {
		return err
	}
	defer stderr.Close()
	cmd := exec.Command(r.Argv[0], r.Argv[1:]...)
	cmd.Env = env
	cmd.Dir = r.Dir
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = procAttr()
	if cmd.SysProcAttr != nil && e.opts.Credential != nil {
		cmd.SysProcAttr.Credential = e.opts.Credential
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait() // reap; the exit status is read by the supervisor
		r.waitErr = err
		close(exited)
	}()
	if err := setLimits(pid, []rlimit{
		limitData(r.Limits[0] + e.opts.DataHeadroom), limitFSize(r.Limits[1]), limitNoFile(e.opts.NoFile), limitCore(0),
	}); err != nil {
		killGroup(pid, true)
		<-exited
		return err
	}
	st, err := readProcStat(pid)
	if err != nil {
		killGroup(pid, true)
		<-exited
		return fmt.Errorf("read /proc/%d: %w", pid, err)
	}
	if !r.StartedAt.IsZero() {
		r.Restarts++
	}
	r.PID, r.StartTicks, r.StartedAt = pid, st.StartTicks, e.opts.Now()
	r.exited = exited
	e.log.Debug("started", "lease", l.ID, "replica", r.Service+"-"+strconv.Itoa(r.Index), "pid", pid)
	return nil
}

func (e *Exec) logPath(l LeaseRef, r *execReplica, stream string) string {
	return filepath.Join(e.leaseDir(l), "logs", fmt.Sprintf("%s-%d.%s.log", r.Service, r.Index, stream))
}

func (e *Exec) openLog(l LeaseRef, r *execReplica, stream string) (*os.File, error) {
	p := e.logPath(l, r, stream)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	// RLIMIT_FSIZE applies to the log files too: rotate well below it.
	limit := e.opts.MaxLogBytes
	if fs := int64(r.Limits[1] / 2); fs > 0 && fs < limit {
		limit = fs
	}
	if fi, err := os.Stat(p); err == nil && fi.Size() > limit {
		os.Rename(p, p+".1")
	}
	return os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
}

func portFree(ip, proto string, port uint16) bool {
	addr := net.JoinHostPort(ip, strconv.Itoa(int(port)))
	if proto == "UDP" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// portFreeSoon waits up to two seconds for a kept host port to come free:
// the replaced process has just been stopped and its socket may take a
// moment to close. Only then does the replica move to another port.
func portFreeSoon(ip, proto string, port uint16) bool {
	for i := 0; ; i++ {
		if portFree(ip, proto, port) {
			return true
		}
		if i == 40 {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(ip, proto string) (uint16, error) {
	addr := net.JoinHostPort(ip, "0")
	if proto == "UDP" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return 0, fmt.Errorf("find a free udp port: %w", err)
		}
		defer c.Close()
		return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return 0, fmt.Errorf("find a free tcp port: %w", err)
	}
	defer ln.Close()
	return uint16(ln.Addr().(*net.TCPAddr).Port), nil
}

func (e *Exec) scheduleRestart(r *execReplica) {
	now := e.opts.Now()
	b := time.Duration(r.Backoff)
	switch {
	case b == 0 || (!r.StartedAt.IsZero() && now.Sub(r.StartedAt) >= e.opts.MaxRestartBackoff):
		b = e.opts.RestartBackoff
	default:
		b = min(2*b, e.opts.MaxRestartBackoff)
	}
	r.Backoff = int64(b)
	r.NextStart = now.Add(b)
}

// stop kills the replica's process group: SIGTERM, then SIGKILL after
// StopGrace. The caller holds the lease lock.
func (e *Exec) stop(ctx context.Context, r *execReplica) error {
	if !e.alive(r) {
		return nil
	}
	if err := killGroup(r.PID, false); err != nil {
		return err
	}
	deadline := time.Now().Add(e.opts.StopGrace)
	for e.alive(r) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	// Also catches children left in the group after the leader exited.
	if err := killGroup(r.PID, true); err != nil {
		return err
	}
	for i := 0; e.alive(r) && i < 250; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if e.alive(r) {
		return fmt.Errorf("stop %s-%d: pid %d still alive after SIGKILL", r.Service, r.Index, r.PID)
	}
	r.PID = 0
	return nil
}

// Status reports the lease's replicas. Ready means alive and, for TCP
// ports, accepting connections on every host port.
func (e *Exec) Status(ctx context.Context, l LeaseRef) (Status, error) {
	unlock := e.locks.lock(l.ID)
	defer unlock()
	el := e.get(l.ID)
	if el == nil {
		return Status{}, fmt.Errorf("status of lease %s: %w", l.ID, ErrNotFound)
	}
	return e.statusLocked(l, el), nil
}

func (e *Exec) statusLocked(l LeaseRef, el *execLease) Status {
	st := Status{Lease: l}
	for _, s := range el.Group.Services {
		ss := ServiceStatus{Name: s.Name, Replicas: int(s.Count)}
		for _, r := range el.Replicas {
			if r.Service != s.Name {
				continue
			}
			ss.Restarts += r.Restarts
			if r.LastError != "" {
				ss.LastError = r.LastError
			}
			if !e.alive(r) {
				continue
			}
			ss.Running++
			ready := true
			for _, p := range r.Ports {
				if p.Global {
					ss.Endpoints = append(ss.Endpoints, Endpoint{Port: p.Port, ExternalPort: p.External, Proto: p.Proto,
						Host: e.opts.PublicHost, HostPort: p.HostPort, Replica: r.Index})
				}
				if p.Proto == "TCP" && ready {
					c, err := net.DialTimeout("tcp", net.JoinHostPort(e.opts.PublishIP, strconv.Itoa(int(p.HostPort))), 200*time.Millisecond)
					if err != nil {
						ready = false
					} else {
						c.Close()
					}
				}
			}
			if ready {
				ss.Ready++
			}
		}
		st.Services = append(st.Services, ss)
	}
	sort.Slice(st.Services, func(i, j int) bool { return st.Services[i].Name < st.Services[j].Name })
	return st
}

// Logs reads the replicas' log files (stdout and stderr, kept across
// restarts). LogOptions.Since is not supported (the files have no
// timestamps) and is ignored.
func (e *Exec) Logs(ctx context.Context, l LeaseRef, opts LogOptions) (io.ReadCloser, error) {
	unlock := e.locks.lock(l.ID)
	el := e.get(l.ID)
	var paths [][2]string // prefix, path
	if el != nil {
		for _, r := range el.Replicas {
			if !opts.wants(r.Service) {
				continue
			}
			prefix := fmt.Sprintf("[%s-%d] ", r.Service, r.Index)
			paths = append(paths, [2]string{prefix, e.logPath(l, r, "out")}, [2]string{prefix, e.logPath(l, r, "err")})
		}
	}
	unlock()
	if el == nil {
		return nil, fmt.Errorf("logs of lease %s: %w", l.ID, ErrNotFound)
	}
	lctx, cancel := context.WithCancel(ctx)
	var streams []logStream
	var closers []io.Closer
	for _, p := range paths {
		f, err := openTail(lctx, p[1], opts.Tail, opts.Follow, e.opts.PollInterval/2)
		if err != nil {
			cancel()
			for _, c := range closers {
				c.Close()
			}
			return nil, fmt.Errorf("logs of lease %s: %w", l.ID, err)
		}
		streams = append(streams, logStream{prefix: p[0], r: f})
		closers = append(closers, f)
	}
	return mergeLogs(lctx, cancel, streams, closers), nil
}

// Usage samples the lease's process groups from /proc: CPU time (utime +
// stime of every process in each replica's group) and resident memory,
// integrated between samples. CPU of processes that exit between samples is
// lost; Run samples every SampleInterval.
func (e *Exec) Usage(ctx context.Context, l LeaseRef) (Usage, error) {
	groups, err := processGroups()
	if err != nil {
		return Usage{}, fmt.Errorf("usage of lease %s: %w", l.ID, err)
	}
	unlock := e.locks.lock(l.ID)
	defer unlock()
	el := e.get(l.ID)
	if el == nil {
		return Usage{}, fmt.Errorf("usage of lease %s: %w", l.ID, ErrNotFound)
	}
	e.sampleLocked(el, groups)
	if err := e.save(l, el); err != nil {
		return Usage{}, fmt.Errorf("usage of lease %s: %w", l.ID, err)
	}
	return el.Meter.usage(), nil
}

func (e *Exec) sampleLocked(el *execLease, groups map[int][]procStat) {
	page := uint64(os.Getpagesize())
	var samples []usageSample
	for _, r := range el.Replicas {
		if !e.alive(r) {
			continue
		}
		for _, p := range groups[r.PID] {
			samples = append(samples, usageSample{
				Key:             fmt.Sprintf("%d@%d", p.PID, p.StartTicks),
				CPUMilliSeconds: (p.UTime + p.STime) * 1000 / clockTicks,
				MemoryBytes:     p.RSSPages * page,
			})
		}
	}
	el.Meter.add(e.opts.Now(), samples)
}

// Close kills the lease's process groups and removes its state, logs and
// volumes.
func (e *Exec) Close(ctx context.Context, l LeaseRef) error {
	unlock := e.locks.lock(l.ID)
	defer unlock()
	el := e.get(l.ID)
	if el != nil {
		for _, r := range el.Replicas {
			if err := e.stop(ctx, r); err != nil {
				return fmt.Errorf("close lease %s: %w", l.ID, err)
			}
		}
	}
	if err := os.RemoveAll(e.leaseDir(l)); err != nil {
		return fmt.Errorf("close lease %s: %w", l.ID, err)
	}
	e.mu.Lock()
	delete(e.leases, l.ID)
	e.mu.Unlock()
	if el != nil {
		e.log.Info("closed", "lease", l.ID)
	}
	return nil
}

// List returns the leases this runtime holds state for.
func (e *Exec) List(ctx context.Context) ([]LeaseRef, error) {
	e.mu.Lock()
	ids := map[string]bool{}
	for id := range e.leases {
		ids[id] = true
	}
	e.mu.Unlock()
	return leaseRefs(ids, e.log), nil
}

// Run restarts crashed replicas (every PollInterval, after their backoff)
// and samples usage (every SampleInterval) until ctx ends. Ending Run leaves
// the processes running.
func (e *Exec) Run(ctx context.Context) error {
	poll := time.NewTicker(e.opts.PollInterval)
	defer poll.Stop()
	sample := time.NewTicker(e.opts.SampleInterval)
	defer sample.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
			e.supervise()
		case <-sample.C:
			leases, _ := e.List(ctx)
			for _, l := range leases {
				if _, err := e.Usage(ctx, l); err != nil && !errors.Is(err, ErrNotFound) {
					e.log.Warn("sample usage", "lease", l.ID, dlog.KeyErr, err)
				}
			}
		}
	}
}

// supervise kills replicas over their memory, notices dead ones and
// restarts those whose backoff passed.
func (e *Exec) supervise() {
	leases, _ := e.List(context.Background())
	if len(leases) == 0 {
		return
	}
	groups, err := processGroups()
	if err != nil {
		e.log.Warn("supervise", dlog.KeyErr, err)
	}
	page := uint64(os.Getpagesize())
	for _, l := range leases {
		unlock := e.locks.lock(l.ID)
		el := e.get(l.ID)
		if el == nil {
			unlock()
			continue
		}
		changed := false
		now := e.opts.Now()
		for _, r := range el.Replicas {
			if e.alive(r) {
				var rss uint64
				for _, p := range groups[r.PID] {
					rss += p.RSSPages * page
				}
				if rss <= r.Limits[0] {
					continue
				}
				r.killed = fmt.Sprintf("killed: resident memory %d MiB over the limit of %d MiB", rss>>20, r.Limits[0]>>20)
				e.log.Warn("memory limit", "lease", l.ID, "replica", r.Service+"-"+strconv.Itoa(r.Index), "rss", rss, "limit", r.Limits[0])
				killGroup(r.PID, true)
				for i := 0; e.alive(r) && i < 100; i++ {
					time.Sleep(10 * time.Millisecond)
				}
			}
			if e.noteExit(l, r) {
				changed = true
			}
			if now.Before(r.NextStart) {
				continue
			}
			if err := e.start(l, r); err != nil {
				e.log.Warn("restart replica", "lease", l.ID, dlog.KeyErr, err)
			}
			changed = true
		}
		if changed {
			if err := e.save(l, el); err != nil {
				e.log.Warn("save state", "lease", l.ID, dlog.KeyErr, err)
			}
		}
		unlock()
	}
}

// noteExit records a replica found dead: why, and when to restart it; it
// kills what is left of its process group. It reports whether r changed.
func (e *Exec) noteExit(l LeaseRef, r *execReplica) bool {
	if r.PID == 0 {
		return false
	}
	if r.exited != nil {
		<-r.exited // dead (or a zombie), so the reaper returns promptly
	} else {
		reap(r.PID)
	}
	r.LastError = exitReason(r)
	if r.killed != "" {
		r.LastError, r.killed = r.killed, ""
	}
	e.log.Warn("replica exited", "lease", l.ID, "replica", r.Service+"-"+strconv.Itoa(r.Index), "pid", r.PID, "reason", r.LastError)
	// Linux does not reuse a pid while it names a live process group, so
	// this reaches only the dead leader's leftover children.
	killGroup(r.PID, true)
	r.PID, r.exited = 0, nil
	e.scheduleRestart(r)
	return true
}

func exitReason(r *execReplica) string {
	if r.exited == nil {
		return "exited (status unknown: not started by this provider process)"
	}
	var ee *exec.ExitError
	if errors.As(r.waitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by signal " + ws.Signal().String()
		}
		return fmt.Sprintf("exited with code %d", ee.ExitCode())
	}
	if r.waitErr != nil {
		return "exited: " + r.waitErr.Error()
	}
	return "exited with code 0"
}
