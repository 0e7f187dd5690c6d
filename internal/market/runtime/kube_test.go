package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market/manifest"
	"github.com/deai-network/deai/internal/market/runtime"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/kube")

func kubeWeb(image string) manifest.Service {
	return manifest.Service{
		Name:  "web",
		Image: image,
		Env:   []string{"GREETING=hello", "DEAI_OWNER=spoofed"},
		Resources: lmarket.Resources{
			CPUMilli: 500, MemoryBytes: 512 << 20,
			Storage: []lmarket.Volume{{Name: "default", SizeBytes: 1 << 30}},
		},
		Count:  2,
		Expose: []manifest.Expose{{Port: 8080, ExternalPort: 80, Proto: "TCP", Global: true}},
	}
}

func kubeGroups() map[string]manifest.Group {
	vllm := manifest.Service{
		Name:  "vllm",
		Image: "vllm/vllm-openai:v0.6.2",
		Args:  []string{"--model", "meta-llama/Meta-Llama-3.1-8B-Instruct"},
		Resources: lmarket.Resources{
			CPUMilli: 8000, MemoryBytes: 32 << 30,
			Storage: []lmarket.Volume{{Name: "default", SizeBytes: 100 << 30}, {Name: "shm", SizeBytes: 8 << 30, Class: lmarket.StorageRAM}},
			GPU:     lmarket.GPU{Units: 1, Attributes: []string{"vendor/nvidia/model/h100/ram/80Gi"}, Sharing: lmarket.SharingMPS},
		},
		Count:  1,
		Expose: []manifest.Expose{{Port: 8000, ExternalPort: 8000, Proto: "TCP", Global: true}},
		Params: &manifest.Params{Storage: []manifest.StorageParams{{Name: "shm", Mount: "/dev/shm"}}},
	}
	api := manifest.Service{
		Name:    "api",
		Image:   "ghcr.io/example/api:1.4",
		Command: []string{"/api"},
		Args:    []string{"--listen", ":9000"},
		Resources: lmarket.Resources{
			CPUMilli: 250, MemoryBytes: 128 << 20,
			Storage: []lmarket.Volume{{Name: "default", SizeBytes: 512 << 20}},
		},
		Count:  1,
		Expose: []manifest.Expose{{Port: 9000, Proto: "TCP", Services: []string{"web"}}},
	}
	front := kubeWeb("nginx:1.27")
	front.Count = 1
	trainer := manifest.Service{
		Name:  "trainer",
		Image: "ghcr.io/example/trainer:2",
		Resources: lmarket.Resources{
			CPUMilli: 4000, MemoryBytes: 16 << 30,
			Storage: []lmarket.Volume{
				{Name: "default", SizeBytes: 20 << 30},
				{Name: "checkpoints", SizeBytes: 200 << 30, Class: lmarket.StorageNVMe, Persistent: true},
			},
			GPU: lmarket.GPU{Units: 2, Attributes: []string{"vendor/nvidia/model/h100/ram/80Gi/interface/sxm", "vendor/nvidia/model/a100/ram/80Gi", "vendor/nvidia/model/rtx4090"}, Sharing: lmarket.SharingTimeSlicing},
		},
		Count:  1,
		Params: &manifest.Params{Storage: []manifest.StorageParams{{Name: "checkpoints", Mount: "/ckpt"}}},
	}
	return map[string]manifest.Group{
		"cpu-web":                  {Name: "web", Services: []manifest.Service{kubeWeb("nginx:1.27")}},
		"gpu-h100-mps":             {Name: "llm", Services: []manifest.Service{vllm}},
		"two-services":             {Name: "app", Services: []manifest.Service{front, api}},
		"gpu-alternatives-persist": {Name: "train", Services: []manifest.Service{trainer}},
	}
}

func TestRenderKubeGolden(t *testing.T) {
	l := testLease(t, 500)
	opts := runtime.KubeRenderOptions{PublicHost: "provider.example.com", StorageClasses: map[string]string{"beta3": "local-nvme"}}
	for name, g := range kubeGroups() {
		t.Run(name, func(t *testing.T) {
			objs, err := runtime.RenderKube(l, g, opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := runtime.EncodeKubeYAML(objs)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "kube", name+".yaml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s mismatch (-want +got), run with -update if intended:\n%s", path, diff)
			}
			strictDecode(t, got)
		})
	}
}

// strictDecode decodes every document of a YAML stream into its Go type,
// refusing unknown fields, as `kubectl apply` does by default.
func strictDecode(t *testing.T, stream []byte) {
	t.Helper()
	for i, doc := range bytes.Split(stream, []byte("\n---\n")) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var into any
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 Namespace":
			into = &corev1.Namespace{}
		case "v1 Service":
			into = &corev1.Service{}
		case "networking.k8s.io/v1 NetworkPolicy":
			into = &networkingv1.NetworkPolicy{}
		case "resource.k8s.io/v1 ResourceClaimTemplate":
			into = &resourcev1.ResourceClaimTemplate{}
		case "apps/v1 Deployment":
			into = &appsv1.Deployment{}
		case "apps/v1 StatefulSet":
			into = &appsv1.StatefulSet{}
		default:
			t.Fatalf("document %d: unexpected %s %s", i, tm.APIVersion, tm.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, into); err != nil {
			t.Errorf("document %d (%s): strict decode: %v", i, tm.Kind, err)
		}
	}
}

func TestRenderKubeErrors(t *testing.T) {
	l := testLease(t, 501)
	gpu := func(attrs ...string) manifest.Group {
		s := kubeWeb("x")
		s.Resources.GPU = lmarket.GPU{Units: 1, Attributes: attrs}
		return manifest.Group{Name: "g", Services: []manifest.Service{s}}
	}
	var nine []string
	for i := range 9 {
		nine = append(nine, fmt.Sprintf("vendor/nvidia/model/m%d", i))
	}
	tests := []struct {
		name string
		g    manifest.Group
		want string
	}{
		{"amd", gpu("vendor/amd/model/mi300x"), "only nvidia"},
		{"cel injection", gpu("vendor/nvidia/model/h100')||true||('"), "model"},
		{"bad ram", gpu("vendor/nvidia/model/h100/ram/lots"), "not a quantity"},
		{"too many alternatives", gpu(nine...), "at most 8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runtime.RenderKube(l, tc.g, runtime.KubeRenderOptions{})
			if !errors.Is(err, runtime.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("RenderKube: %v, want ErrInvalid with %q", err, tc.want)
			}
		})
	}
}

// TestKubeFakeCluster drives the Kubernetes runtime against client-go's
// fake clientset (field-managed, so server-side apply works). The fake runs
// no controllers: the test plays the apiserver's and kubelet's part by
// setting NodePorts, deployment status and pods.
func TestKubeFakeCluster(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	k, err := runtime.NewKube(runtime.KubeOptions{Client: cs, KubeRenderOptions: runtime.KubeRenderOptions{PublicHost: "provider.example.com"}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	l := testLease(t, 600)
	ns := runtime.KubeNamespace(l)
	g := kubeGroups()["two-services"]
	if _, err := k.Deploy(ctx, l, g); err != nil {
		t.Fatal(err)
	}
	nsObj, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if nsObj.Annotations[runtime.KubeAnnotationLease] != l.ID || nsObj.Labels["deai.network/lease.dseq"] != "600" || nsObj.Labels["deai.network/lease.owner"] != testOwner {
		t.Errorf("namespace meta %v %v", nsObj.Labels, nsObj.Annotations)
	}
	for _, name := range []string{"web", "api"} {
		if _, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("deployment %s: %v", name, err)
		}
	}
	pols, _ := cs.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
	if len(pols.Items) != 5 {
		t.Errorf("%d network policies, want 5", len(pols.Items))
	}

	// Play the cluster: a NodePort, a ready replica, a running pod that
	// restarted twice.
	np, err := cs.CoreV1().Services(ns).Get(ctx, "web-np", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	np.Spec.Ports[0].NodePort = 30080
	if _, err := cs.CoreV1().Services(ns).Update(ctx, np, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	dep, _ := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	dep.Status.ReadyReplicas = 1
	if _, err := cs.AppsV1().Deployments(ns).UpdateStatus(ctx, dep, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-5d8f7c9b4-x2x7k", Namespace: ns, UID: "pod-1", Labels: dep.Spec.Template.Labels},
		Spec:       dep.Spec.Template.Spec,
		Status: corev1.PodStatus{
			Phase:     corev1.PodRunning,
			StartTime: &metav1.Time{Time: now.Add(-100 * time.Second)},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "web", RestartCount: 2,
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}},
			}},
		},
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	st, err := k.Status(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	want := runtime.Status{Lease: l, Services: []runtime.ServiceStatus{
		{Name: "api", Replicas: 1},
		{Name: "web", Replicas: 1, Running: 1, Ready: 1, Restarts: 2, LastError: "restarted after OOMKilled, exit code 137",
			Endpoints: []runtime.Endpoint{{Port: 8080, ExternalPort: 80, Proto: "TCP", Host: "provider.example.com", HostPort: 30080, Replica: -1}}},
	}}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}

	rc, err := k.Logs(ctx, l, runtime.LogOptions{Services: []string{"web"}, Tail: 10})
	if err != nil {
		t.Fatal(err)
	}
	logs, _ := io.ReadAll(rc)
	rc.Close()
	if string(logs) != "[web-5d8f7c9b4-x2x7k] fake logs\n" {
		t.Errorf("logs %q", logs)
	}

	u, err := k.Usage(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	if u.CPUMilliSeconds != 500*100 || u.MemoryMiBSeconds != 512*100 || u.GPUSeconds != 0 {
		t.Errorf("usage %+v, want 100 s of 500m and 512 MiB", u)
	}
	now = now.Add(50 * time.Second)
	if u, _ = k.Usage(ctx, l); u.CPUMilliSeconds != 500*150 {
		t.Errorf("usage after 50 s more: %+v", u)
	}

	// A restarted provider finds the lease; an update without api prunes it
	// and keeps the NodePort the cluster gave.
	k2, err := runtime.NewKube(runtime.KubeOptions{Client: cs, KubeRenderOptions: runtime.KubeRenderOptions{PublicHost: "provider.example.com"}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	leases, err := k2.List(ctx)
	if err != nil || len(leases) != 1 || leases[0] != l {
		t.Fatalf("List = %v, %v", leases, err)
	}
	g2 := manifest.Group{Name: "app", Services: []manifest.Service{g.Services[0]}}
	if _, err := k2.Deploy(ctx, l, g2); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().Deployments(ns).Get(ctx, "api", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("api deployment after update: %v, want not found", err)
	}
	if _, err := cs.CoreV1().Services(ns).Get(ctx, "api", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("api service after update: %v, want not found", err)
	}
	if np, _ = cs.CoreV1().Services(ns).Get(ctx, "web-np", metav1.GetOptions{}); np.Spec.Ports[0].NodePort != 30080 {
		t.Errorf("node port %d after re-apply, want 30080 kept", np.Spec.Ports[0].NodePort)
	}

	if err := k2.Close(ctx, l); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace after close: %v", err)
	}
	if err := k2.Close(ctx, l); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := k2.Status(ctx, l); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("status after close: %v", err)
	}
	if leases, _ := k2.List(ctx); len(leases) != 0 {
		t.Errorf("List after close = %v", leases)
	}
}

// TestKubeGPUClaimReplaced: a changed GPU request replaces the (immutable)
// claim template; the pod spec references it.
func TestKubeGPUClaim(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset()
	k, err := runtime.NewKube(runtime.KubeOptions{Client: cs})
	if err != nil {
		t.Fatal(err)
	}
	l := testLease(t, 601)
	g := kubeGroups()["gpu-h100-mps"]
	if _, err := k.Deploy(ctx, l, g); err != nil {
		t.Fatal(err)
	}
	ns := runtime.KubeNamespace(l)
	rct, err := cs.ResourceV1().ResourceClaimTemplates(ns).Get(ctx, "vllm-gpu", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := rct.Spec.Spec.Devices.Requests[0]; r.Exactly == nil || r.Exactly.Count != 1 || r.Exactly.DeviceClassName != "gpu.nvidia.com" {
		t.Errorf("request %+v", r)
	}
	dep, err := cs.AppsV1().Deployments(ns).Get(ctx, "vllm", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rc := dep.Spec.Template.Spec.ResourceClaims; len(rc) != 1 || *rc[0].ResourceClaimTemplateName != "vllm-gpu" {
		t.Errorf("pod resource claims %+v", rc)
	}
	if c := dep.Spec.Template.Spec.Containers[0].Resources.Claims; len(c) != 1 || c[0].Name != "gpu" {
		t.Errorf("container claims %+v", c)
	}
	g.Services[0].Resources.GPU.Units = 2
	if _, err := k.Deploy(ctx, l, g); err != nil {
		t.Fatal(err)
	}
	rct, _ = cs.ResourceV1().ResourceClaimTemplates(ns).Get(ctx, "vllm-gpu", metav1.GetOptions{})
	if c := rct.Spec.Spec.Devices.Requests[0].Exactly.Count; c != 2 {
		t.Errorf("count %d after update, want 2", c)
	}
}
