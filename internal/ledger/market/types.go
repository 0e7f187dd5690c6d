package market

import (
	"fmt"
	"math/bits"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/deai-network/deai/internal/tx"
)

// This file holds the resource and placement types shared by the chain
// (orders, bids, leases) and the off-chain manifest parsers (SDL, DRA).
// Amounts are integer udeai; a price is udeai per block per replica.

// Limits on what one order may ask for (Akash's group-spec limits, market
// spec §9).
const (
	MinCPUMilli         = 10
	MaxCPUMilli         = 384_000
	MaxGPUUnits         = 24
	MinMemoryBytes      = 1 << 20
	MaxMemoryBytes      = 2 << 40
	MinVolumeBytes      = 5 << 20
	MaxVolumeBytes      = 32 << 40
	MaxUnitPrice        = 10_000_000 // udeai per block per replica
	MaxCount            = 50         // replicas of one unit
	MaxUnitsPerGroup    = 20
	MaxGroups           = 20
	MaxVolumesPerUnit   = 8
	MaxEndpointsPerUnit = 32
	MaxGPUAttributes    = 16
	MaxAttributes       = 32 // placement attributes and auditors, each
	MaxNameLen          = 64 // group and volume names
	MaxAttrKeyLen       = 128
	MaxAttrValueLen     = 256
)

// Storage classes (SDL): "default" is the ephemeral root volume.
const (
	StorageDefault = "default"
	StorageHDD     = "beta1"
	StorageSSD     = "beta2"
	StorageNVMe    = "beta3"
	StorageRAM     = "ram"
)

// GPU sharing modes (a deai extension; mapped from Kubernetes DRA opaque
// GpuConfig and to the provider's runtime).
const (
	SharingExclusive   = ""
	SharingTimeSlicing = "time-slicing"
	SharingMPS         = "mps"
)

// Billing modes of a group.
const (
	BillingPerBlock uint8 = 0 // the lease pays its bid price every block
	BillingUsage    uint8 = 1 // the lease pays reported usage, capped by the bid price per block
)

// Endpoint kinds.
const (
	EndpointSharedHTTP uint8 = 0 // global HTTP port behind the provider's ingress
	EndpointRandomPort uint8 = 1 // global non-HTTP port mapped to a random host port
	EndpointLeasedIP   uint8 = 2 // port on a leased IP
)

// Volume is one storage volume of a resource unit.
type Volume struct {
	Name       string `json:"name"`
	SizeBytes  uint64 `json:"size_bytes"`
	Class      string `json:"class,omitempty"` // "" or "default" = ephemeral
	Persistent bool   `json:"persistent,omitempty"`
}

// GPU is the GPU part of a resource unit. Attributes is a list of
// alternatives (OR), each "vendor/<vendor>/model/<model>[/ram/<size>]
// [/interface/<pcie|sxm>]"; model "*" means any model of the vendor.
// Units > 0 if and only if Attributes is non-empty.
type GPU struct {
	Units      uint32   `json:"units"`
	Attributes []string `json:"attributes,omitempty"`
	Sharing    string   `json:"sharing,omitempty"`
}

// Endpoint is one exposed endpoint of a resource unit.
type Endpoint struct {
	Kind uint8  `json:"kind"`
	Seq  uint32 `json:"seq,omitempty"` // leased-IP endpoint number, for EndpointLeasedIP
}

// Resources is what one replica of a resource unit needs.
type Resources struct {
	CPUMilli    uint64     `json:"cpu_milli"`
	MemoryBytes uint64     `json:"memory_bytes"`
	Storage     []Volume   `json:"storage"`
	GPU         GPU        `json:"gpu"`
	Endpoints   []Endpoint `json:"endpoints,omitempty"`
}

// ResourceUnit is one service's share of a group: Count replicas of
// Resources, each at most Price udeai per block.
type ResourceUnit struct {
	ID        uint32    `json:"id"` // 1..n within the group
	Resources Resources `json:"resources"`
	Count     uint32    `json:"count"`
	Price     uint64    `json:"price"` // max udeai per block per replica
}

// Attribute is a key/value pair. In requirements the key may be a glob
// (path.Match syntax) and is matched against provider attribute keys;
// values match exactly.
type Attribute struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// SignedBy names auditors whose signatures a provider's attributes need:
// all of AllOf, and at least one of AnyOf when it is non-empty.
type SignedBy struct {
	AllOf []string `json:"all_of,omitempty"` // auditor addresses (deai1…)
	AnyOf []string `json:"any_of,omitempty"`
}

// Requirements is the placement of a group.
type Requirements struct {
	SignedBy   SignedBy    `json:"signed_by"`
	Attributes []Attribute `json:"attributes,omitempty"`
}

// GroupSpec is one placement group: the units one provider must run.
type GroupSpec struct {
	Name         string         `json:"name"`
	Requirements Requirements   `json:"requirements"`
	Units        []ResourceUnit `json:"units"`
	Billing      uint8          `json:"billing,omitempty"`
}

var attrKeyRE = regexp.MustCompile(`^[a-zA-Z][\w/.-]{1,126}\*?$`)

// ValidAttrKey checks a requirement or provider attribute key; glob
// allows a trailing '*' (requirements only).
func ValidAttrKey(k string, glob bool) error {
	if !attrKeyRE.MatchString(k) || (!glob && strings.HasSuffix(k, "*")) {
		return fmt.Errorf("attribute key %q: want a letter then 1 to 126 of letters, digits, '_', '/', '.', '-'%s",
			k, map[bool]string{true: " (a trailing '*' is allowed)", false: ""}[glob])
	}
	return nil
}

// MaxPrice is the group's ceiling per block: Σ unit price × count.
func (g *GroupSpec) MaxPrice() (uint64, error) {
	var total uint64
	for _, u := range g.Units {
		hi, p := bits.Mul64(u.Price, uint64(u.Count))
		if hi != 0 {
			return 0, fmt.Errorf("group %q: price overflows", g.Name)
		}
		s, c := bits.Add64(total, p, 0)
		if c != 0 {
			return 0, fmt.Errorf("group %q: price overflows", g.Name)
		}
		total = s
	}
	return total, nil
}

// Totals sums the group's resources over all replicas.
func (g *GroupSpec) Totals() (cpuMilli, memBytes, storageBytes uint64, gpus uint32) {
	for _, u := range g.Units {
		n := uint64(u.Count)
		cpuMilli += u.Resources.CPUMilli * n
		memBytes += u.Resources.MemoryBytes * n
		for _, v := range u.Resources.Storage {
			storageBytes += v.SizeBytes * n
		}
		gpus += u.Resources.GPU.Units * u.Count
	}
	return
}

// Validate checks the group against the limits above; errors name the
// offending field path.
func (g *GroupSpec) Validate() error {
	if g.Name == "" || len(g.Name) > MaxNameLen {
		return fmt.Errorf("group name %q: want 1 to %d characters", g.Name, MaxNameLen)
	}
	p := "group " + g.Name
	if g.Billing > BillingUsage {
		return fmt.Errorf("%s: billing %d: want 0 (per block) or 1 (usage)", p, g.Billing)
	}
	if len(g.Units) == 0 || len(g.Units) > MaxUnitsPerGroup {
		return fmt.Errorf("%s: %d resource units: want 1 to %d", p, len(g.Units), MaxUnitsPerGroup)
	}
	if err := g.Requirements.validate(p); err != nil {
		return err
	}
	for i := range g.Units {
		u := &g.Units[i]
		up := fmt.Sprintf("%s: unit %d", p, i+1)
		if u.ID != uint32(i+1) {
			return fmt.Errorf("%s: id %d: want %d (sequential from 1)", up, u.ID, i+1)
		}
		if u.Count < 1 || u.Count > MaxCount {
			return fmt.Errorf("%s: count %d: want 1 to %d", up, u.Count, MaxCount)
		}
		if u.Price > MaxUnitPrice {
			return fmt.Errorf("%s: price %d udeai per block: want at most %d", up, u.Price, MaxUnitPrice)
		}
		if err := u.Resources.Validate(up); err != nil {
			return err
		}
	}
	_, err := g.MaxPrice()
	return err
}

func (r *Requirements) validate(p string) error {
	if len(r.Attributes) > MaxAttributes || len(r.SignedBy.AllOf) > MaxAttributes || len(r.SignedBy.AnyOf) > MaxAttributes {
		return fmt.Errorf("%s: placement: at most %d attributes and %d auditors per list", p, MaxAttributes, MaxAttributes)
	}
	for _, list := range [][]string{r.SignedBy.AllOf, r.SignedBy.AnyOf} {
		auditors := map[string]bool{}
		for _, s := range list {
			a, err := tx.ParseAddress(s)
			if err != nil || a.String() != s {
				return fmt.Errorf("%s: placement: signed_by auditor %q: want a deai1… address in canonical (lower-case) form", p, s)
			}
			if auditors[s] {
				return fmt.Errorf("%s: placement: signed_by auditor %s listed twice", p, s)
			}
			auditors[s] = true
		}
	}
	seen := map[string]bool{}
	for _, a := range r.Attributes {
		if err := ValidAttrKey(a.Key, true); err != nil {
			return fmt.Errorf("%s: placement: %w", p, err)
		}
		if seen[a.Key] {
			return fmt.Errorf("%s: placement: attribute %q listed twice", p, a.Key)
		}
		seen[a.Key] = true
		if len(a.Value) > MaxAttrValueLen {
			return fmt.Errorf("%s: placement: attribute %q: value longer than %d", p, a.Key, MaxAttrValueLen)
		}
	}
	return nil
}

// Validate checks one replica's resources; p prefixes error messages.
func (r *Resources) Validate(p string) error {
	if r.CPUMilli < MinCPUMilli || r.CPUMilli > MaxCPUMilli {
		return fmt.Errorf("%s: cpu %dm: want %dm to %dm", p, r.CPUMilli, MinCPUMilli, MaxCPUMilli)
	}
	if r.MemoryBytes < MinMemoryBytes || r.MemoryBytes > MaxMemoryBytes {
		return fmt.Errorf("%s: memory %d bytes: want 1Mi to 2Ti", p, r.MemoryBytes)
	}
	if len(r.Storage) == 0 || len(r.Storage) > MaxVolumesPerUnit {
		return fmt.Errorf("%s: %d storage volumes: want 1 to %d", p, len(r.Storage), MaxVolumesPerUnit)
	}
	names := map[string]bool{}
	for _, v := range r.Storage {
		vp := fmt.Sprintf("%s: storage %q", p, v.Name)
		if v.Name == "" || len(v.Name) > MaxNameLen {
			return fmt.Errorf("%s: name: want 1 to %d characters", vp, MaxNameLen)
		}
		if names[v.Name] {
			return fmt.Errorf("%s: name used twice", vp)
		}
		names[v.Name] = true
		if v.SizeBytes < MinVolumeBytes || v.SizeBytes > MaxVolumeBytes {
			return fmt.Errorf("%s: size %d bytes: want 5Mi to 32Ti", vp, v.SizeBytes)
		}
		switch v.Class {
		case "", StorageDefault:
			if v.Persistent {
				return fmt.Errorf("%s: persistent volumes need a class (beta1, beta2 or beta3)", vp)
			}
		case StorageRAM:
			if v.Persistent {
				return fmt.Errorf("%s: class ram cannot be persistent", vp)
			}
		case StorageHDD, StorageSSD, StorageNVMe:
			if !v.Persistent {
				return fmt.Errorf("%s: class %s needs persistent: true", vp, v.Class)
			}
		default:
			return fmt.Errorf("%s: class %q: want default, beta1, beta2, beta3 or ram", vp, v.Class)
		}
	}
	if len(r.Endpoints) > MaxEndpointsPerUnit {
		return fmt.Errorf("%s: %d endpoints: want at most %d", p, len(r.Endpoints), MaxEndpointsPerUnit)
	}
	for _, e := range r.Endpoints {
		if e.Kind > EndpointLeasedIP {
			return fmt.Errorf("%s: endpoint kind %d: want 0, 1 or 2", p, e.Kind)
		}
	}
	return r.GPU.Validate(p)
}

// Validate checks the GPU request.
func (g *GPU) Validate(p string) error {
	if g.Units > MaxGPUUnits {
		return fmt.Errorf("%s: gpu units %d: want at most %d", p, g.Units, MaxGPUUnits)
	}
	if (g.Units > 0) != (len(g.Attributes) > 0) {
		return fmt.Errorf("%s: gpu: units > 0 requires vendor attributes and vice versa", p)
	}
	if len(g.Attributes) > MaxGPUAttributes {
		return fmt.Errorf("%s: gpu: %d alternatives: want at most %d", p, len(g.Attributes), MaxGPUAttributes)
	}
	for _, a := range g.Attributes {
		if _, err := ParseGPUAttr(a); err != nil {
			return fmt.Errorf("%s: gpu: %w", p, err)
		}
	}
	switch g.Sharing {
	case SharingExclusive, SharingTimeSlicing, SharingMPS:
	default:
		return fmt.Errorf("%s: gpu sharing %q: want \"\", %q or %q", p, g.Sharing, SharingTimeSlicing, SharingMPS)
	}
	return nil
}

// GPUAttr is a parsed GPU attribute.
type GPUAttr struct {
	Vendor, Model, RAM, Interface string
}

// String renders the canonical attribute key.
func (a GPUAttr) String() string {
	s := "vendor/" + a.Vendor + "/model/" + a.Model
	if a.RAM != "" {
		s += "/ram/" + a.RAM
	}
	if a.Interface != "" {
		s += "/interface/" + a.Interface
	}
	return s
}

// ParseGPUAttr parses "vendor/<v>/model/<m>[/ram/<r>][/interface/<i>]".
func ParseGPUAttr(s string) (GPUAttr, error) {
	parts := strings.Split(s, "/")
	bad := fmt.Errorf("gpu attribute %q: want vendor/<vendor>/model/<model>[/ram/<size>][/interface/pcie|sxm]", s)
	if len(parts) < 4 || len(parts)%2 != 0 || parts[0] != "vendor" || parts[2] != "model" {
		return GPUAttr{}, bad
	}
	a := GPUAttr{Vendor: parts[1], Model: parts[3]}
	for i := 4; i < len(parts); i += 2 {
		switch {
		case parts[i] == "ram" && a.RAM == "" && a.Interface == "":
			a.RAM = parts[i+1]
		case parts[i] == "interface" && a.Interface == "":
			a.Interface = parts[i+1]
		default:
			return GPUAttr{}, bad
		}
	}
	if !slices.Contains([]string{"nvidia", "amd"}, a.Vendor) {
		return GPUAttr{}, fmt.Errorf("gpu attribute %q: vendor %q: want nvidia or amd", s, a.Vendor)
	}
	for _, f := range []string{a.Model, a.RAM, a.Interface} {
		if strings.ContainsAny(f, " \t") {
			return GPUAttr{}, bad
		}
	}
	if a.Model == "" || (a.Interface != "" && a.Interface != "pcie" && a.Interface != "sxm") {
		return GPUAttr{}, bad
	}
	return a, nil
}

// Matches reports whether a provider GPU (concrete model, ram and
// interface) satisfies the requested attribute a: same vendor, model equal
// or "*", and ram/interface equal when a names them.
func (a GPUAttr) Matches(have GPUAttr) bool {
	if a.Vendor != have.Vendor || (a.Model != "*" && !strings.EqualFold(a.Model, have.Model)) {
		return false
	}
	if a.RAM != "" && !strings.EqualFold(a.RAM, have.RAM) {
		return false
	}
	return a.Interface == "" || a.Interface == have.Interface
}

// MatchAttributes reports whether every required attribute matches some
// provider attribute: glob on the key (path.Match), exact on the value.
// It returns the first requirement left unmatched.
func MatchAttributes(req, have []Attribute) (bool, Attribute) {
	for _, r := range req {
		ok := false
		for _, h := range have {
			if m, _ := path.Match(r.Key, h.Key); m && r.Value == h.Value {
				ok = true
				break
			}
		}
		if !ok {
			return false, r
		}
	}
	return true, Attribute{}
}
