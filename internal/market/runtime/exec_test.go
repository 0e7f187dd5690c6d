package runtime_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market/manifest"
	"github.com/deai-network/deai/internal/market/runtime"
	"github.com/deai-network/deai/internal/market/runtime/runtimetest"
)

func execOptions(stateDir string, allow ...string) runtime.ExecOptions {
	return runtime.ExecOptions{
		StateDir:       stateDir,
		Allow:          allow,
		RestartBackoff: 100 * time.Millisecond,
		PollInterval:   50 * time.Millisecond,
		StopGrace:      2 * time.Second,
	}
}

// runExec starts rt.Run and returns a stop that waits for it to end (a
// provider shutting down: the processes stay).
func runExec(t *testing.T, rt *runtime.Exec) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// closeExecOnCleanup kills whatever the lease left, also when the test
// failed, through a fresh runtime over the same state (which adopts it).
func closeExecOnCleanup(t *testing.T, opts runtime.ExecOptions, l runtime.LeaseRef) {
	t.Cleanup(func() {
		rt, err := runtime.NewExec(opts)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		if err := rt.Close(context.Background(), l); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
}

func getPID(ctx context.Context, t *testing.T, base string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(get(ctx, t, base+"/pid")))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func procLimit(t *testing.T, pid int, name string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, name) {
			f := strings.Fields(strings.TrimPrefix(line, name))
			return f[0] + " " + f[1]
		}
	}
	t.Fatalf("no %q in /proc/%d/limits", name, pid)
	return ""
}

func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && (s[i+2] == 'Z' || s[i+2] == 'X')
}

func TestExecLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := runtimetest.EchoBinary(t)
	opts := execOptions(t.TempDir(), bin)
	opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	rt, err := runtime.NewExec(opts)
	if err != nil {
		t.Fatal(err)
	}
	l := testLease(t, 300)
	closeExecOnCleanup(t, opts, l)
	stopRun := runExec(t, rt)

	svc := echoService("web", bin, "hello-exec", true)
	if _, err := rt.Deploy(ctx, l, manifest.Group{Name: "g", Services: []manifest.Service{svc}}); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(ctx, t, rt, l, "web ready", serviceReady("web", 1))
	ss, _ := st.Service("web")
	if len(ss.Endpoints) != 1 {
		t.Fatalf("endpoints %+v", ss.Endpoints)
	}
	ep := ss.Endpoints[0]
	if ep.Host != "127.0.0.1" || ep.Port != 8080 || ep.ExternalPort != 80 || ep.HostPort == 0 {
		t.Errorf("endpoint %+v", ep)
	}
	base := "http://" + ep.Addr()
	body := get(ctx, t, base+"/")
	if !strings.Contains(body, "message=hello-exec") || !strings.Contains(body, "lease="+l.ID) {
		t.Errorf("body %q lacks the env", body)
	}
	if got := strings.TrimSpace(get(ctx, t, base+"/env/PORT")); got != strconv.Itoa(int(ep.HostPort)) {
		t.Errorf("PORT=%q, want the host port %d", got, ep.HostPort)
	}
	if got := strings.TrimSpace(get(ctx, t, base+"/env/DEAI_PORT_8080")); got != strconv.Itoa(int(ep.HostPort)) {
		t.Errorf("DEAI_PORT_8080=%q, want %d", got, ep.HostPort)
	}
	if got := strings.TrimSpace(get(ctx, t, base+"/env/GOFLAGS")); got != "" {
		t.Errorf("the provider's environment leaked: GOFLAGS=%q", got)
	}
	pid := getPID(ctx, t, base)

	t.Run("limits", func(t *testing.T) {
		tests := []struct{ name, want string }{
			{"Max data size", "335544320 335544320"}, // 64 MiB + 256 MiB headroom
			{"Max file size", "134217728 134217728"},
			{"Max open files", "4096 4096"},
			{"Max core file size", "0 0"},
		}
		for _, tc := range tests {
			if got := procLimit(t, pid, tc.name); got != tc.want {
				t.Errorf("%s = %s, want %s", tc.name, got, tc.want)
			}
		}
		pgid, err := syscall.Getpgid(pid)
		if err != nil || pgid != pid {
			t.Errorf("process group %d, %v: want its own (%d)", pgid, err, pid)
		}
	})

	t.Run("logs", func(t *testing.T) {
		rc, err := rt.Logs(ctx, l, runtime.LogOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		readLogsUntil(ctx, t, rc, "[web-0] echo listening on", "[web-0] echo request GET /pid")
		follow, err := rt.Logs(ctx, l, runtime.LogOptions{Follow: true, Tail: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer follow.Close()
		get(ctx, t, base+"/env/FOLLOW_MARK")
		readLogsUntil(ctx, t, follow, "[web-0] echo request GET /env/FOLLOW_MARK")
	})

	t.Run("usage", func(t *testing.T) {
		u1, err := rt.Usage(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			get(ctx, t, base+"/burn?ms=100")
		}
		u2, err := rt.Usage(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		// u1 may be 0: a process that has only just started can have used
		// less than the kernel's 10 ms accounting tick.
		if u2.CPUMilliSeconds < u1.CPUMilliSeconds+250 {
			t.Errorf("cpu %d -> %d milli-seconds after burning 300 ms", u1.CPUMilliSeconds, u2.CPUMilliSeconds)
		}
		if u2.MemoryMiBSeconds == 0 && u2.At.Sub(u1.At) > time.Second {
			t.Errorf("no memory usage: %+v", u2)
		}
	})

	t.Run("crash restarts", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/exit?code=3", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		st := waitStatus(ctx, t, rt, l, "restarted", func(st runtime.Status) bool {
			ss, _ := st.Service("web")
			return ss.Restarts == 1 && ss.Ready == 1
		})
		ss, _ := st.Service("web")
		if ss.LastError != "exited with code 3" {
			t.Errorf("last error %q", ss.LastError)
		}
		if len(ss.Endpoints) != 1 || ss.Endpoints[0] != ep {
			t.Errorf("endpoints after restart %+v, want %+v", ss.Endpoints, ep)
		}
		newPID := getPID(ctx, t, base)
		if newPID == pid {
			t.Errorf("pid %d unchanged after a crash", pid)
		}
		pid = newPID
	})

	t.Run("memory limit", func(t *testing.T) {
		// 100 MiB resident is over the 64 MiB limit but under RLIMIT_DATA:
		// the supervisor kills it.
		if resp, err := http.Get(base + "/alloc?mib=100"); err == nil { // killed mid-answer, or not
			resp.Body.Close()
		}
		st := waitStatus(ctx, t, rt, l, "restarted after going over memory", func(st runtime.Status) bool {
			ss, _ := st.Service("web")
			return ss.Restarts == 2 && ss.Ready == 1
		})
		if ss, _ := st.Service("web"); !strings.Contains(ss.LastError, "resident memory") {
			t.Errorf("last error %q", ss.LastError)
		}
		pid = getPID(ctx, t, base)
	})

	t.Run("data limit", func(t *testing.T) {
		// 400 MiB of heap is over RLIMIT_DATA: the Go runtime dies at once.
		if resp, err := http.Get(base + "/alloc?mib=400"); err == nil {
			resp.Body.Close()
			t.Error("alloc over RLIMIT_DATA answered")
		}
		st := waitStatus(ctx, t, rt, l, "restarted after RLIMIT_DATA", func(st runtime.Status) bool {
			ss, _ := st.Service("web")
			return ss.Restarts == 3 && ss.Ready == 1
		})
		if ss, _ := st.Service("web"); ss.LastError != "exited with code 2" {
			t.Errorf("last error %q, want the Go runtime's exit code 2", ss.LastError)
		}
		pid = getPID(ctx, t, base)
	})

	t.Run("restart adopts", func(t *testing.T) {
		stopRun() // the provider exits; its processes stay
		if processGone(pid) {
			t.Fatalf("pid %d died with the runtime", pid)
		}
		rt2, err := runtime.NewExec(opts)
		if err != nil {
			t.Fatal(err)
		}
		runExec(t, rt2)
		leases, err := rt2.List(ctx)
		if err != nil || len(leases) != 1 || leases[0].ID != l.ID {
			t.Fatalf("List = %v, %v", leases, err)
		}
		st, err := rt2.Status(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		if ss, _ := st.Service("web"); ss.Running != 1 || ss.Restarts != 3 || len(ss.Endpoints) != 1 || ss.Endpoints[0] != ep {
			t.Errorf("status after restart %+v", ss)
		}
		if got := getPID(ctx, t, base); got != pid {
			t.Errorf("pid %d after adoption, want %d", got, pid)
		}
		// A reconcile deploying the same group keeps the process.
		if _, err := rt2.Deploy(ctx, l, manifest.Group{Name: "g", Services: []manifest.Service{svc}}); err != nil {
			t.Fatal(err)
		}
		if got := getPID(ctx, t, base); got != pid {
			t.Errorf("pid %d after redeploy, want %d", got, pid)
		}

		if err := rt2.Close(ctx, l); err != nil {
			t.Fatal(err)
		}
		if !processGone(pid) {
			t.Errorf("pid %d alive after Close", pid)
		}
		if err := rt2.Close(ctx, l); err != nil {
			t.Errorf("second close: %v", err)
		}
		if _, err := rt2.Status(ctx, l); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("status after close: %v", err)
		}
		if _, err := os.Stat(filepath.Join(opts.StateDir, l.Name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("lease state left: %v", err)
		}
	})
}

// TestExecUpdate changes a service's env and count: the changed replica is
// replaced on the same host port, the new one gets its own.
func TestExecUpdate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := runtimetest.EchoBinary(t)
	opts := execOptions(t.TempDir(), filepath.Dir(bin)+"/")
	rt, err := runtime.NewExec(opts)
	if err != nil {
		t.Fatal(err)
	}
	l := testLease(t, 301)
	closeExecOnCleanup(t, opts, l)
	runExec(t, rt)

	svc := echoService("web", runtime.ExecImage, "v1", true)
	svc.Command = []string{bin}
	svc.Args = []string{} // listen on $PORT
	svc.Resources.Storage = append(svc.Resources.Storage, lmarket.Volume{Name: "cache", SizeBytes: 8 << 20, Class: lmarket.StorageRAM})
	svc.Params = &manifest.Params{Storage: []manifest.StorageParams{{Name: "cache", Mount: "/cache"}}}
	if _, err := rt.Deploy(ctx, l, manifest.Group{Name: "g", Services: []manifest.Service{svc}}); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(ctx, t, rt, l, "v1 ready", serviceReady("web", 1))
	ss, _ := st.Service("web")
	base := "http://" + ss.Endpoints[0].Addr()
	pid1 := getPID(ctx, t, base)
	if got := procLimit(t, pid1, "Max data size"); got != "343932928 343932928" {
		t.Errorf("data limit %s, want memory + ram volume + headroom (72 + 256 MiB)", got)
	}
	vol := strings.TrimSpace(get(ctx, t, base+"/env/DEAI_VOLUME_CACHE"))
	if fi, err := os.Stat(vol); err != nil || !fi.IsDir() {
		t.Errorf("DEAI_VOLUME_CACHE=%q: %v", vol, err)
	}

	svc.Env = []string{"ECHO_MESSAGE=v2"}
	svc.Count = 2
	if _, err := rt.Deploy(ctx, l, manifest.Group{Name: "g", Services: []manifest.Service{svc}}); err != nil {
		t.Fatal(err)
	}
	st = waitStatus(ctx, t, rt, l, "v2 ready", serviceReady("web", 2))
	ss, _ = st.Service("web")
	if len(ss.Endpoints) != 2 || ss.Endpoints[0].Addr() != strings.TrimPrefix(base, "http://") || ss.Endpoints[1].HostPort == ss.Endpoints[0].HostPort {
		t.Errorf("endpoints %+v: want replica 0 on its old port, replica 1 on another", ss.Endpoints)
	}
	runtimetest.WaitHTTP(ctx, t, base+"/", "message=v2")
	if !processGone(pid1) {
		t.Errorf("old process %d still running", pid1)
	}
	runtimetest.WaitHTTP(ctx, t, "http://"+ss.Endpoints[1].Addr()+"/", "replica=1")
}

func TestExecDeployErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	allowed := filepath.Join(dir, "allowed")
	if err := os.WriteFile(allowed, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.NewExec(execOptions(filepath.Join(dir, "state"), allowed, dir+"/sub/"))
	if err != nil {
		t.Fatal(err)
	}
	svc := func(image string, command ...string) manifest.Service {
		s := echoService("web", image, "", true)
		s.Command = command
		return s
	}
	gpu := svc(allowed)
	gpu.Resources.GPU = lmarket.GPU{Units: 1, Attributes: []string{"vendor/nvidia/model/*"}}
	tests := []struct {
		name string
		svc  manifest.Service
		want string
	}{
		{"registry image", svc("nginx:1.27"), `wants "exec"`},
		{"exec without command", svc(runtime.ExecImage), "needs a command"},
		{"not allowed", svc("/bin/sh"), "/bin/sh is not allowed"},
		{"not allowed by command", svc(allowed, "/bin/sh"), "/bin/sh is not allowed"},
		{"missing binary", svc(dir + "/sub/nothing"), "no such file"},
		{"gpu", gpu, "provides none"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := testLease(t, uint64(400+i))
			_, err := rt.Deploy(ctx, l, manifest.Group{Name: "g", Services: []manifest.Service{tc.svc}})
			if !errors.Is(err, runtime.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Deploy: %v, want ErrInvalid with %q", err, tc.want)
			}
		})
	}
	if leases, _ := rt.List(ctx); len(leases) != 0 {
		t.Errorf("failed deploys left leases %v", leases)
	}
}
