package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	dlog "github.com/deai-network/deai/internal/log"
	"github.com/deai-network/deai/internal/market/manifest"
)

// Docker defaults.
const (
	DefaultInstance       = "deai"
	DefaultPublishIP      = "127.0.0.1"
	DefaultPidsLimit      = 512
	DefaultSampleInterval = 15 * time.Second
)

// DefaultCapDrop are the capabilities removed from Docker's default set:
// raw sockets (spoofing), device nodes, audit writes and file capabilities.
// The rest of Docker's defaults stay so ordinary images (nginx, postgres)
// that chown or bind low ports keep working.
var DefaultCapDrop = []string{"NET_RAW", "MKNOD", "AUDIT_WRITE", "SETFCAP"}

// Docker labels.
const (
	LabelInstance  = "deai.instance"
	LabelLease     = "deai.lease"
	LabelLeaseName = "deai.lease.name"
	LabelService   = "deai.service"
	LabelReplica   = "deai.replica"
	labelSpec      = "deai.spec"
	labelGlobal    = "deai.global"    // "port:external/proto,…" of global ports
	labelGPUs      = "deai.gpu.units" // GPUs of the replica, for metering
)

// DockerOptions configures a Docker runtime. Zero fields take the defaults.
type DockerOptions struct {
	// Client talks to the Docker Engine. Nil: from the environment
	// (DOCKER_HOST, …) with API version negotiation.
	Client *client.Client
	// Instance prefixes every name and is the value of the deai.instance
	// label; List sees only its own instance. Default "deai".
	Instance string
	// PublishIP is the host address global ports are published on, each on
	// a random host port. Default 127.0.0.1.
	PublishIP string
	// PublicHost is the host name or address put in endpoints and
	// DEAI_CLUSTER_PUBLIC_HOSTNAME. Default: PublishIP, or the machine's
	// host name when PublishIP is unspecified (0.0.0.0, ::).
	PublicHost string
	// PidsLimit caps the processes of one container. Default 512.
	PidsLimit int64
	// CapDrop are capabilities removed from every container. Nil:
	// DefaultCapDrop; empty non-nil: none.
	CapDrop []string
	// GPUs is the number of NVIDIA GPUs leases may use: 0 = count
	// /dev/nvidia<N>, negative = none.
	GPUs int
	// StateDir, when set, keeps usage meters across provider restarts.
	StateDir string
	// SampleInterval is how often Run samples usage. Default 15s.
	SampleInterval time.Duration
	Logger         *slog.Logger
	Now            func() time.Time
}

// Docker runs each service replica as a Docker container on a per-lease
// bridge network.
//
// Enforced: CPU (NanoCPUs = millicores), memory (limit = memory + ram
// volumes, no swap), processes (PidsLimit), no-new-privileges, dropped
// capabilities, GPUs (device requests), network isolation between leases
// (one bridge per lease). Not enforced: disk sizes (volumes and the writable
// layer are unbounded unless the daemon's storage driver supports quotas),
// Expose.Services restrictions (every port is reachable from the lease's
// other services). Restarts: policy unless-stopped, Docker's own backoff.
//
// Volumes: class ram is a tmpfs of the volume's size; persistent volumes
// are named volumes kept across Deploy updates and removed by Close; other
// mounted volumes are anonymous and go with their container.
//
// Names: network <instance>-<lease name>, containers
// <instance>-<lease name>-<service>-<replica>, reachable inside the lease by
// the alias <service> on their container ports. Containers get the env of
// LeaseEnv plus DEAI_REPLICA. Status counts as Replicas the replica
// containers present (Deploy creates exactly Count of them); Ready is
// running and, for images with a HEALTHCHECK, healthy.
type Docker struct {
	cli   *client.Client
	opts  DockerOptions
	log   *slog.Logger
	locks leaseLocks

	mu     sync.Mutex        // guards meters (the map; each meter is used under its lease's lock)
	meters map[string]*meter // by lease ID
}

var _ Runtime = (*Docker)(nil)

// NewDocker connects to the Docker Engine and returns the runtime. Nothing
// running is touched.
func NewDocker(ctx context.Context, opts DockerOptions) (*Docker, error) {
	if opts.Instance == "" {
		opts.Instance = DefaultInstance
	}
	if !dockerNameRE.MatchString(opts.Instance) {
		return nil, fmt.Errorf("docker runtime: instance %q: want letters, digits, '.', '_' or '-'", opts.Instance)
	}
	if opts.PublishIP == "" {
		opts.PublishIP = DefaultPublishIP
	}
	ip := net.ParseIP(opts.PublishIP)
	if ip == nil {
		return nil, fmt.Errorf("docker runtime: publish ip %q is not an IP address", opts.PublishIP)
	}
	if opts.PublicHost == "" {
		opts.PublicHost = opts.PublishIP
		if ip.IsUnspecified() {
			h, err := os.Hostname()
			if err != nil {
				return nil, fmt.Errorf("docker runtime: public host: %w", err)
			}
			opts.PublicHost = h
		}
	}
	if opts.PidsLimit == 0 {
		opts.PidsLimit = DefaultPidsLimit
	}
	if opts.CapDrop == nil {
		opts.CapDrop = DefaultCapDrop
	}
	if opts.GPUs == 0 {
		opts.GPUs = countNvidiaDevices()
	}
	if opts.SampleInterval <= 0 {
		opts.SampleInterval = DefaultSampleInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cli := opts.Client
	if cli == nil {
		var err error
		cli, err = client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			return nil, fmt.Errorf("docker runtime: client: %w", err)
		}
	}
	if _, err := cli.Ping(ctx); err != nil {
		return nil, fmt.Errorf("docker runtime: ping %s: %w", cli.DaemonHost(), err)
	}
	cli.NegotiateAPIVersion(ctx)
	d := &Docker{
		cli:    cli,
		opts:   opts,
		log:    dlog.OrDiscard(opts.Logger).With(dlog.KeyComponent, "runtime.docker"),
		meters: map[string]*meter{},
	}
	return d, nil
}

var dockerNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Name is "docker".
func (d *Docker) Name() string { return "docker" }

func (d *Docker) networkName(l LeaseRef) string { return d.opts.Instance + "-" + l.Name }

func (d *Docker) containerName(l LeaseRef, svc string, i int) string {
	return fmt.Sprintf("%s-%s-%s-%d", d.opts.Instance, l.Name, svc, i)
}

func (d *Docker) leaseFilter(l LeaseRef) filters.Args {
	return filters.NewArgs(
		filters.Arg("label", LabelInstance+"="+d.opts.Instance),
		filters.Arg("label", LabelLease+"="+l.ID),
	)
}

func (d *Docker) leaseLabels(l LeaseRef) map[string]string {
	return map[string]string{LabelInstance: d.opts.Instance, LabelLease: l.ID, LabelLeaseName: l.Name}
}

// replicaSpec is what one container is created from; its hash decides
// whether a Deploy keeps or replaces an existing container.
type replicaSpec struct {
	Config  *container.Config
	Host    *container.HostConfig
	Network string
	Alias   string
	ImageID string
}

func (d *Docker) spec(l LeaseRef, s manifest.Service, i int, imageID, netName string) replicaSpec {
	cfg := &container.Config{
		Image:        s.Image,
		Hostname:     fmt.Sprintf("%s-%d", s.Name, i),
		Env:          serviceEnv(s, l, d.opts.PublicHost, "DEAI_REPLICA="+strconv.Itoa(i)),
		ExposedPorts: nat.PortSet{},
	}
	if len(s.Command) > 0 {
		cfg.Entrypoint = slices.Clone(s.Command)
	}
	if len(s.Args) > 0 {
		cfg.Cmd = slices.Clone(s.Args)
	}
	mem := int64(s.Resources.MemoryBytes + ramBytes(s))
	pids := d.opts.PidsLimit
	host := &container.HostConfig{
		NetworkMode:   container.NetworkMode(netName),
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
		PortBindings:  nat.PortMap{},
		SecurityOpt:   []string{"no-new-privileges:true"},
		CapDrop:       slices.Clone(d.opts.CapDrop),
		LogConfig:     container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m", "max-file": "3"}},
		Resources: container.Resources{
			NanoCPUs:   int64(s.Resources.CPUMilli) * 1_000_000,
			Memory:     mem,
			MemorySwap: mem,
			PidsLimit:  &pids,
		},
	}
	for _, x := range s.Expose {
		p := nat.Port(fmt.Sprintf("%d/%s", x.Port, strings.ToLower(protoOf(x))))
		cfg.ExposedPorts[p] = struct{}{}
		if x.Global {
			host.PortBindings[p] = []nat.PortBinding{{HostIP: d.opts.PublishIP}}
		}
	}
	if g := s.Resources.GPU; g.Units > 0 {
		host.DeviceRequests = []container.DeviceRequest{{Count: int(g.Units), Capabilities: [][]string{{"gpu"}}}}
	}
	for _, v := range s.Resources.Storage {
		target := mountOf(s, v.Name)
		if target == "" {
			continue
		}
		m := mount.Mount{Type: mount.TypeVolume, Target: target, ReadOnly: readOnlyOf(s, v.Name)}
		switch {
		case v.Class == lmarket.StorageRAM:
			m = mount.Mount{Type: mount.TypeTmpfs, Target: target, TmpfsOptions: &mount.TmpfsOptions{SizeBytes: int64(v.SizeBytes)}}
		case v.Persistent:
			m.Source = fmt.Sprintf("%s-%s-%s-%s-%d", d.opts.Instance, l.Name, s.Name, v.Name, i)
			m.VolumeOptions = &mount.VolumeOptions{Labels: d.leaseLabels(l)}
		}
		host.Mounts = append(host.Mounts, m)
	}
	return replicaSpec{Config: cfg, Host: host, Network: netName, Alias: s.Name, ImageID: imageID}
}

func readOnlyOf(s manifest.Service, volume string) bool {
	if s.Params == nil {
		return false
	}
	for _, sp := range s.Params.Storage {
		if sp.Name == volume {
			return sp.ReadOnly
		}
	}
	return false
}

// checkGroup checks what only the Docker host can tell: images present,
// GPUs available. It returns the image IDs by service.
func (d *Docker) checkGroup(ctx context.Context, g manifest.Group) (map[string]string, error) {
	ids := map[string]string{}
	for _, s := range g.Services {
		img, err := d.cli.ImageInspect(ctx, s.Image)
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("%w: service %s: image %q is not on this docker host (the provider does not pull; load or build it first)", ErrInvalid, s.Name, s.Image)
		}
		if err != nil {
			return nil, fmt.Errorf("inspect image %q of service %s: %w", s.Image, s.Name, err)
		}
		ids[s.Name] = img.ID
		gpu := s.Resources.GPU
		if gpu.Units == 0 {
			continue
		}
		for _, a := range gpu.Attributes {
			if pa, err := lmarket.ParseGPUAttr(a); err == nil && pa.Vendor != "nvidia" {
				return nil, fmt.Errorf("%w: service %s: gpu %q: the docker runtime supports only nvidia gpus", ErrInvalid, s.Name, a)
			}
		}
		if d.opts.GPUs <= 0 {
			return nil, fmt.Errorf("%w: service %s asks for %d gpu(s), but this docker host has no GPUs", ErrInvalid, s.Name, gpu.Units)
		}
		if int(gpu.Units) > d.opts.GPUs {
			return nil, fmt.Errorf("%w: service %s asks for %d gpu(s), but this docker host has %d", ErrInvalid, s.Name, gpu.Units, d.opts.GPUs)
		}
	}
	return ids, nil
}

// Deploy creates the lease's network and containers, or updates them:
// containers whose spec (image ID, command, env, resources, ports, mounts)
// is unchanged are kept, others replaced, extra replicas and services
// removed. Persistent volumes survive the update.
func (d *Docker) Deploy(ctx context.Context, l LeaseRef, g manifest.Group) (Status, error) {
	if err := ValidateGroup(g); err != nil {
		return Status{}, fmt.Errorf("deploy lease %s: %w", l.ID, err)
	}
	unlock := d.locks.lock(l.ID)
	defer unlock()
	images, err := d.checkGroup(ctx, g)
	if err != nil {
		return Status{}, fmt.Errorf("deploy lease %s: %w", l.ID, err)
	}
	netName := d.networkName(l)
	nw, err := d.ensureNetwork(ctx, l, netName)
	if err != nil {
		return Status{}, fmt.Errorf("deploy lease %s: %w", l.ID, err)
	}
	existing, err := d.containers(ctx, l)
	if err != nil {
		return Status{}, fmt.Errorf("deploy lease %s: %w", l.ID, err)
	}
	if len(existing) > 0 {
		// Take the replaced containers' last counters before they go.
		if _, err := d.sampleLocked(ctx, l, nw.Created, existing); err != nil {
			d.log.Warn("sample usage before update", "lease", l.ID, dlog.KeyErr, err)
		}
	}
	byName := map[string]container.Summary{}
	for _, c := range existing {
		byName[strings.TrimPrefix(firstOr(c.Names, ""), "/")] = c
	}
	want := map[string]bool{}
	for _, s := range g.Services {
		for i := 0; i < int(s.Count); i++ {
			name := d.containerName(l, s.Name, i)
			want[name] = true
			sp := d.spec(l, s, i, images[s.Name], netName)
			hash := specHash(sp)
			if c, ok := byName[name]; ok {
				if c.Labels[labelSpec] == hash {
					if c.State != container.StateRunning && c.State != container.StateRestarting {
						if err := d.cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
							return Status{}, fmt.Errorf("deploy lease %s: start %s: %w", l.ID, name, err)
						}
					}
					continue
				}
				if err := d.removeContainer(ctx, c.ID); err != nil {
					return Status{}, fmt.Errorf("deploy lease %s: replace %s: %w", l.ID, name, err)
				}
			}
			if err := d.create(ctx, l, s, i, name, sp, hash); err != nil {
				return Status{}, fmt.Errorf("deploy lease %s: %w", l.ID, err)
			}
		}
	}
	for name, c := range byName {
		if !want[name] {
			if err := d.removeContainer(ctx, c.ID); err != nil {
				return Status{}, fmt.Errorf("deploy lease %s: remove %s: %w", l.ID, name, err)
			}
		}
	}
	d.log.Info("deployed", "lease", l.ID, "services", len(g.Services))
	return d.status(ctx, l)
}

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}

func (d *Docker) create(ctx context.Context, l LeaseRef, s manifest.Service, i int, name string, sp replicaSpec, hash string) error {
	cfg := *sp.Config
	cfg.Labels = d.leaseLabels(l)
	cfg.Labels[LabelService] = s.Name
	cfg.Labels[LabelReplica] = strconv.Itoa(i)
	cfg.Labels[labelSpec] = hash
	cfg.Labels[labelGPUs] = strconv.Itoa(int(s.Resources.GPU.Units))
	var global []string
	for _, x := range s.Expose {
		if x.Global {
			global = append(global, fmt.Sprintf("%d:%d/%s", x.Port, externalPort(x), protoOf(x)))
		}
	}
	cfg.Labels[labelGlobal] = strings.Join(global, ",")
	netCfg := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		sp.Network: {Aliases: []string{sp.Alias}},
	}}
	created, err := d.cli.ContainerCreate(ctx, &cfg, sp.Host, netCfg, nil, name)
	if err != nil {
		return fmt.Errorf("create container %s: %w", name, err)
	}
	if err := d.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		// Leave nothing half-made: a failed start (bad entrypoint, device
		// driver missing) would otherwise sit there as "created".
		rmErr := d.removeContainer(context.WithoutCancel(ctx), created.ID)
		return errors.Join(fmt.Errorf("start container %s: %w", name, err), rmErr)
	}
	d.log.Debug("container started", "lease", l.ID, "name", name)
	return nil
}

func (d *Docker) removeContainer(ctx context.Context, id string) error {
	err := d.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}

func (d *Docker) ensureNetwork(ctx context.Context, l LeaseRef, name string) (network.Inspect, error) {
	nw, err := d.cli.NetworkInspect(ctx, name, network.InspectOptions{})
	if err == nil {
		if nw.Labels[LabelLease] != l.ID {
			return network.Inspect{}, fmt.Errorf("network %s exists but belongs to lease %q", name, nw.Labels[LabelLease])
		}
		return nw, nil
	}
	if !cerrdefs.IsNotFound(err) {
		return network.Inspect{}, fmt.Errorf("inspect network %s: %w", name, err)
	}
	if _, err := d.cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge", Labels: d.leaseLabels(l)}); err != nil {
		return network.Inspect{}, fmt.Errorf("create network %s: %w", name, err)
	}
	nw, err = d.cli.NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil {
		return network.Inspect{}, fmt.Errorf("inspect network %s: %w", name, err)
	}
	return nw, nil
}

// containers lists the lease's containers, running or not.
func (d *Docker) containers(ctx context.Context, l LeaseRef) ([]container.Summary, error) {
	cs, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: d.leaseFilter(l)})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	sort.Slice(cs, func(i, j int) bool { return firstOr(cs[i].Names, "") < firstOr(cs[j].Names, "") })
	return cs, nil
}

// Status inspects the lease's containers. Ready means running and, for
// images with a HEALTHCHECK, healthy.
func (d *Docker) Status(ctx context.Context, l LeaseRef) (Status, error) {
	st, err := d.status(ctx, l)
	if err != nil {
		return Status{}, fmt.Errorf("status of lease %s: %w", l.ID, err)
	}
	return st, nil
}

func (d *Docker) status(ctx context.Context, l LeaseRef) (Status, error) {
	cs, err := d.containers(ctx, l)
	if err != nil {
		return Status{}, err
	}
	if len(cs) == 0 {
		if _, err := d.cli.NetworkInspect(ctx, d.networkName(l), network.InspectOptions{}); cerrdefs.IsNotFound(err) {
			return Status{}, ErrNotFound
		} else if err != nil {
			return Status{}, fmt.Errorf("inspect network: %w", err)
		}
	}
	st := Status{Lease: l}
	svcs := map[string]*ServiceStatus{}
	var names []string
	for _, c := range cs {
		name := c.Labels[LabelService]
		ss := svcs[name]
		if ss == nil {
			ss = &ServiceStatus{Name: name}
			svcs[name] = ss
			names = append(names, name)
		}
		ss.Replicas++
		in, err := d.cli.ContainerInspect(ctx, c.ID)
		if cerrdefs.IsNotFound(err) {
			continue // removed meanwhile
		}
		if err != nil {
			return Status{}, fmt.Errorf("inspect container %s: %w", c.ID, err)
		}
		ss.Restarts += in.RestartCount
		if in.State == nil {
			continue
		}
		if in.State.Running {
			ss.Running++
			if in.State.Health == nil || in.State.Health.Status == container.Healthy {
				ss.Ready++
			}
		}
		if e := containerError(in.State); e != "" {
			ss.LastError = e
		}
		replica, _ := strconv.Atoi(c.Labels[LabelReplica])
		ss.Endpoints = append(ss.Endpoints, d.endpoints(c.Labels[labelGlobal], in, replica)...)
	}
	sort.Strings(names)
	for _, n := range names {
		st.Services = append(st.Services, *svcs[n])
	}
	return st, nil
}

func containerError(s *container.State) string {
	switch {
	case s.OOMKilled:
		return "killed: out of memory"
	case s.Error != "":
		return s.Error
	case !s.Running && s.ExitCode != 0:
		return fmt.Sprintf("exited with code %d", s.ExitCode)
	case s.Health != nil && s.Health.Status == container.Unhealthy:
		return "unhealthy"
	}
	return ""
}

// endpoints maps the global ports named in the container's label to the
// host ports Docker published them on.
func (d *Docker) endpoints(global string, in container.InspectResponse, replica int) []Endpoint {
	if global == "" || in.NetworkSettings == nil {
		return nil
	}
	var eps []Endpoint
	for _, g := range strings.Split(global, ",") {
		var port, ext uint16
		var proto string
		if _, err := fmt.Sscanf(g, "%d:%d/%s", &port, &ext, &proto); err != nil {
			continue
		}
		for _, b := range in.NetworkSettings.Ports[nat.Port(fmt.Sprintf("%d/%s", port, strings.ToLower(proto)))] {
			hp, err := strconv.ParseUint(b.HostPort, 10, 16)
			if err != nil {
				continue
			}
			eps = append(eps, Endpoint{Port: port, ExternalPort: ext, Proto: proto, Host: d.opts.PublicHost, HostPort: uint16(hp), Replica: replica})
			break
		}
	}
	return eps
}

// Logs streams the containers' stdout and stderr (Docker's json-file log,
// which survives container restarts).
func (d *Docker) Logs(ctx context.Context, l LeaseRef, opts LogOptions) (io.ReadCloser, error) {
	cs, err := d.containers(ctx, l)
	if err != nil {
		return nil, fmt.Errorf("logs of lease %s: %w", l.ID, err)
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("logs of lease %s: %w", l.ID, ErrNotFound)
	}
	lctx, cancel := context.WithCancel(ctx)
	var streams []logStream
	var closers []io.Closer
	fail := func(err error) (io.ReadCloser, error) {
		cancel()
		for _, c := range closers {
			c.Close()
		}
		return nil, fmt.Errorf("logs of lease %s: %w", l.ID, err)
	}
	lo := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Tail: "all"}
	if opts.Tail > 0 {
		lo.Tail = strconv.Itoa(opts.Tail)
	}
	if !opts.Since.IsZero() {
		lo.Since = strconv.FormatInt(opts.Since.Unix(), 10)
	}
	for _, c := range cs {
		svc := c.Labels[LabelService]
		if !opts.wants(svc) {
			continue
		}
		rc, err := d.cli.ContainerLogs(lctx, c.ID, lo)
		if err != nil {
			return fail(fmt.Errorf("container %s: %w", c.ID, err))
		}
		closers = append(closers, rc)
		prefix := "[" + svc + "-" + c.Labels[LabelReplica] + "] "
		outR, outW := io.Pipe()
		errR, errW := io.Pipe()
		closers = append(closers, outR, errR)
		go func() {
			_, err := stdcopy.StdCopy(outW, errW, rc)
			outW.CloseWithError(err)
			errW.CloseWithError(err)
		}()
		streams = append(streams, logStream{prefix: prefix, r: outR}, logStream{prefix: prefix, r: errR})
	}
	return mergeLogs(lctx, cancel, streams, closers), nil
}

// Usage samples the running containers: CPU time from the cgroup counter,
// memory (usage less inactive file cache) integrated between samples, GPU
// seconds as the replica's GPU units times its running time. Containers
// that restart or are replaced keep what they used until their last
// sample; call Run to sample regularly.
func (d *Docker) Usage(ctx context.Context, l LeaseRef) (Usage, error) {
	unlock := d.locks.lock(l.ID)
	defer unlock()
	cs, err := d.containers(ctx, l)
	if err != nil {
		return Usage{}, fmt.Errorf("usage of lease %s: %w", l.ID, err)
	}
	nw, err := d.cli.NetworkInspect(ctx, d.networkName(l), network.InspectOptions{})
	if cerrdefs.IsNotFound(err) && len(cs) == 0 {
		return Usage{}, fmt.Errorf("usage of lease %s: %w", l.ID, ErrNotFound)
	}
	start := nw.Created
	if err != nil {
		start = d.opts.Now()
	}
	u, err := d.sampleLocked(ctx, l, start, cs)
	if err != nil {
		return Usage{}, fmt.Errorf("usage of lease %s: %w", l.ID, err)
	}
	return u, nil
}

func (d *Docker) meterPath(l LeaseRef) string {
	return filepath.Join(d.opts.StateDir, d.opts.Instance+"-"+l.Name+".usage.json")
}

// sampleLocked takes one usage sample of cs into the lease's meter; the
// caller holds the lease lock.
func (d *Docker) sampleLocked(ctx context.Context, l LeaseRef, start time.Time, cs []container.Summary) (Usage, error) {
	var samples []usageSample
	for _, c := range cs {
		if c.State != container.StateRunning {
			continue
		}
		s, ok, err := d.sampleContainer(ctx, c)
		if err != nil {
			return Usage{}, err
		}
		if ok {
			samples = append(samples, s)
		}
	}
	m, err := d.meter(l, start)
	if err != nil {
		return Usage{}, err
	}
	m.add(d.opts.Now(), samples)
	if d.opts.StateDir != "" {
		if err := writeJSON(d.meterPath(l), m); err != nil {
			return Usage{}, err
		}
	}
	return m.usage(), nil
}

// meter returns the lease's meter, loading it from StateDir the first time.
func (d *Docker) meter(l LeaseRef, start time.Time) (*meter, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if m := d.meters[l.ID]; m != nil {
		return m, nil
	}
	m := newMeter(start)
	if d.opts.StateDir != "" {
		if _, err := readJSON(d.meterPath(l), m); err != nil {
			return nil, err
		}
	}
	d.meters[l.ID] = m
	return m, nil
}

func (d *Docker) sampleContainer(ctx context.Context, c container.Summary) (usageSample, bool, error) {
	in, err := d.cli.ContainerInspect(ctx, c.ID)
	if cerrdefs.IsNotFound(err) {
		return usageSample{}, false, nil
	}
	if err != nil {
		return usageSample{}, false, fmt.Errorf("inspect container %s: %w", c.ID, err)
	}
	if in.State == nil || !in.State.Running {
		return usageSample{}, false, nil
	}
	started, _ := time.Parse(time.RFC3339Nano, in.State.StartedAt)
	resp, err := d.cli.ContainerStatsOneShot(ctx, c.ID)
	if cerrdefs.IsNotFound(err) {
		return usageSample{}, false, nil
	}
	if err != nil {
		return usageSample{}, false, fmt.Errorf("stats of container %s: %w", c.ID, err)
	}
	defer resp.Body.Close()
	var st container.StatsResponse
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return usageSample{}, false, fmt.Errorf("decode stats of container %s: %w", c.ID, err)
	}
	mem := st.MemoryStats.Usage
	for _, k := range []string{"total_inactive_file", "inactive_file"} { // cgroup v1, v2
		if v, ok := st.MemoryStats.Stats[k]; ok && v < mem {
			mem -= v
			break
		}
	}
	s := usageSample{
		Key:             c.ID + "@" + in.State.StartedAt,
		CPUMilliSeconds: st.CPUStats.CPUUsage.TotalUsage / 1_000_000,
		MemoryBytes:     mem,
	}
	if gpus, _ := strconv.Atoi(c.Labels[labelGPUs]); gpus > 0 && !started.IsZero() {
		s.GPUSeconds = uint64(gpus) * uint64(max(0, d.opts.Now().Sub(started)/time.Second))
	}
	return s, true, nil
}

// Close removes the lease's containers, persistent volumes and network,
// and forgets its usage meter.
func (d *Docker) Close(ctx context.Context, l LeaseRef) error {
	unlock := d.locks.lock(l.ID)
	defer unlock()
	cs, err := d.containers(ctx, l)
	if err != nil {
		return fmt.Errorf("close lease %s: %w", l.ID, err)
	}
	for _, c := range cs {
		if err := d.removeContainer(ctx, c.ID); err != nil {
			return fmt.Errorf("close lease %s: %w", l.ID, err)
		}
	}
	vols, err := d.cli.VolumeList(ctx, volume.ListOptions{Filters: d.leaseFilter(l)})
	if err != nil {
		return fmt.Errorf("close lease %s: list volumes: %w", l.ID, err)
	}
	for _, v := range vols.Volumes {
		if err := d.cli.VolumeRemove(ctx, v.Name, true); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("close lease %s: remove volume %s: %w", l.ID, v.Name, err)
		}
	}
	if err := d.cli.NetworkRemove(ctx, d.networkName(l)); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("close lease %s: remove network: %w", l.ID, err)
	}
	d.mu.Lock()
	delete(d.meters, l.ID)
	d.mu.Unlock()
	if d.opts.StateDir != "" {
		if err := os.Remove(d.meterPath(l)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("close lease %s: %w", l.ID, err)
		}
	}
	if len(cs) > 0 {
		d.log.Info("closed", "lease", l.ID, "containers", len(cs))
	}
	return nil
}

// List returns the leases of this instance that have containers or a
// network.
func (d *Docker) List(ctx context.Context) ([]LeaseRef, error) {
	f := filters.NewArgs(filters.Arg("label", LabelInstance+"="+d.opts.Instance))
	cs, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list leases: containers: %w", err)
	}
	nws, err := d.cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list leases: networks: %w", err)
	}
	ids := map[string]bool{}
	for _, c := range cs {
		ids[c.Labels[LabelLease]] = true
	}
	for _, n := range nws {
		ids[n.Labels[LabelLease]] = true
	}
	return leaseRefs(ids, d.log), nil
}

func leaseRefs(ids map[string]bool, log *slog.Logger) []LeaseRef {
	var out []LeaseRef
	for id := range ids {
		l, err := NewLeaseRef(id)
		if err != nil {
			log.Warn("workload with a malformed lease label", "lease", id, dlog.KeyErr, err)
			continue
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Run samples every lease's usage each SampleInterval until ctx ends.
func (d *Docker) Run(ctx context.Context) error {
	t := time.NewTicker(d.opts.SampleInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		leases, err := d.List(ctx)
		if err != nil {
			d.log.Warn("sample usage", dlog.KeyErr, err)
			continue
		}
		for _, l := range leases {
			if _, err := d.Usage(ctx, l); err != nil && ctx.Err() == nil {
				d.log.Warn("sample usage", "lease", l.ID, dlog.KeyErr, err)
			}
		}
	}
}

// countNvidiaDevices counts /dev/nvidia<N> device nodes.
func countNvidiaDevices() int {
	ms, _ := filepath.Glob("/dev/nvidia[0-9]*")
	n := 0
	for _, m := range ms {
		if _, err := strconv.Atoi(strings.TrimPrefix(m, "/dev/nvidia")); err == nil {
			n++
		}
	}
	return n
}
