package runtime_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market/manifest"
	"github.com/deai-network/deai/internal/market/runtime"
)

func exampleGroup(image string) manifest.Group {
	return manifest.Group{Name: "web", Services: []manifest.Service{{
		Name:  "web",
		Image: image,
		Env:   []string{"ECHO_MESSAGE=hi"},
		Resources: lmarket.Resources{
			CPUMilli: 500, MemoryBytes: 64 << 20,
			Storage: []lmarket.Volume{{Name: "default", SizeBytes: 128 << 20}},
		},
		Count:  1,
		Expose: []manifest.Expose{{Port: 8080, ExternalPort: 80, Global: true}},
	}}}
}

func ExampleNewLeaseRef() {
	l, err := runtime.NewLeaseRef("deai1tenant/42/1/1/deai1provider")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(l.Owner, l.DSeq, l.GSeq, l.OSeq, l.Provider)
	fmt.Println(runtime.KubeNamespace(l))
	// Output:
	// deai1tenant 42 1 1 deai1provider
	// deai-f9f4aa7aa7156bada5a71d4c
}

// A provider deploys a lease's group on the local Docker Engine, serves its
// endpoint and, after a restart, finds the lease again with List.
func ExampleNewDocker() {
	ctx := context.Background()
	rt, err := runtime.NewDocker(ctx, runtime.DockerOptions{StateDir: "/var/lib/deai/docker"})
	if err != nil {
		log.Fatal(err)
	}
	go rt.Run(ctx) // usage sampling
	l, _ := runtime.NewLeaseRef("deai1tenant/42/1/1/deai1provider")
	st, err := rt.Deploy(ctx, l, exampleGroup("deai-echo:test"))
	if err != nil {
		log.Fatal(err)
	}
	web, _ := st.Service("web")
	for _, ep := range web.Endpoints {
		fmt.Println("http://" + ep.Addr())
	}
	leases, _ := rt.List(ctx) // what a restarted provider adopts
	fmt.Println(len(leases))
}

// The exec runtime runs allowed binaries as local process groups.
func ExampleNewExec() {
	ctx := context.Background()
	rt, err := runtime.NewExec(runtime.ExecOptions{
		StateDir: "/var/lib/deai/exec",
		Allow:    []string{"/opt/deai/bin/"},
	})
	if err != nil {
		log.Fatal(err)
	}
	go rt.Run(ctx) // restarts crashed replicas, samples usage
	l, _ := runtime.NewLeaseRef("deai1tenant/42/1/1/deai1provider")
	st, err := rt.Deploy(ctx, l, exampleGroup("/opt/deai/bin/echo"))
	if err != nil {
		log.Fatal(err)
	}
	web, _ := st.Service("web")
	resp, err := http.Get("http://" + web.Endpoints[0].Addr())
	if err == nil {
		resp.Body.Close()
	}
}

// RenderKube shows what the Kubernetes runtime applies for a lease.
func ExampleRenderKube() {
	l, _ := runtime.NewLeaseRef("deai1tenant/42/1/1/deai1provider")
	objs, err := runtime.RenderKube(l, exampleGroup("nginx:1.27"), runtime.KubeRenderOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range objs {
		fmt.Println(o.GetObjectKind().GroupVersionKind().Kind)
	}
	y, _ := runtime.EncodeKubeYAML(objs[len(objs)-1:])
	os.Stdout.Write(y[:len("apiVersion: apps/v1\nkind: Deployment\n")])
	// Output:
	// Namespace
	// NetworkPolicy
	// NetworkPolicy
	// NetworkPolicy
	// NetworkPolicy
	// NetworkPolicy
	// Service
	// Service
	// Deployment
	// apiVersion: apps/v1
	// kind: Deployment
}

// With a kubeconfig, the Kubernetes runtime applies and manages leases.
func ExampleNewKube() {
	ctx := context.Background()
	cs, err := runtime.KubeClient(os.Getenv("KUBECONFIG"))
	if err != nil {
		log.Fatal(err)
	}
	rt, err := runtime.NewKube(runtime.KubeOptions{Client: cs, KubeRenderOptions: runtime.KubeRenderOptions{PublicHost: "provider.example.com"}})
	if err != nil {
		log.Fatal(err)
	}
	l, _ := runtime.NewLeaseRef("deai1tenant/42/1/1/deai1provider")
	if _, err := rt.Deploy(ctx, l, exampleGroup("nginx:1.27")); err != nil {
		log.Fatal(err)
	}
}
