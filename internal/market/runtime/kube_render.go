package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market/manifest"
)

// Kubernetes labels and annotations.
const (
	KubeLabelManagedBy   = "app.kubernetes.io/managed-by"
	KubeManagedBy        = "deai"
	KubeLabelDeai        = "deai.network"
	KubeLabelLease       = "deai.network/lease"
	KubeLabelService     = "deai.network/service"
	KubeAnnotationLease  = "deai.network/lease.id"
	kubeAnnotationGPUs   = "deai.network/gpu-units"
	kubeLabelLeasePrefix = "deai.network/lease."
)

// DefaultGPUDeviceClass is the NVIDIA DRA driver's stock DeviceClass.
const DefaultGPUDeviceClass = "gpu.nvidia.com"

const (
	nvidiaDriver   = "gpu.nvidia.com"
	gpuClaimName   = "gpu"
	gpuRequestName = "gpu"
)

// KubeRenderOptions tune how a group becomes Kubernetes objects.
type KubeRenderOptions struct {
	// PublicHost goes into DEAI_CLUSTER_PUBLIC_HOSTNAME; may be empty.
	PublicHost string
	// GPUDeviceClass is the DeviceClass of NVIDIA GPU requests. Default
	// "gpu.nvidia.com".
	GPUDeviceClass string
	// StorageClasses maps the SDL persistent classes (beta1, beta2, beta3)
	// to StorageClass names; a class not listed keeps its SDL name.
	StorageClasses map[string]string
	// RuntimeClassName, when set, goes on GPU pods (e.g. "nvidia").
	RuntimeClassName string
}

// KubeNamespace is the namespace of a lease: "deai-" + its short name.
func KubeNamespace(l LeaseRef) string { return "deai-" + l.Name }

// RenderKube turns one group of a lease into Kubernetes objects, in the
// order they should be applied: a Namespace, NetworkPolicies (default deny,
// intra-namespace and DNS allowed, internet egress except private and
// link-local ranges, ingress to global ports), then per service a
// ResourceClaimTemplate (resource.k8s.io/v1, Kubernetes 1.34+) when it asks
// for GPUs, a ClusterIP Service for all its ports (port = container port, as
// in the Docker runtime, so manifests address services alike everywhere), a
// NodePort Service "<name>-np" for its global ports, and a Deployment, or a
// StatefulSet when it has persistent volumes.
//
// GPUs: one request "gpu" of Units devices; one attribute becomes
// `exactly`, several become `firstAvailable` alternatives in order, each
// with CEL selectors on productName (model, and "pcie" for interface pcie)
// and on memory capacity (at least 95% of the named RAM: drivers report
// slightly less than the marketed size). Sharing adds the NVIDIA driver's
// opaque GpuConfig (TimeSlicing or MPS) for the request; it needs the
// driver's TimeSlicingSettings or MPSSupport feature gate. Only NVIDIA GPUs
// are mapped.
func RenderKube(l LeaseRef, g manifest.Group, opts KubeRenderOptions) ([]kruntime.Object, error) {
	if err := ValidateGroup(g); err != nil {
		return nil, fmt.Errorf("render lease %s: %w", l.ID, err)
	}
	if opts.GPUDeviceClass == "" {
		opts.GPUDeviceClass = DefaultGPUDeviceClass
	}
	ns := KubeNamespace(l)
	objs := []kruntime.Object{renderNamespace(l, ns)}
	objs = append(objs, renderNetworkPolicies(l, ns, g)...)
	for _, s := range g.Services {
		var claim *resourcev1.ResourceClaimTemplate
		if s.Resources.GPU.Units > 0 {
			var err error
			claim, err = renderClaimTemplate(l, ns, s, opts)
			if err != nil {
				return nil, fmt.Errorf("render lease %s: %w", l.ID, err)
			}
			objs = append(objs, claim)
		}
		objs = append(objs, renderServices(l, ns, s)...)
		w, err := renderWorkload(l, ns, s, claim, opts)
		if err != nil {
			return nil, fmt.Errorf("render lease %s: %w", l.ID, err)
		}
		objs = append(objs, w)
	}
	return objs, nil
}

func kubeLabels(l LeaseRef, service string) map[string]string {
	m := map[string]string{KubeLabelManagedBy: KubeManagedBy, KubeLabelDeai: "true", KubeLabelLease: l.Name}
	if service != "" {
		m[KubeLabelService] = service
	}
	return m
}

func kubeSelector(l LeaseRef, service string) map[string]string {
	return map[string]string{KubeLabelLease: l.Name, KubeLabelService: service}
}

func objectMeta(l LeaseRef, ns, name, service string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: kubeLabels(l, service)}
}

var labelValueRE = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)

func renderNamespace(l LeaseRef, ns string) *corev1.Namespace {
	labels := kubeLabels(l, "")
	for k, v := range map[string]string{
		"owner": l.Owner, "dseq": strconv.FormatUint(l.DSeq, 10), "gseq": strconv.FormatUint(uint64(l.GSeq), 10),
		"oseq": strconv.FormatUint(uint64(l.OSeq), 10), "provider": l.Provider,
	} {
		if len(v) <= 63 && labelValueRE.MatchString(v) { // the annotation has the whole ID anyway
			labels[kubeLabelLeasePrefix+k] = v
		}
	}
	return &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels, Annotations: map[string]string{KubeAnnotationLease: l.ID}},
	}
}

// privateRanges are kept from the lease's egress: the cluster's and the
// provider's networks, carrier-grade NAT and link-local (cloud metadata).
var privateRanges = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"}

func renderNetworkPolicies(l LeaseRef, ns string, g manifest.Group) []kruntime.Object {
	np := func(name string, spec networkingv1.NetworkPolicySpec) *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
			ObjectMeta: objectMeta(l, ns, name, ""),
			Spec:       spec,
		}
	}
	both := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	dns := intstr.FromInt32(53)
	objs := []kruntime.Object{
		np("deai-default-deny", networkingv1.NetworkPolicySpec{PolicyTypes: both}),
		np("deai-allow-namespace", networkingv1.NetworkPolicySpec{
			PolicyTypes: both,
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}},
		}),
		np("deai-allow-dns", networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}},
					PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
				}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dns}, {Protocol: &tcp, Port: &dns}},
			}},
		}),
		np("deai-allow-internet", networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: slices.Clone(privateRanges)}}},
			}},
		}),
	}
	for _, s := range g.Services {
		var ports []networkingv1.NetworkPolicyPort
		for _, x := range s.Expose {
			if x.Global {
				p := intstr.FromInt32(int32(x.Port))
				proto := corev1.Protocol(protoOf(x))
				ports = append(ports, networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &p})
			}
		}
		if len(ports) == 0 {
			continue
		}
		objs = append(objs, np("deai-global-"+s.Name, networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: kubeSelector(l, s.Name)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: ports}}, // from anywhere
		}))
	}
	return objs
}

func portName(x manifest.Expose) string {
	return fmt.Sprintf("p%d-%s", x.Port, strings.ToLower(protoOf(x)))
}

func renderServices(l LeaseRef, ns string, s manifest.Service) []kruntime.Object {
	if len(s.Expose) == 0 {
		return nil
	}
	svc := func(name string, typ corev1.ServiceType) *corev1.Service {
		return &corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: objectMeta(l, ns, name, s.Name),
			Spec:       corev1.ServiceSpec{Type: typ, Selector: kubeSelector(l, s.Name)},
		}
	}
	internal := svc(s.Name, corev1.ServiceTypeClusterIP)
	global := svc(s.Name+"-np", corev1.ServiceTypeNodePort)
	for _, x := range s.Expose {
		internal.Spec.Ports = append(internal.Spec.Ports, corev1.ServicePort{
			Name: portName(x), Protocol: corev1.Protocol(protoOf(x)), Port: int32(x.Port), TargetPort: intstr.FromInt32(int32(x.Port)),
		})
		if x.Global {
			global.Spec.Ports = append(global.Spec.Ports, corev1.ServicePort{
				Name: portName(x), Protocol: corev1.Protocol(protoOf(x)), Port: int32(externalPort(x)), TargetPort: intstr.FromInt32(int32(x.Port)),
			})
		}
	}
	if len(global.Spec.Ports) == 0 {
		return []kruntime.Object{internal}
	}
	return []kruntime.Object{internal, global}
}

var celLiteralRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._+-]*$`)

// gpuSubRequest renders one GPU alternative.
func gpuSubRequest(attr string, units uint32, class string) (resourcev1.DeviceSubRequest, error) {
	a, err := lmarket.ParseGPUAttr(attr)
	if err != nil {
		return resourcev1.DeviceSubRequest{}, err
	}
	if a.Vendor != "nvidia" {
		return resourcev1.DeviceSubRequest{}, fmt.Errorf("%w: gpu %q: the kubernetes runtime maps only nvidia gpus", ErrInvalid, attr)
	}
	dom := "device.attributes['" + nvidiaDriver + "']"
	conds := []string{"device.driver == '" + nvidiaDriver + "'"}
	name := "any"
	if a.Model != "*" {
		m := strings.ToLower(a.Model)
		if !celLiteralRE.MatchString(m) {
			return resourcev1.DeviceSubRequest{}, fmt.Errorf("%w: gpu %q: model %q: want letters, digits, '.', '_', '+' or '-'", ErrInvalid, attr, a.Model)
		}
		conds = append(conds, dom+".productName.lowerAscii().replace(' ', '').contains('"+m+"')")
		name = m
	}
	if a.RAM != "" {
		q, err := resource.ParseQuantity(a.RAM)
		if err != nil || q.Sign() <= 0 {
			return resourcev1.DeviceSubRequest{}, fmt.Errorf("%w: gpu %q: ram %q is not a quantity such as 80Gi", ErrInvalid, attr, a.RAM)
		}
		floor := (q.Value() >> 20) * 95 / 100
		conds = append(conds, fmt.Sprintf("device.capacity['%s'].memory.compareTo(quantity('%dMi')) >= 0", nvidiaDriver, floor))
		name += "-" + strings.ToLower(a.RAM)
	}
	switch a.Interface {
	case "pcie":
		conds = append(conds, dom+".productName.lowerAscii().contains('pcie')")
	case "sxm":
		conds = append(conds, "!"+dom+".productName.lowerAscii().contains('pcie')")
	}
	if a.Interface != "" {
		name += "-" + a.Interface
	}
	sr := resourcev1.DeviceSubRequest{
		Name:            name,
		DeviceClassName: class,
		AllocationMode:  resourcev1.DeviceAllocationModeExactCount,
		Count:           int64(units),
	}
	if len(conds) > 1 {
		sr.Selectors = []resourcev1.DeviceSelector{{CEL: &resourcev1.CELDeviceSelector{Expression: strings.Join(conds, " &&\n")}}}
	}
	return sr, nil
}

// gpuConfig is the NVIDIA DRA driver's GpuConfig (resource.nvidia.com/v1beta1).
type gpuConfig struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Sharing    struct {
		Strategy          string `json:"strategy"`
		TimeSlicingConfig *struct {
			Interval string `json:"interval"`
		} `json:"timeSlicingConfig,omitempty"`
	} `json:"sharing"`
}

var subRequestNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

func renderClaimTemplate(l LeaseRef, ns string, s manifest.Service, opts KubeRenderOptions) (*resourcev1.ResourceClaimTemplate, error) {
	gpu := s.Resources.GPU
	var subs []resourcev1.DeviceSubRequest
	seen := map[string]bool{}
	for i, a := range gpu.Attributes {
		sr, err := gpuSubRequest(a, gpu.Units, opts.GPUDeviceClass)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", s.Name, err)
		}
		sr.Name = strings.NewReplacer(".", "-", "_", "-", "+", "-").Replace(sr.Name)
		if !subRequestNameRE.MatchString(sr.Name) || seen[sr.Name] {
			sr.Name = fmt.Sprintf("alt%d", i)
		}
		seen[sr.Name] = true
		subs = append(subs, sr)
	}
	req := resourcev1.DeviceRequest{Name: gpuRequestName}
	switch {
	case len(subs) == 1:
		sr := subs[0]
		req.Exactly = &resourcev1.ExactDeviceRequest{
			DeviceClassName: sr.DeviceClassName, Selectors: sr.Selectors, AllocationMode: sr.AllocationMode, Count: sr.Count,
		}
	case len(subs) <= resourcev1.FirstAvailableDeviceRequestMaxSize:
		req.FirstAvailable = subs
	default:
		return nil, fmt.Errorf("%w: service %s: %d gpu alternatives: kubernetes takes at most %d", ErrInvalid, s.Name, len(subs), resourcev1.FirstAvailableDeviceRequestMaxSize)
	}
	claim := resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{req}}
	if gpu.Sharing != lmarket.SharingExclusive {
		var gc gpuConfig
		gc.APIVersion, gc.Kind = "resource.nvidia.com/v1beta1", "GpuConfig"
		switch gpu.Sharing {
		case lmarket.SharingTimeSlicing:
			gc.Sharing.Strategy = "TimeSlicing"
			gc.Sharing.TimeSlicingConfig = &struct {
				Interval string `json:"interval"`
			}{"Default"}
		case lmarket.SharingMPS:
			gc.Sharing.Strategy = "MPS"
		default:
			return nil, fmt.Errorf("%w: service %s: gpu sharing %q", ErrInvalid, s.Name, gpu.Sharing)
		}
		raw, err := json.Marshal(gc)
		if err != nil {
			return nil, fmt.Errorf("service %s: gpu config: %w", s.Name, err)
		}
		claim.Config = []resourcev1.DeviceClaimConfiguration{{
			Requests:            []string{gpuRequestName},
			DeviceConfiguration: resourcev1.DeviceConfiguration{Opaque: &resourcev1.OpaqueDeviceConfiguration{Driver: nvidiaDriver, Parameters: kruntime.RawExtension{Raw: raw}}},
		}}
	}
	return &resourcev1.ResourceClaimTemplate{
		TypeMeta:   metav1.TypeMeta{APIVersion: "resource.k8s.io/v1", Kind: "ResourceClaimTemplate"},
		ObjectMeta: objectMeta(l, ns, s.Name+"-gpu", s.Name),
		Spec: resourcev1.ResourceClaimTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: kubeLabels(l, s.Name)},
			Spec:       resourcev1.ResourceClaimSpec{Devices: claim},
		},
	}, nil
}

func renderWorkload(l LeaseRef, ns string, s manifest.Service, claim *resourcev1.ResourceClaimTemplate, opts KubeRenderOptions) (kruntime.Object, error) {
	limits := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(int64(s.Resources.CPUMilli), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(int64(s.Resources.MemoryBytes+ramBytes(s)), resource.BinarySI),
	}
	if eph := ephemeralBytes(s); eph > 0 {
		limits[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(int64(eph), resource.BinarySI)
	}
	c := corev1.Container{
		Name:            s.Name,
		Image:           s.Image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         slices.Clone(s.Command),
		Args:            slices.Clone(s.Args),
		Resources:       corev1.ResourceRequirements{Limits: limits, Requests: limits.DeepCopy()},
		SecurityContext: &corev1.SecurityContext{
			Privileged:               ptr(false),
			AllowPrivilegeEscalation: ptr(false),
			Capabilities:             &corev1.Capabilities{Drop: capabilities(DefaultCapDrop)},
		},
	}
	for _, e := range serviceEnv(s, l, opts.PublicHost) {
		k, v, _ := strings.Cut(e, "=")
		c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: v})
	}
	for _, x := range s.Expose {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: portName(x), ContainerPort: int32(x.Port), Protocol: corev1.Protocol(protoOf(x))})
	}
	pod := corev1.PodSpec{
		AutomountServiceAccountToken: ptr(false),
		EnableServiceLinks:           ptr(false),
		SecurityContext:              &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
	}
	var claims []corev1.PersistentVolumeClaim
	for _, v := range s.Resources.Storage {
		mount := mountOf(s, v.Name)
		if mount == "" {
			continue
		}
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: v.Name, MountPath: mount, ReadOnly: readOnlyOf(s, v.Name)})
		size := resource.NewQuantity(int64(v.SizeBytes), resource.BinarySI)
		switch {
		case v.Persistent:
			class := v.Class
			if sc, ok := opts.StorageClasses[v.Class]; ok {
				class = sc
			}
			claims = append(claims, corev1.PersistentVolumeClaim{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
				ObjectMeta: metav1.ObjectMeta{Name: v.Name, Labels: kubeLabels(l, s.Name)},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName: &class,
					Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: *size}},
				},
			})
		case v.Class == lmarket.StorageRAM:
			pod.Volumes = append(pod.Volumes, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: size}}})
		default:
			pod.Volumes = append(pod.Volumes, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: size}}})
		}
	}
	tmplMeta := metav1.ObjectMeta{Labels: kubeLabels(l, s.Name)}
	gpuUnits := s.Resources.GPU.Units
	if claim != nil {
		pod.ResourceClaims = []corev1.PodResourceClaim{{Name: gpuClaimName, ResourceClaimTemplateName: ptr(claim.Name)}}
		c.Resources.Claims = []corev1.ResourceClaim{{Name: gpuClaimName}}
		if opts.RuntimeClassName != "" {
			pod.RuntimeClassName = ptr(opts.RuntimeClassName)
		}
		tmplMeta.Annotations = map[string]string{kubeAnnotationGPUs: strconv.Itoa(int(gpuUnits))}
	}
	pod.Containers = []corev1.Container{c}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: tmplMeta, Spec: pod}
	replicas := int32(s.Count)
	sel := &metav1.LabelSelector{MatchLabels: kubeSelector(l, s.Name)}
	if len(claims) > 0 {
		return &appsv1.StatefulSet{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
			ObjectMeta: objectMeta(l, ns, s.Name, s.Name),
			Spec: appsv1.StatefulSetSpec{
				Replicas: &replicas, Selector: sel, Template: tmpl, ServiceName: s.Name,
				VolumeClaimTemplates: claims,
				// Retained on update and scale-down; the namespace's
				// deletion at Close removes them (pain point: storage
				// lost on update).
				PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
					WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
					WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				},
			},
		}, nil
	}
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: objectMeta(l, ns, s.Name, s.Name),
		Spec:       appsv1.DeploymentSpec{Replicas: &replicas, Selector: sel, Template: tmpl, RevisionHistoryLimit: ptr(int32(2))},
	}
	if gpuUnits > 0 {
		// A rolling update would need a second set of GPUs.
		d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	}
	return d, nil
}

func capabilities(names []string) []corev1.Capability {
	out := make([]corev1.Capability, len(names))
	for i, n := range names {
		out[i] = corev1.Capability(n)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// EncodeKubeYAML renders objects as one YAML stream ("---" between
// documents), without the status, empty spec and null creationTimestamp
// fields the Go types carry: what `kubectl apply -f` takes.
func EncodeKubeYAML(objs []kruntime.Object) ([]byte, error) {
	var out bytes.Buffer
	for i, o := range objs {
		m, err := kubeObjectMap(o)
		if err != nil {
			return nil, err
		}
		y, err := yaml.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encode %T: %w", o, err)
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(y)
	}
	return out.Bytes(), nil
}

// kubeObjectMap is o's JSON as a map without status, an empty spec or null
// creationTimestamps (also the form sent with server-side apply).
func kubeObjectMap(o kruntime.Object) (map[string]any, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", o, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("encode %T: %w", o, err)
	}
	delete(m, "status") // never ours to set
	if sp, ok := m["spec"].(map[string]any); ok && len(sp) == 0 {
		delete(m, "spec")
	}
	dropNullTimestamps(m)
	return m, nil
}

func dropNullTimestamps(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "creationTimestamp" && x == nil {
				delete(v, k)
				continue
			}
			dropNullTimestamps(x)
			if k == "resources" || k == "strategy" || k == "updateStrategy" || k == "metadata" || k == "status" {
				if m, ok := v[k].(map[string]any); ok && len(m) == 0 {
					delete(v, k)
				}
			}
		}
	case []any:
		for _, x := range v {
			dropNullTimestamps(x)
		}
	}
}
