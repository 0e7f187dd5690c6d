package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
)

// DRARequest is the GPU request of a Kubernetes DRA ResourceClaimTemplate
// (or ResourceClaim), mapped to the market's GPU requirement.
type DRARequest struct {
	APIVersion string          `json:"api_version"` // resource.k8s.io/v1, v1beta2 or v1beta1
	Kind       string          `json:"kind"`        // ResourceClaimTemplate or ResourceClaim
	Name       string          `json:"name"`
	Namespace  string          `json:"namespace,omitempty"`
	Requests   []DeviceRequest `json:"requests"`
	GPU        lmarket.GPU     `json:"gpu"` // what the order asks for per replica; passes GPU.Validate
	Warnings   []Warning       `json:"warnings,omitempty"`
}

// DeviceRequest is one request of the claim.
type DeviceRequest struct {
	Name string `json:"name"`
	// Alternatives are the devices that satisfy the request, in the
	// claim's order of preference: one for exactly (v1beta1: the request
	// itself), several for firstAvailable.
	Alternatives []DeviceAlternative `json:"alternatives"`
	Sharing      string              `json:"sharing,omitempty"` // from a GpuConfig in config[].opaque
}

// DeviceAlternative is one way to satisfy a request: Count devices of a
// device class that pass all Selectors.
type DeviceAlternative struct {
	Name            string   `json:"name,omitempty"` // sub-request name (firstAvailable)
	DeviceClassName string   `json:"device_class_name"`
	Count           uint32   `json:"count"`
	Selectors       []string `json:"selectors,omitempty"` // CEL: the class's (when in the file), then the request's
	// GPU is what the selectors say in market terms: GPU attribute keys
	// (OR), e.g. vendor/nvidia/model/h100/ram/80Gi.
	GPU []string `json:"gpu"`
}

// DRA group and versions.
const (
	draGroup          = "resource.k8s.io"
	nvidiaGPUDriver   = "gpu.nvidia.com"
	amdGPUDriver      = "gpu.amd.com"
	nvidiaConfigGroup = "resource.nvidia.com/"
)

// v1Advice is the one-line form of the request the market recommends.
const v1Advice = "use apiVersion resource.k8s.io/v1 (Kubernetes 1.34+) with requests: [{name: gpu, exactly: {deviceClassName: gpu.nvidia.com, count: 1}}]"

// ParseDRA reads a multi-document YAML file holding one
// ResourceClaimTemplate (or ResourceClaim) of resource.k8s.io v1, v1beta2
// or v1beta1 and, optionally, the DeviceClasses it names. Objects are
// decoded strictly into the k8s.io/api types, as kubectl apply does with
// strict field validation, with added advice for the common mistakes
// (k8s-dra.md §5). Other kinds (Pods, …) are skipped with a warning.
//
// The claim becomes one GPU requirement: the request's count, the
// alternatives of firstAvailable as OR-ed GPU attributes, models and
// memory read from recognised CEL selectors (see cel.go), sharing from an
// NVIDIA GpuConfig in config[].opaque. Selectors the market cannot
// express are kept verbatim with a warning and leave the model "*".
func ParseDRA(data []byte) (*DRARequest, error) {
	if len(data) > MaxFileSize {
		return nil, &FieldError{Msg: fmt.Sprintf("file is %d bytes: want at most %d", len(data), MaxFileSize)}
	}
	p := &draParser{classes: map[string]*draClass{}}
	var claimDoc *draDoc
	var claim *nClaimSpec
	for i, d := range splitDocs(data) {
		if p.full() {
			break
		}
		d := d
		root, ok := p.parseDoc(&d)
		if !ok {
			continue
		}
		apiVersion, kind := topString(root, "apiVersion"), topString(root, "kind")
		switch kind {
		case "ResourceClaimTemplate", "ResourceClaim", "DeviceClass":
		default:
			what := kind
			if what == "" {
				what = "a document without kind"
			}
			p.warnf(d.start, "", "document %d (%s) skipped: only ResourceClaimTemplate, ResourceClaim and DeviceClass are read", i+1, what)
			continue
		}
		version, ok := p.checkVersion(&d, apiVersion, kind)
		if !ok {
			continue
		}
		if kind == "DeviceClass" {
			p.decodeClass(&d, version)
			continue
		}
		if claimDoc != nil {
			p.errorf(d.start, "", "a second %s: a file describes one claim (the first starts at line %d)", kind, claimDoc.start)
			continue
		}
		claimDoc = &d
		p.req = &DRARequest{APIVersion: apiVersion, Kind: kind}
		claim = p.decodeClaim(&d, version, kind)
	}
	if claimDoc == nil && len(p.errs) == 0 {
		p.errorf(0, "", "no ResourceClaimTemplate or ResourceClaim in the file")
	}
	if len(p.errs) == 0 && claim != nil {
		p.mapClaim(claimDoc, claim)
	}
	p.sortByLine()
	if err := p.err(); err != nil {
		return nil, err
	}
	p.req.Warnings = p.warns
	return p.req, nil
}

type draParser struct {
	problems
	req     *DRARequest
	classes map[string]*draClass
}

type draClass struct {
	name      string
	selectors []string
	config    []nConfig
	line      int
}

func (p *draParser) decodeClass(d *draDoc, version string) {
	var c nDeviceClass
	if !p.strictDecode(d, version, "DeviceClass", &c) {
		return
	}
	name := c.Metadata.Name
	if name == "" {
		p.errorf(lineOfKey(d.root, "metadata"), "metadata.name", "required: the DeviceClass name that requests use as deviceClassName")
		return
	}
	if prev := p.classes[name]; prev != nil {
		p.errorf(lineOfKey(d.root, "metadata"), "metadata.name", "DeviceClass %q is defined twice (first at line %d)", name, prev.line)
		return
	}
	dc := &draClass{name: name, config: c.Spec.Config, line: d.start}
	for _, s := range c.Spec.Selectors {
		if s.CEL != nil {
			dc.selectors = append(dc.selectors, s.CEL.Expression)
		}
	}
	p.classes[name] = dc
}

func (p *draParser) decodeClaim(d *draDoc, version, kind string) *nClaimSpec {
	switch kind {
	case "ResourceClaimTemplate":
		var t nClaimTemplate
		if !p.strictDecode(d, version, kind, &t) {
			return nil
		}
		p.req.Name, p.req.Namespace = t.Metadata.Name, t.Metadata.Namespace
		return &t.Spec.Spec
	default:
		var c nClaim
		if !p.strictDecode(d, version, kind, &c) {
			return nil
		}
		p.req.Name, p.req.Namespace = c.Metadata.Name, c.Metadata.Namespace
		return &c.Spec
	}
}

// mapClaim turns the decoded claim into the market's GPU requirement.
func (p *draParser) mapClaim(d *draDoc, c *nClaimSpec) {
	base := "spec"
	if p.req.Kind == "ResourceClaimTemplate" {
		base = "spec.spec"
	}
	devs := base + ".devices"
	if p.req.Name == "" {
		p.errorf(lineOfKey(d.root, "metadata"), "metadata.name", "required")
	}
	reqs := c.Devices.Requests
	switch {
	case len(reqs) == 0:
		p.errorf(lineOf(d.root, join(devs, "requests")), join(devs, "requests"), "want one request: [{name: gpu, exactly: {deviceClassName: gpu.nvidia.com, count: 1}}]")
		return
	case len(reqs) > 1:
		p.errorf(lineOf(d.root, join(devs, "requests")), join(devs, "requests"),
			"%d requests: a deai order has one GPU requirement per replica; ask for several devices with count, or list alternatives in one request's firstAvailable", len(reqs))
		return
	}
	if len(c.Devices.Constraints) > 0 {
		p.warnf(lineOf(d.root, join(devs, "constraints")), join(devs, "constraints"), "not part of a deai order, ignored (the provider places the devices)")
	}
	r := reqs[0]
	rp := index(join(devs, "requests"), 0)
	dr := DeviceRequest{Name: r.Name}
	var subs []nSub
	var subPaths []string
	switch {
	case r.Exactly != nil:
		subs, subPaths = []nSub{*r.Exactly}, []string{join(rp, "exactly")}
	case len(r.FirstAvailable) > 0:
		subs = r.FirstAvailable
		for i := range subs {
			subPaths = append(subPaths, index(join(rp, "firstAvailable"), i))
		}
	case r.DeviceClassName != "":
		subs, subPaths = []nSub{r.nSub}, []string{rp}
	default:
		p.errorf(lineOf(d.root, rp), rp, "names no device: want exactly: {deviceClassName: <class>, count: 1} or firstAvailable: [...]")
		return
	}
	var units uint32
	for i, s := range subs {
		alt, ok := p.mapAlternative(d, s, subPaths[i], len(subs) > 1)
		if !ok {
			continue
		}
		if i > 0 && alt.Count != units {
			p.errorf(lineOf(d.root, join(subPaths[i], "count")), join(subPaths[i], "count"),
				"%d, but %s asks for %d: a deai order has one GPU count, so every alternative must ask for the same count", alt.Count, subPaths[0], units)
		}
		units = alt.Count
		dr.Alternatives = append(dr.Alternatives, alt)
	}
	dr.Sharing = p.sharing(d, c.Devices.Config, devs, r.Name, dr.Alternatives)
	p.req.Requests = []DeviceRequest{dr}
	g := lmarket.GPU{Units: units, Sharing: dr.Sharing}
	for _, a := range dr.Alternatives {
		for _, k := range a.GPU {
			if !slices.Contains(g.Attributes, k) {
				g.Attributes = append(g.Attributes, k)
			}
		}
	}
	if len(g.Attributes) > lmarket.MaxGPUAttributes {
		p.errorf(lineOf(d.root, rp), rp, "the selectors allow %d GPU kinds: a deai order lists at most %d", len(g.Attributes), lmarket.MaxGPUAttributes)
		return
	}
	if err := g.Validate(rp); err != nil && len(p.errs) == 0 {
		p.errorf(lineOf(d.root, rp), "", "%v", err)
	}
	p.req.GPU = g
}

// mapAlternative reads one (sub-)request: class, count, selectors.
func (p *draParser) mapAlternative(d *draDoc, s nSub, path string, named bool) (DeviceAlternative, bool) {
	alt := DeviceAlternative{DeviceClassName: s.DeviceClassName}
	if named {
		alt.Name = s.Name
	}
	if s.DeviceClassName == "" {
		p.errorf(lineOf(d.root, path), join(path, "deviceClassName"), "required: the DeviceClass to allocate from, e.g. gpu.nvidia.com")
		return alt, false
	}
	switch s.AllocationMode {
	case "", "ExactCount":
		c := s.Count
		if c == 0 {
			c = 1
		}
		if c < 0 || c > lmarket.MaxGPUUnits {
			p.errorf(lineOf(d.root, join(path, "count")), join(path, "count"), "%d: want 1 to %d GPUs", s.Count, lmarket.MaxGPUUnits)
			return alt, false
		}
		alt.Count = uint32(c)
	case "All":
		p.errorf(lineOf(d.root, join(path, "allocationMode")), join(path, "allocationMode"),
			"All takes every matching device of a node, which a market order cannot price: use allocationMode: ExactCount with count: N")
		return alt, false
	default:
		p.errorf(lineOf(d.root, join(path, "allocationMode")), join(path, "allocationMode"), "%q: want ExactCount or All", s.AllocationMode)
		return alt, false
	}
	for _, f := range []struct {
		set  bool
		name string
	}{{s.AdminAccess != nil && *s.AdminAccess, "adminAccess"}, {len(s.Tolerations) > 0, "tolerations"}, {len(s.Capacity) > 0 && string(s.Capacity) != "null", "capacity"}} {
		if f.set {
			p.warnf(lineOf(d.root, join(path, f.name)), join(path, f.name), "not part of a deai order, ignored")
		}
	}
	var sel selection
	cls := p.classes[s.DeviceClassName]
	switch {
	case cls != nil:
		alt.Selectors = append(alt.Selectors, cls.selectors...)
	case s.DeviceClassName == nvidiaGPUDriver:
		sel.vendor = "nvidia"
	case s.DeviceClassName == amdGPUDriver:
		sel.vendor = "amd"
	case s.DeviceClassName == "mig.nvidia.com":
		p.warnf(lineOf(d.root, join(path, "deviceClassName")), join(path, "deviceClassName"),
			"MIG slices are not offered on the deai market: the order asks for whole NVIDIA GPUs")
		sel.vendor = "nvidia"
	default:
		p.warnf(lineOf(d.root, join(path, "deviceClassName")), join(path, "deviceClassName"),
			"DeviceClass %q is not defined in this file, so what it selects is unknown: the order asks for any NVIDIA GPU (model *); "+
				"add the DeviceClass document, or use class gpu.nvidia.com with a selector on productName", s.DeviceClassName)
	}
	for _, x := range s.Selectors {
		if x.CEL != nil {
			alt.Selectors = append(alt.Selectors, x.CEL.Expression)
		}
	}
	for i, expr := range alt.Selectors {
		for _, u := range sel.read(expr) {
			sp := path
			if cls != nil && i < len(cls.selectors) {
				sp = fmt.Sprintf("DeviceClass %s", cls.name)
			}
			p.warnf(lineOf(d.root, path), sp, "selector %q is kept for the provider but cannot be expressed in a deai order", u)
		}
	}
	alt.GPU = sel.attributes()
	if len(sel.unknown) > 0 && len(sel.models) == 0 {
		p.warnf(lineOf(d.root, path), path, "no GPU model recognised in the selectors: the order asks for model * and the provider applies the selectors")
	}
	return alt, true
}

// gpuConfig is the NVIDIA DRA driver's GpuConfig (resource.nvidia.com/v1beta1).
type gpuConfig struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Sharing    *struct {
		Strategy          string `json:"strategy"`
		TimeSlicingConfig *struct {
			Interval string `json:"interval"`
		} `json:"timeSlicingConfig"`
		MpsConfig *struct {
			DefaultActiveThreadPercentage     *int64                       `json:"defaultActiveThreadPercentage"`
			DefaultPinnedDeviceMemoryLimit    *resource.Quantity           `json:"defaultPinnedDeviceMemoryLimit"`
			DefaultPerDevicePinnedMemoryLimit map[string]resource.Quantity `json:"defaultPerDevicePinnedMemoryLimit"`
		} `json:"mpsConfig"`
	} `json:"sharing"`
}

// sharing reads the GPU sharing mode from the claim's and the classes'
// opaque configs that apply to request reqName.
func (p *draParser) sharing(d *draDoc, claimCfg []nConfig, devs, reqName string, alts []DeviceAlternative) string {
	type cfg struct {
		c    nConfig
		path string
	}
	var cfgs []cfg
	for _, a := range alts {
		if cls := p.classes[a.DeviceClassName]; cls != nil {
			for i, c := range cls.config {
				cfgs = append(cfgs, cfg{c, fmt.Sprintf("DeviceClass %s: spec.config[%d]", cls.name, i)})
			}
		}
	}
	for i, c := range claimCfg {
		cp := index(join(devs, "config"), i)
		applies := len(c.Requests) == 0
		for _, r := range c.Requests {
			name, _, _ := strings.Cut(r, "/")
			if name == reqName {
				applies = true
			} else {
				p.errorf(lineOf(d.root, join(cp, "requests")), join(cp, "requests"), "%q: no request of that name (the request is %q)", r, reqName)
			}
		}
		if applies {
			cfgs = append(cfgs, cfg{c, cp})
		}
	}
	mode := ""
	for _, c := range cfgs {
		if c.c.Opaque == nil {
			continue
		}
		op := join(c.path, "opaque")
		l := lineOf(d.root, op)
		if c.c.Opaque.Driver != nvidiaGPUDriver {
			p.warnf(l, join(op, "driver"), "config for driver %q is passed to the provider but not read by the market", c.c.Opaque.Driver)
			continue
		}
		var g gpuConfig
		dec := json.NewDecoder(bytes.NewReader(c.c.Opaque.Parameters))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&g); err != nil {
			p.errorf(l, join(op, "parameters"), "not a valid NVIDIA GpuConfig: %s", strings.TrimPrefix(err.Error(), "json: "))
			continue
		}
		if g.Kind != "GpuConfig" {
			p.warnf(l, join(op, "parameters.kind"), "%q is passed to the provider but not read by the market (only GpuConfig sharing is)", g.Kind)
			continue
		}
		if !strings.HasPrefix(g.APIVersion, nvidiaConfigGroup) {
			p.errorf(l, join(op, "parameters.apiVersion"), "%q: want resource.nvidia.com/v1beta1", g.APIVersion)
			continue
		}
		if g.Sharing == nil {
			continue
		}
		sp := join(op, "parameters.sharing")
		var m string
		switch g.Sharing.Strategy {
		case "TimeSlicing":
			m = lmarket.SharingTimeSlicing
			if g.Sharing.MpsConfig != nil {
				p.errorf(l, join(sp, "mpsConfig"), "set with strategy TimeSlicing: use timeSlicingConfig, or strategy MPS")
			}
			if tc := g.Sharing.TimeSlicingConfig; tc != nil && !slices.Contains([]string{"", "Default", "Short", "Medium", "Long"}, tc.Interval) {
				p.errorf(l, join(sp, "timeSlicingConfig.interval"), "%q: want Default, Short, Medium or Long", tc.Interval)
			}
		case "MPS":
			m = lmarket.SharingMPS
			if g.Sharing.TimeSlicingConfig != nil {
				p.errorf(l, join(sp, "timeSlicingConfig"), "set with strategy MPS: use mpsConfig, or strategy TimeSlicing")
			}
			if mc := g.Sharing.MpsConfig; mc != nil && mc.DefaultActiveThreadPercentage != nil {
				if v := *mc.DefaultActiveThreadPercentage; v < 1 || v > 100 {
					p.errorf(l, join(sp, "mpsConfig.defaultActiveThreadPercentage"), "%d: want a percentage from 1 to 100", v)
				}
			}
		default:
			p.errorf(l, join(sp, "strategy"), "%q: want TimeSlicing or MPS", g.Sharing.Strategy)
			continue
		}
		if mode != "" && mode != m {
			p.errorf(l, join(sp, "strategy"), "%s, but another config sets %s: one sharing mode per request", m, mode)
		}
		mode = m
	}
	return mode
}
