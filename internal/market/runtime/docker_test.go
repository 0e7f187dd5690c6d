package runtime_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market/manifest"
	"github.com/deai-network/deai/internal/market/runtime"
	"github.com/deai-network/deai/internal/market/runtime/runtimetest"
)

// dockerRuntime starts a Docker runtime with an instance name unique to the
// test and removes whatever that instance left when the test ends, also
// after a failure.
func dockerRuntime(ctx context.Context, t *testing.T, cli *client.Client, stateDir string) (*runtime.Docker, func() *runtime.Docker) {
	t.Helper()
	inst := runtimetest.UniqueName(t, "deai")
	mk := func() *runtime.Docker {
		d, err := runtime.NewDocker(ctx, runtime.DockerOptions{Client: cli, Instance: inst, StateDir: stateDir, GPUs: -1})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	t.Cleanup(func() { removeDockerInstance(t, cli, inst) })
	return mk(), mk
}

func removeDockerInstance(t *testing.T, cli *client.Client, inst string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := filters.NewArgs(filters.Arg("label", runtime.LabelInstance+"="+inst))
	cs, _ := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	for _, c := range cs {
		if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	vs, _ := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	for _, v := range vs.Volumes {
		cli.VolumeRemove(ctx, v.Name, true)
	}
	ns, _ := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	for _, n := range ns {
		if err := cli.NetworkRemove(ctx, n.ID); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

func leaseContainers(ctx context.Context, t *testing.T, cli *client.Client, l runtime.LeaseRef) []container.Summary {
	t.Helper()
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", runtime.LabelLease+"="+l.ID))})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(cs, func(a, b container.Summary) int { return strings.Compare(a.Names[0], b.Names[0]) })
	return cs
}

func containerIDs(cs []container.Summary) []string {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

func TestDockerLifecycle(t *testing.T) {
	cli := runtimetest.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	img := runtimetest.BuildEchoImage(ctx, t, cli)
	rt, restart := dockerRuntime(ctx, t, cli, t.TempDir())
	l := testLease(t, 100)
	g := manifest.Group{Name: "dcloud", Services: []manifest.Service{echoService("web", img, "hello-docker", true)}}

	if _, err := rt.Deploy(ctx, l, g); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(ctx, t, rt, l, "web running", serviceReady("web", 1))

	t.Run("limits", func(t *testing.T) {
		cs := leaseContainers(ctx, t, cli, l)
		if len(cs) != 1 {
			t.Fatalf("%d containers, want 1", len(cs))
		}
		in, err := cli.ContainerInspect(ctx, cs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		h := in.HostConfig
		pids := int64(-1)
		if h.PidsLimit != nil {
			pids = *h.PidsLimit
		}
		checks := []struct {
			name      string
			got, want any
		}{
			{"NanoCPUs", h.NanoCPUs, int64(500_000_000)},
			{"Memory", h.Memory, int64(64 << 20)},
			{"MemorySwap", h.MemorySwap, int64(64 << 20)},
			{"PidsLimit", pids, int64(runtime.DefaultPidsLimit)},
			{"Privileged", h.Privileged, false},
			{"no-new-privileges", slices.Contains(h.SecurityOpt, "no-new-privileges:true"), true},
			{"CapDrop NET_RAW", slices.Contains(h.CapDrop, "NET_RAW") || slices.Contains(h.CapDrop, "CAP_NET_RAW"), true},
			{"RestartPolicy", string(h.RestartPolicy.Name), "unless-stopped"},
			{"NetworkMode", string(h.NetworkMode), strings.TrimSuffix(strings.TrimPrefix(in.Name, "/"), "-web-0")},
			{"label lease", in.Config.Labels[runtime.LabelLease], l.ID},
			{"label service", in.Config.Labels[runtime.LabelService], "web"},
			{"label replica", in.Config.Labels[runtime.LabelReplica], "0"},
			{"env", slices.Contains(in.Config.Env, "DEAI_LEASE_ID="+l.ID), true},
			{"published on", in.HostConfig.PortBindings["8080/tcp"][0].HostIP, "127.0.0.1"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		}
	})

	ss, _ := st.Service("web")
	if len(ss.Endpoints) != 1 {
		t.Fatalf("endpoints %+v, want one", ss.Endpoints)
	}
	ep := ss.Endpoints[0]
	if ep.Port != 8080 || ep.ExternalPort != 80 || ep.Proto != "TCP" || ep.Host != "127.0.0.1" || ep.HostPort == 0 {
		t.Errorf("endpoint %+v", ep)
	}
	base := "http://" + ep.Addr()
	body := runtimetest.WaitHTTP(ctx, t, base+"/", "message=hello-docker")
	if !strings.Contains(body, "lease="+l.ID) || !strings.Contains(body, "service=web") {
		t.Errorf("body %q lacks the lease env", body)
	}

	t.Run("logs", func(t *testing.T) {
		rc, err := rt.Logs(ctx, l, runtime.LogOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		// Both streams: the startup line is stdout, request lines stderr.
		readLogsUntil(ctx, t, rc, "[web-0] echo listening on", "[web-0] echo request GET /")

		follow, err := rt.Logs(ctx, l, runtime.LogOptions{Follow: true, Tail: 1, Services: []string{"web"}})
		if err != nil {
			t.Fatal(err)
		}
		defer follow.Close()
		get(ctx, t, base+"/env/FOLLOW_MARK")
		readLogsUntil(ctx, t, follow, "[web-0] echo request GET /env/FOLLOW_MARK")

		none, err := rt.Logs(ctx, l, runtime.LogOptions{Services: []string{"other"}})
		if err != nil {
			t.Fatal(err)
		}
		defer none.Close()
		if got := readAllString(t, none); got != "" {
			t.Errorf("logs of an absent service: %q", got)
		}
	})

	t.Run("usage", func(t *testing.T) {
		u1, err := rt.Usage(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			get(ctx, t, base+"/burn?ms=200")
		}
		u2, err := rt.Usage(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		if u1.CPUMilliSeconds == 0 || u2.CPUMilliSeconds < u1.CPUMilliSeconds+600 {
			t.Errorf("cpu %d -> %d milli-seconds after burning 600, want non-zero and +600 or more", u1.CPUMilliSeconds, u2.CPUMilliSeconds)
		}
		if u2.MemoryMiBSeconds == 0 || u2.GPUSeconds != 0 || u2.Start.IsZero() || !u2.At.After(u1.At) {
			t.Errorf("usage %+v after %+v", u2, u1)
		}
	})

	before := containerIDs(leaseContainers(ctx, t, cli, l))
	t.Run("restart adopts", func(t *testing.T) {
		rt2 := restart()
		leases, err := rt2.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(leases) != 1 || leases[0].ID != l.ID || leases[0].Name != l.Name {
			t.Fatalf("List = %+v, want [%s]", leases, l.ID)
		}
		st, err := rt2.Status(ctx, leases[0])
		if err != nil {
			t.Fatal(err)
		}
		if ss, _ := st.Service("web"); ss.Running != 1 || len(ss.Endpoints) != 1 || ss.Endpoints[0] != ep {
			t.Errorf("status after restart %+v, want running with endpoint %+v", ss, ep)
		}
		u, err := rt2.Usage(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		if u.CPUMilliSeconds < 200 {
			t.Errorf("usage after restart %+v: the meter was not kept", u)
		}
		// Deploying the same group again (a reconcile) keeps the containers.
		if _, err := rt2.Deploy(ctx, l, g); err != nil {
			t.Fatal(err)
		}
		if after := containerIDs(leaseContainers(ctx, t, cli, l)); !slices.Equal(before, after) {
			t.Errorf("containers %v, then %v: recreated", before, after)
		}
		runtimetest.WaitHTTP(ctx, t, base+"/", "message=hello-docker")
	})

	t.Run("close", func(t *testing.T) {
		if err := rt.Close(ctx, l); err != nil {
			t.Fatal(err)
		}
		if cs := leaseContainers(ctx, t, cli, l); len(cs) != 0 {
			t.Errorf("%d containers left", len(cs))
		}
		nws, err := cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("label", runtime.LabelLease+"="+l.ID))})
		if err != nil || len(nws) != 0 {
			t.Errorf("networks left %v, %v", nws, err)
		}
		if err := rt.Close(ctx, l); err != nil {
			t.Errorf("second close: %v", err)
		}
		if _, err := rt.Status(ctx, l); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("status after close: %v, want ErrNotFound", err)
		}
		if leases, err := rt.List(ctx); err != nil || len(leases) != 0 {
			t.Errorf("List after close = %v, %v", leases, err)
		}
	})
}

// TestDockerUpdate deploys two services, one reachable only inside the
// lease, then updates the group: a changed service is replaced, an
// unchanged one kept, a persistent volume survives.
func TestDockerUpdate(t *testing.T) {
	cli := runtimetest.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	img := runtimetest.BuildEchoImage(ctx, t, cli)
	rt, _ := dockerRuntime(ctx, t, cli, "")
	l := testLease(t, 101)
	t.Cleanup(func() { rt.Close(context.Background(), l) })

	web := echoService("web", img, "front", true)
	api := echoService("api", img, "back-v1", false)
	api.Resources.Storage = append(api.Resources.Storage,
		lmarket.Volume{Name: "data", SizeBytes: 64 << 20, Class: lmarket.StorageSSD, Persistent: true},
		lmarket.Volume{Name: "shm", SizeBytes: 16 << 20, Class: lmarket.StorageRAM})
	api.Params = &manifest.Params{Storage: []manifest.StorageParams{{Name: "data", Mount: "/data"}, {Name: "shm", Mount: "/shm"}}}
	g := manifest.Group{Name: "g", Services: []manifest.Service{web, api}}
	st, err := rt.Deploy(ctx, l, g)
	if err != nil {
		t.Fatal(err)
	}
	if ss, _ := st.Service("api"); len(ss.Endpoints) != 0 {
		t.Errorf("internal service has endpoints %+v", ss.Endpoints)
	}
	st = waitStatus(ctx, t, rt, l, "both running", func(st runtime.Status) bool {
		return serviceReady("web", 1)(st) && serviceReady("api", 1)(st)
	})
	ss, _ := st.Service("web")
	base := "http://" + ss.Endpoints[0].Addr()
	// web reaches api by its service name, on the container port.
	runtimetest.WaitHTTP(ctx, t, base+"/fetch?url=http://api:8080/", "message=back-v1")

	apiBefore := leaseContainers(ctx, t, cli, l)
	in, err := cli.ContainerInspect(ctx, apiBefore[0].ID) // sorted: api before web
	if err != nil {
		t.Fatal(err)
	}
	if in.HostConfig.Memory != 64<<20+16<<20 {
		t.Errorf("api memory limit %d, want memory + ram volume", in.HostConfig.Memory)
	}
	if len(in.HostConfig.PortBindings) != 0 {
		t.Errorf("internal service publishes %v", in.HostConfig.PortBindings)
	}

	api.Env = []string{"ECHO_MESSAGE=back-v2"}
	api.Count = 2
	g2 := manifest.Group{Name: "g", Services: []manifest.Service{web, api}}
	if _, err := rt.Deploy(ctx, l, g2); err != nil {
		t.Fatal(err)
	}
	waitStatus(ctx, t, rt, l, "api scaled to 2", serviceReady("api", 2))
	after := leaseContainers(ctx, t, cli, l)
	if len(after) != 3 {
		t.Fatalf("%d containers after update, want 3", len(after))
	}
	if after[0].ID == apiBefore[0].ID {
		t.Error("changed api replica was kept")
	}
	if after[2].ID != apiBefore[1].ID {
		t.Error("unchanged web replica was replaced")
	}
	runtimetest.WaitHTTP(ctx, t, base+"/fetch?url=http://api:8080/", "message=back-v2")
	vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", runtime.LabelLease+"="+l.ID))})
	if err != nil || len(vols.Volumes) != 2 {
		t.Fatalf("persistent volumes %v, %v: want one per api replica", vols.Volumes, err)
	}

	// Dropping a service removes its containers.
	if _, err := rt.Deploy(ctx, l, manifest.Group{Name: "g", Services: []manifest.Service{web}}); err != nil {
		t.Fatal(err)
	}
	if cs := leaseContainers(ctx, t, cli, l); len(cs) != 1 || cs[0].ID != apiBefore[1].ID {
		t.Errorf("containers after dropping api: %v", containerIDs(cs))
	}
	if err := rt.Close(ctx, l); err != nil {
		t.Fatal(err)
	}
	vols, _ = cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", runtime.LabelLease+"="+l.ID))})
	if len(vols.Volumes) != 0 {
		t.Errorf("volumes left after close: %v", vols.Volumes)
	}
}

func TestDockerDeployErrors(t *testing.T) {
	cli := runtimetest.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	img := runtimetest.BuildEchoImage(ctx, t, cli)
	rt, _ := dockerRuntime(ctx, t, cli, "")
	missing := runtimetest.UniqueName(t, "deai-absent") + ":v1"
	gpu := echoService("llm", img, "", true)
	gpu.Resources.GPU = lmarket.GPU{Units: 1, Attributes: []string{"vendor/nvidia/model/h100"}}
	amd := echoService("llm", img, "", true)
	amd.Resources.GPU = lmarket.GPU{Units: 1, Attributes: []string{"vendor/amd/model/mi300x"}}
	dup := echoService("web", img, "", true)
	tests := []struct {
		name string
		svcs []manifest.Service
		want []string
	}{
		{"missing image", []manifest.Service{echoService("web", missing, "", true)}, []string{missing, "not on this docker host"}},
		{"gpu without gpus", []manifest.Service{gpu}, []string{"llm", "1 gpu", "no GPUs"}},
		{"amd gpu", []manifest.Service{amd}, []string{"only nvidia"}},
		{"duplicate service", []manifest.Service{dup, dup}, []string{`"web" listed twice`}},
		{"bad service name", []manifest.Service{echoService("Web_1", img, "", true)}, []string{`"Web_1"`, "DNS label"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := testLease(t, uint64(200+i))
			_, err := rt.Deploy(ctx, l, manifest.Group{Name: "g", Services: tc.svcs})
			if !errors.Is(err, runtime.ErrInvalid) {
				t.Fatalf("Deploy: %v, want ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if cs := leaseContainers(ctx, t, cli, l); len(cs) != 0 {
				t.Errorf("%d containers created", len(cs))
			}
		})
	}
	leases, err := rt.List(ctx)
	if err != nil || len(leases) != 0 {
		t.Errorf("List = %v, %v: failed deploys left something", leases, err)
	}
}

func readAllString(t *testing.T, rc interface{ Read([]byte) (int, error) }) string {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 1024)
	for {
		n, err := rc.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}
