package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	dlog "github.com/deai-network/deai/internal/log"
	"github.com/deai-network/deai/internal/market/manifest"
)

// DefaultFieldManager is the server-side apply field manager of the
// Kubernetes runtime.
const DefaultFieldManager = "deai-provider"

// KubeOptions configures a Kubernetes runtime.
type KubeOptions struct {
	KubeRenderOptions
	// Client talks to the cluster (KubeClient builds one from a
	// kubeconfig). Required.
	Client kubernetes.Interface
	// FieldManager names the runtime in server-side apply. Default
	// "deai-provider".
	FieldManager string
	// SampleInterval is how often Run samples usage. Default 15s.
	SampleInterval time.Duration
	Logger         *slog.Logger
	Now            func() time.Time
}

// KubeClient builds a clientset from a kubeconfig file; an empty path means
// in-cluster configuration.
func KubeClient(kubeconfig string) (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %q: %w", kubeconfig, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return cs, nil
}

// Kube runs leases on a Kubernetes cluster (1.34+ for GPU services, which
// use DRA resource.k8s.io/v1): one namespace per lease holding what
// RenderKube produces, applied with server-side apply; objects of services
// no longer in the group are deleted. Close deletes the namespace.
//
// Enforced by Kubernetes: CPU, memory (+ ram volumes) and ephemeral
// storage limits (requests = limits, no overcommit), GPUs through DRA
// claims, network policies (need a CNI that enforces them), no privilege
// escalation. Status reads Deployments/StatefulSets, pods (restarts, the
// latest waiting or termination reason) and NodePort services (endpoints
// at PublicHost, else a node's external, else internal address).
//
// Usage is allocation-based (no metrics API is read): each running pod
// counts its CPU and memory limits and GPU units for the time since it
// started, so it is the lease's reserved share, which with requests =
// limits is what the lease holds. Pods that ended count until the last
// sample before they went; a restarted provider keeps counting running
// pods from their start.
type Kube struct {
	cli   kubernetes.Interface
	opts  KubeOptions
	log   *slog.Logger
	locks leaseLocks

	mu     sync.Mutex // guards meters (the map; each is used under its lease lock)
	meters map[string]*meter
}

var _ Runtime = (*Kube)(nil)

// NewKube returns the Kubernetes runtime; it contacts nothing.
func NewKube(opts KubeOptions) (*Kube, error) {
	if opts.Client == nil {
		return nil, errors.New("kubernetes runtime: no client")
	}
	if opts.FieldManager == "" {
		opts.FieldManager = DefaultFieldManager
	}
	if opts.GPUDeviceClass == "" {
		opts.GPUDeviceClass = DefaultGPUDeviceClass
	}
	setDefault(&opts.SampleInterval, DefaultSampleInterval)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Kube{
		cli:    opts.Client,
		opts:   opts,
		log:    dlog.OrDiscard(opts.Logger).With(dlog.KeyComponent, "runtime.kubernetes"),
		meters: map[string]*meter{},
	}, nil
}

// Name is "kubernetes".
func (k *Kube) Name() string { return "kubernetes" }

// Render is RenderKube with this runtime's options.
func (k *Kube) Render(l LeaseRef, g manifest.Group) ([]kruntime.Object, error) {
	return RenderKube(l, g, k.opts.KubeRenderOptions)
}

func leaseSelector(l LeaseRef) string {
	return KubeLabelManagedBy + "=" + KubeManagedBy + "," + KubeLabelLease + "=" + l.Name
}

// Deploy applies the rendered objects and deletes the lease's objects that
// are no longer rendered.
func (k *Kube) Deploy(ctx context.Context, l LeaseRef, g manifest.Group) (Status, error) {
	objs, err := k.Render(l, g)
	if err != nil {
		return Status{}, err
	}
	unlock := k.locks.lock(l.ID)
	defer unlock()
	want := map[string]bool{}
	for _, o := range objs {
		if err := k.apply(ctx, o); err != nil {
			return Status{}, fmt.Errorf("deploy lease %s: %w", l.ID, err)
		}
		want[kindName(o)] = true
	}
	if err := k.prune(ctx, l, want); err != nil {
		return Status{}, fmt.Errorf("deploy lease %s: %w", l.ID, err)
	}
	k.log.Info("deployed", "lease", l.ID, "objects", len(objs))
	st, err := k.status(ctx, l)
	if err != nil {
		return Status{}, fmt.Errorf("deploy lease %s: %w", l.ID, err)
	}
	return st, nil
}

func kindName(o kruntime.Object) string {
	return fmt.Sprintf("%T/%s", o, o.(metav1.Object).GetName())
}

// apply server-side-applies o. Objects whose spec Kubernetes keeps
// immutable (ResourceClaimTemplate, a StatefulSet's claim templates) are
// deleted and created anew when the apply is refused as invalid.
func (k *Kube) apply(ctx context.Context, o kruntime.Object) error {
	m, err := kubeObjectMap(o)
	if err != nil {
		return err
	}
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s: %w", kindName(o), err)
	}
	meta := o.(metav1.Object)
	name, ns := meta.GetName(), meta.GetNamespace()
	po := metav1.PatchOptions{FieldManager: k.opts.FieldManager, Force: ptr(true)}
	patch := func() error {
		var err error
		switch o.(type) {
		case *corev1.Namespace:
			_, err = k.cli.CoreV1().Namespaces().Patch(ctx, name, types.ApplyPatchType, data, po)
		case *corev1.Service:
			_, err = k.cli.CoreV1().Services(ns).Patch(ctx, name, types.ApplyPatchType, data, po)
		case *networkingv1.NetworkPolicy:
			_, err = k.cli.NetworkingV1().NetworkPolicies(ns).Patch(ctx, name, types.ApplyPatchType, data, po)
		case *resourcev1.ResourceClaimTemplate:
			_, err = k.cli.ResourceV1().ResourceClaimTemplates(ns).Patch(ctx, name, types.ApplyPatchType, data, po)
		case *appsv1.Deployment:
			_, err = k.cli.AppsV1().Deployments(ns).Patch(ctx, name, types.ApplyPatchType, data, po)
		case *appsv1.StatefulSet:
			_, err = k.cli.AppsV1().StatefulSets(ns).Patch(ctx, name, types.ApplyPatchType, data, po)
		default:
			return fmt.Errorf("apply %T: unsupported kind", o)
		}
		return err
	}
	err = patch()
	if apierrors.IsInvalid(err) {
		switch o.(type) {
		case *resourcev1.ResourceClaimTemplate, *appsv1.StatefulSet:
			k.log.Info("replacing immutable object", "object", kindName(o), dlog.KeyErr, err)
			if derr := k.delete(ctx, o, ns, name); derr != nil {
				return derr
			}
			err = patch()
		}
	}
	if err != nil {
		return fmt.Errorf("apply %s %s/%s: %w", o.GetObjectKind().GroupVersionKind().Kind, ns, name, err)
	}
	return nil
}

func (k *Kube) delete(ctx context.Context, o kruntime.Object, ns, name string) error {
	bg := metav1.DeletePropagationBackground
	do := metav1.DeleteOptions{PropagationPolicy: &bg}
	var err error
	switch o.(type) {
	case *corev1.Service:
		err = k.cli.CoreV1().Services(ns).Delete(ctx, name, do)
	case *networkingv1.NetworkPolicy:
		err = k.cli.NetworkingV1().NetworkPolicies(ns).Delete(ctx, name, do)
	case *resourcev1.ResourceClaimTemplate:
		err = k.cli.ResourceV1().ResourceClaimTemplates(ns).Delete(ctx, name, do)
	case *appsv1.Deployment:
		err = k.cli.AppsV1().Deployments(ns).Delete(ctx, name, do)
	case *appsv1.StatefulSet:
		err = k.cli.AppsV1().StatefulSets(ns).Delete(ctx, name, do)
	default:
		return fmt.Errorf("delete %T: unsupported kind", o)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %s %s/%s: %w", fmt.Sprintf("%T", o), ns, name, err)
	}
	return nil
}

// prune deletes the lease's objects that are not in want (kindName keys).
func (k *Kube) prune(ctx context.Context, l LeaseRef, want map[string]bool) error {
	ns := KubeNamespace(l)
	lo := metav1.ListOptions{LabelSelector: leaseSelector(l)}
	var have []kruntime.Object
	if list, err := k.cli.CoreV1().Services(ns).List(ctx, lo); err != nil {
		return fmt.Errorf("list services: %w", err)
	} else {
		for i := range list.Items {
			have = append(have, &list.Items[i])
		}
	}
	if list, err := k.cli.NetworkingV1().NetworkPolicies(ns).List(ctx, lo); err != nil {
		return fmt.Errorf("list network policies: %w", err)
	} else {
		for i := range list.Items {
			have = append(have, &list.Items[i])
		}
	}
	if list, err := k.cli.ResourceV1().ResourceClaimTemplates(ns).List(ctx, lo); err != nil {
		return fmt.Errorf("list resource claim templates: %w", err)
	} else {
		for i := range list.Items {
			have = append(have, &list.Items[i])
		}
	}
	if list, err := k.cli.AppsV1().Deployments(ns).List(ctx, lo); err != nil {
		return fmt.Errorf("list deployments: %w", err)
	} else {
		for i := range list.Items {
			have = append(have, &list.Items[i])
		}
	}
	if list, err := k.cli.AppsV1().StatefulSets(ns).List(ctx, lo); err != nil {
		return fmt.Errorf("list statefulsets: %w", err)
	} else {
		for i := range list.Items {
			have = append(have, &list.Items[i])
		}
	}
	for _, o := range have {
		if want[kindName(o)] {
			continue
		}
		name := o.(metav1.Object).GetName()
		if err := k.delete(ctx, o, ns, name); err != nil {
			return err
		}
		k.log.Info("deleted", "lease", l.ID, "object", kindName(o))
	}
	return nil
}

// Status reads the lease's workloads, pods and NodePort services.
func (k *Kube) Status(ctx context.Context, l LeaseRef) (Status, error) {
	st, err := k.status(ctx, l)
	if err != nil {
		return Status{}, fmt.Errorf("status of lease %s: %w", l.ID, err)
	}
	return st, nil
}

func (k *Kube) status(ctx context.Context, l LeaseRef) (Status, error) {
	ns := KubeNamespace(l)
	if _, err := k.cli.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return Status{}, ErrNotFound
	} else if err != nil {
		return Status{}, fmt.Errorf("get namespace %s: %w", ns, err)
	}
	lo := metav1.ListOptions{LabelSelector: leaseSelector(l)}
	svcs := map[string]*ServiceStatus{}
	get := func(name string) *ServiceStatus {
		if svcs[name] == nil {
			svcs[name] = &ServiceStatus{Name: name}
		}
		return svcs[name]
	}
	deps, err := k.cli.AppsV1().Deployments(ns).List(ctx, lo)
	if err != nil {
		return Status{}, fmt.Errorf("list deployments: %w", err)
	}
	for _, d := range deps.Items {
		ss := get(d.Labels[KubeLabelService])
		if d.Spec.Replicas != nil {
			ss.Replicas = int(*d.Spec.Replicas)
		}
		ss.Ready = int(d.Status.ReadyReplicas)
		for _, c := range d.Status.Conditions {
			if c.Status == corev1.ConditionFalse && c.Message != "" {
				ss.LastError = c.Message
			}
		}
	}
	sts, err := k.cli.AppsV1().StatefulSets(ns).List(ctx, lo)
	if err != nil {
		return Status{}, fmt.Errorf("list statefulsets: %w", err)
	}
	for _, s := range sts.Items {
		ss := get(s.Labels[KubeLabelService])
		if s.Spec.Replicas != nil {
			ss.Replicas = int(*s.Spec.Replicas)
		}
		ss.Ready = int(s.Status.ReadyReplicas)
	}
	pods, err := k.cli.CoreV1().Pods(ns).List(ctx, lo)
	if err != nil {
		return Status{}, fmt.Errorf("list pods: %w", err)
	}
	for _, p := range pods.Items {
		ss := get(p.Labels[KubeLabelService])
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			ss.Running++
		}
		if e := podError(p); e != "" {
			ss.LastError = e
		}
		for _, cs := range p.Status.ContainerStatuses {
			ss.Restarts += int(cs.RestartCount)
		}
	}
	services, err := k.cli.CoreV1().Services(ns).List(ctx, lo)
	if err != nil {
		return Status{}, fmt.Errorf("list services: %w", err)
	}
	var host string
	hostLooked := false
	for _, s := range services.Items {
		if s.Spec.Type != corev1.ServiceTypeNodePort {
			continue
		}
		if !hostLooked {
			if host, err = k.publicHost(ctx); err != nil {
				return Status{}, err
			}
			hostLooked = true
		}
		ss := get(s.Labels[KubeLabelService])
		for _, p := range s.Spec.Ports {
			if p.NodePort == 0 {
				continue
			}
			ss.Endpoints = append(ss.Endpoints, Endpoint{
				Port: uint16(p.TargetPort.IntValue()), ExternalPort: uint16(p.Port), Proto: string(p.Protocol),
				Host: host, HostPort: uint16(p.NodePort), Replica: -1,
			})
		}
	}
	st := Status{Lease: l}
	for _, ss := range svcs {
		st.Services = append(st.Services, *ss)
	}
	sort.Slice(st.Services, func(i, j int) bool { return st.Services[i].Name < st.Services[j].Name })
	return st, nil
}

// podError is the most telling problem of a pod: a container waiting
// (CrashLoopBackOff, ErrImagePull), its last termination, or the pod not
// being scheduled.
func podError(p corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" {
			msg := w.Reason
			if w.Message != "" {
				msg += ": " + w.Message
			}
			if t := cs.LastTerminationState.Terminated; t != nil {
				msg += fmt.Sprintf(" (last exit: %s, code %d)", t.Reason, t.ExitCode)
			}
			return msg
		}
		if t := cs.LastTerminationState.Terminated; t != nil {
			return fmt.Sprintf("restarted after %s, exit code %d", t.Reason, t.ExitCode)
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return "not scheduled: " + c.Reason + ": " + c.Message
		}
	}
	return ""
}

// publicHost is PublicHost, else the first node's external address, else
// its internal one, else "" (endpoints then carry the port only).
func (k *Kube) publicHost(ctx context.Context) (string, error) {
	if k.opts.PublicHost != "" {
		return k.opts.PublicHost, nil
	}
	nodes, err := k.cli.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("list nodes: %w", err)
	}
	for _, want := range []corev1.NodeAddressType{corev1.NodeExternalIP, corev1.NodeExternalDNS, corev1.NodeInternalIP} {
		for _, n := range nodes.Items {
			for _, a := range n.Status.Addresses {
				if a.Type == want {
					return a.Address, nil
				}
			}
		}
	}
	k.log.Warn("no public host for endpoints: set PublicHost or give the nodes addresses")
	return "", nil
}

// Logs streams the lease's pods' container logs, prefixed "[<pod>] ".
func (k *Kube) Logs(ctx context.Context, l LeaseRef, opts LogOptions) (io.ReadCloser, error) {
	ns := KubeNamespace(l)
	pods, err := k.cli.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: leaseSelector(l)})
	if err != nil {
		return nil, fmt.Errorf("logs of lease %s: list pods: %w", l.ID, err)
	}
	if len(pods.Items) == 0 {
		if _, err := k.cli.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("logs of lease %s: %w", l.ID, ErrNotFound)
		}
	}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
	lctx, cancel := context.WithCancel(ctx)
	var streams []logStream
	var closers []io.Closer
	for _, p := range pods.Items {
		svc := p.Labels[KubeLabelService]
		if !opts.wants(svc) {
			continue
		}
		po := &corev1.PodLogOptions{Container: svc, Follow: opts.Follow}
		if opts.Tail > 0 {
			po.TailLines = ptr(int64(opts.Tail))
		}
		if !opts.Since.IsZero() {
			po.SinceTime = &metav1.Time{Time: opts.Since}
		}
		rc, err := k.cli.CoreV1().Pods(ns).GetLogs(p.Name, po).Stream(lctx)
		if err != nil {
			cancel()
			for _, c := range closers {
				c.Close()
			}
			return nil, fmt.Errorf("logs of lease %s: pod %s: %w", l.ID, p.Name, err)
		}
		closers = append(closers, rc)
		streams = append(streams, logStream{prefix: "[" + p.Name + "] ", r: rc})
	}
	return mergeLogs(lctx, cancel, streams, closers), nil
}

// Usage counts the allocation of the lease's running pods (see Kube).
func (k *Kube) Usage(ctx context.Context, l LeaseRef) (Usage, error) {
	ns := KubeNamespace(l)
	nsObj, err := k.cli.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Usage{}, fmt.Errorf("usage of lease %s: %w", l.ID, ErrNotFound)
	}
	if err != nil {
		return Usage{}, fmt.Errorf("usage of lease %s: %w", l.ID, err)
	}
	pods, err := k.cli.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: leaseSelector(l)})
	if err != nil {
		return Usage{}, fmt.Errorf("usage of lease %s: list pods: %w", l.ID, err)
	}
	unlock := k.locks.lock(l.ID)
	defer unlock()
	now := k.opts.Now()
	var samples []usageSample
	for _, p := range pods.Items {
		if p.Status.StartTime == nil || p.Status.Phase != corev1.PodRunning {
			continue
		}
		secs := uint64(max(0, now.Sub(p.Status.StartTime.Time)/time.Second))
		var cpuMilli, memMiB uint64
		for _, c := range p.Spec.Containers {
			cpuMilli += uint64(c.Resources.Limits.Cpu().MilliValue())
			memMiB += uint64(c.Resources.Limits.Memory().Value()) >> 20
		}
		gpus, _ := strconv.ParseUint(p.Annotations[kubeAnnotationGPUs], 10, 32)
		samples = append(samples, usageSample{
			Key:              string(p.UID),
			CPUMilliSeconds:  cpuMilli * secs,
			MemoryMiBSeconds: memMiB * secs,
			GPUSeconds:       gpus * secs,
		})
	}
	k.mu.Lock()
	m := k.meters[l.ID]
	if m == nil {
		m = newMeter(nsObj.CreationTimestamp.Time)
		k.meters[l.ID] = m
	}
	k.mu.Unlock()
	m.add(now, samples)
	return m.usage(), nil
}

// Close deletes the lease's namespace (and with it everything in it).
func (k *Kube) Close(ctx context.Context, l LeaseRef) error {
	unlock := k.locks.lock(l.ID)
	defer unlock()
	fg := metav1.DeletePropagationForeground
	err := k.cli.CoreV1().Namespaces().Delete(ctx, KubeNamespace(l), metav1.DeleteOptions{PropagationPolicy: &fg})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("close lease %s: delete namespace: %w", l.ID, err)
	}
	k.mu.Lock()
	delete(k.meters, l.ID)
	k.mu.Unlock()
	if err == nil {
		k.log.Info("closed", "lease", l.ID)
	}
	return nil
}

// List returns the leases whose namespaces exist and are not being
// deleted.
func (k *Kube) List(ctx context.Context) ([]LeaseRef, error) {
	nss, err := k.cli.CoreV1().Namespaces().List(ctx, metav1.ListOptions{
		LabelSelector: KubeLabelManagedBy + "=" + KubeManagedBy + "," + KubeLabelDeai + "=true",
	})
	if err != nil {
		return nil, fmt.Errorf("list leases: %w", err)
	}
	ids := map[string]bool{}
	for _, n := range nss.Items {
		if n.DeletionTimestamp != nil {
			continue
		}
		if id := n.Annotations[KubeAnnotationLease]; id != "" && strings.HasPrefix(n.Name, "deai-") {
			ids[id] = true
		}
	}
	return leaseRefs(ids, k.log), nil
}

// Run samples every lease's usage each SampleInterval until ctx ends.
func (k *Kube) Run(ctx context.Context) error {
	t := time.NewTicker(k.opts.SampleInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		leases, err := k.List(ctx)
		if err != nil {
			k.log.Warn("sample usage", dlog.KeyErr, err)
			continue
		}
		for _, l := range leases {
			if _, err := k.Usage(ctx, l); err != nil && ctx.Err() == nil && !errors.Is(err, ErrNotFound) {
				k.log.Warn("sample usage", "lease", l.ID, dlog.KeyErr, err)
			}
		}
	}
}
