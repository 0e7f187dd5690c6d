package market

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
)

// Node is one machine of a provider's cluster: its allocatable capacity.
type Node struct {
	Name         string
	CPUMilli     uint64
	MemoryBytes  uint64
	StorageBytes uint64 // ephemeral and persistent volumes together
	GPUs         []GPUDevice
}

// GPUDevice is one physical GPU.
type GPUDevice struct {
	ID        string // e.g. the device index or UUID
	Vendor    string // nvidia, amd
	Model     string // h100, a100, rtx4090 (lower case)
	RAM       string // 80Gi
	Interface string // pcie, sxm
}

// Attr is the device's attribute form, as matched against requests.
func (d GPUDevice) Attr() lmarket.GPUAttr {
	return lmarket.GPUAttr{Vendor: d.Vendor, Model: d.Model, RAM: d.RAM, Interface: d.Interface}
}

// Placement is where one replica of one resource unit would run.
type Placement struct {
	Unit    uint32
	Replica uint32
	Node    string
	GPUs    []GPUDevice
}

// Reservation is capacity set aside for one order (or lease).
type Reservation struct {
	Key        string
	Placements []Placement
}

// ErrNoCapacity is wrapped by reservation failures; the message says which
// replica did not fit and why (market spec §10, pain point 1).
var ErrNoCapacity = errors.New("insufficient capacity")

// Inventory tracks free capacity per node and the reservations held
// against it. Reserve bin-packs replica by replica (first fit, nodes in
// name order), so "aggregate capacity is enough but no node fits" is
// reported as what it is. It is safe for concurrent use.
type Inventory struct {
	mu    sync.Mutex // guards nodes and held
	nodes []nodeState
	held  map[string]*Reservation
}

type nodeState struct {
	Node
	cpu, mem, storage uint64 // used
	gpuUsed           map[string]bool
}

// NewInventory returns an inventory over nodes (names must be unique).
func NewInventory(nodes []Node) (*Inventory, error) {
	inv := &Inventory{held: map[string]*Reservation{}}
	seen := map[string]bool{}
	for _, n := range nodes {
		if n.Name == "" || seen[n.Name] {
			return nil, fmt.Errorf("inventory: node name %q: want unique, non-empty names", n.Name)
		}
		seen[n.Name] = true
		inv.nodes = append(inv.nodes, nodeState{Node: n, gpuUsed: map[string]bool{}})
	}
	sort.Slice(inv.nodes, func(i, j int) bool { return inv.nodes[i].Name < inv.nodes[j].Name })
	return inv, nil
}

// Reserve sets capacity aside for g under key. Reserving a key that is
// already held returns the existing reservation.
func (inv *Inventory) Reserve(key string, g *lmarket.GroupSpec) (*Reservation, error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if r, ok := inv.held[key]; ok {
		return r, nil
	}
	r, err := inv.placeGroupLocked(key, g)
	if err != nil {
		return nil, err
	}
	inv.held[key] = r
	return r, nil
}

// Plan says where g would go now without holding anything: the answer of
// a preflight, atomic with respect to real reservations.
func (inv *Inventory) Plan(g *lmarket.GroupSpec) (*Reservation, error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	r, err := inv.placeGroupLocked("plan", g)
	if err != nil {
		return nil, err
	}
	for _, p := range r.Placements {
		inv.releasePlacementLocked(g, p)
	}
	return r, nil
}

// placeGroupLocked takes capacity for every replica of g, or nothing.
func (inv *Inventory) placeGroupLocked(key string, g *lmarket.GroupSpec) (*Reservation, error) {
	r := &Reservation{Key: key}
	undo := func() {
		for _, p := range r.Placements {
			inv.releasePlacementLocked(g, p)
		}
	}
	for ui := range g.Units {
		u := &g.Units[ui]
		for rep := uint32(0); rep < u.Count; rep++ {
			p, why := inv.placeLocked(u)
			if p == nil {
				undo()
				return nil, fmt.Errorf("%w: unit %d replica %d of %d: %s", ErrNoCapacity, u.ID, rep+1, u.Count, why)
			}
			p.Replica = rep
			r.Placements = append(r.Placements, *p)
			if rep == 0 && len(p.GPUs) > 0 && u.Count > 1 {
				// Every replica gets the GPU kind the first one got: the
				// bid offers one concrete model per unit.
				same := *u
				same.Resources.GPU.Attributes = []string{p.GPUs[0].Attr().String()}
				u = &same
			}
		}
	}
	return r, nil
}

// placeLocked finds the first node that fits one replica of u and takes
// the capacity; otherwise it says why the closest node did not fit.
func (inv *Inventory) placeLocked(u *lmarket.ResourceUnit) (*Placement, string) {
	need := u.Resources
	var storage uint64
	for _, v := range need.Storage {
		storage += v.SizeBytes
	}
	var reasons []string
	for i := range inv.nodes {
		n := &inv.nodes[i]
		var short []string
		if n.CPUMilli-n.cpu < need.CPUMilli {
			short = append(short, fmt.Sprintf("cpu %dm free < %dm", n.CPUMilli-n.cpu, need.CPUMilli))
		}
		if n.MemoryBytes-n.mem < need.MemoryBytes {
			short = append(short, fmt.Sprintf("memory %s free < %s", FormatBytes(n.MemoryBytes-n.mem), FormatBytes(need.MemoryBytes)))
		}
		if n.StorageBytes-n.storage < storage {
			short = append(short, fmt.Sprintf("storage %s free < %s", FormatBytes(n.StorageBytes-n.storage), FormatBytes(storage)))
		}
		gpus, gwhy := n.pickGPUs(need.GPU)
		if gwhy != "" {
			short = append(short, gwhy)
		}
		if len(short) > 0 {
			reasons = append(reasons, "node "+n.Name+": "+strings.Join(short, ", "))
			continue
		}
		n.cpu += need.CPUMilli
		n.mem += need.MemoryBytes
		n.storage += storage
		for _, d := range gpus {
			n.gpuUsed[d.ID] = true
		}
		return &Placement{Unit: u.ID, Node: n.Name, GPUs: gpus}, ""
	}
	if len(reasons) == 0 {
		return nil, "the provider has no nodes"
	}
	return nil, strings.Join(reasons, "; ")
}

// pickGPUs chooses free devices on the node for the request: all of one
// kind, the first alternative (in request order) that has enough free.
func (n *nodeState) pickGPUs(g lmarket.GPU) ([]GPUDevice, string) {
	if g.Units == 0 {
		return nil, ""
	}
	for _, s := range g.Attributes {
		want, err := lmarket.ParseGPUAttr(s)
		if err != nil {
			continue
		}
		// Group free matching devices by concrete kind so a wildcard
		// request gets one model, priced as that model.
		byKind := map[string][]GPUDevice{}
		var kinds []string
		for _, d := range n.GPUs {
			if n.gpuUsed[d.ID] || !want.Matches(d.Attr()) {
				continue
			}
			k := d.Attr().String()
			if _, ok := byKind[k]; !ok {
				kinds = append(kinds, k)
			}
			byKind[k] = append(byKind[k], d)
		}
		for _, k := range kinds {
			if uint32(len(byKind[k])) >= g.Units {
				return slices.Clone(byKind[k][:g.Units]), ""
			}
		}
	}
	free := 0
	for _, d := range n.GPUs {
		if !n.gpuUsed[d.ID] {
			free++
		}
	}
	return nil, fmt.Sprintf("%d free GPUs, none %d of one kind matching %s", free, g.Units, strings.Join(g.Attributes, " or "))
}

// Release returns a reservation's capacity; unknown keys are ignored.
func (inv *Inventory) Release(key string, g *lmarket.GroupSpec) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	r, ok := inv.held[key]
	if !ok {
		return
	}
	delete(inv.held, key)
	for _, p := range r.Placements {
		inv.releasePlacementLocked(g, p)
	}
}

// Rekey moves a reservation to a new key (an order's reservation becomes
// its lease's).
func (inv *Inventory) Rekey(from, to string) bool {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	r, ok := inv.held[from]
	if !ok {
		return false
	}
	delete(inv.held, from)
	r.Key = to
	inv.held[to] = r
	return true
}

// Held reports whether key holds a reservation.
func (inv *Inventory) Held(key string) bool {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	_, ok := inv.held[key]
	return ok
}

func (inv *Inventory) releasePlacementLocked(g *lmarket.GroupSpec, p Placement) {
	var u *lmarket.ResourceUnit
	for i := range g.Units {
		if g.Units[i].ID == p.Unit {
			u = &g.Units[i]
		}
	}
	for i := range inv.nodes {
		n := &inv.nodes[i]
		if n.Name != p.Node {
			continue
		}
		if u != nil {
			n.cpu -= u.Resources.CPUMilli
			n.mem -= u.Resources.MemoryBytes
			for _, v := range u.Resources.Storage {
				n.storage -= v.SizeBytes
			}
		}
		for _, d := range p.GPUs {
			delete(n.gpuUsed, d.ID)
		}
	}
}

// Free is the free capacity of one node.
type Free struct {
	Node         string   `json:"node"`
	CPUMilli     uint64   `json:"cpu_milli"`
	MemoryBytes  uint64   `json:"memory_bytes"`
	StorageBytes uint64   `json:"storage_bytes"`
	GPUs         []string `json:"gpus,omitempty"` // attribute form of each free device
}

// Free reports free capacity per node.
func (inv *Inventory) Free() []Free {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	out := make([]Free, 0, len(inv.nodes))
	for _, n := range inv.nodes {
		f := Free{Node: n.Name, CPUMilli: n.CPUMilli - n.cpu, MemoryBytes: n.MemoryBytes - n.mem, StorageBytes: n.StorageBytes - n.storage}
		for _, d := range n.GPUs {
			if !n.gpuUsed[d.ID] {
				f.GPUs = append(f.GPUs, d.Attr().String())
			}
		}
		out = append(out, f)
	}
	return out
}

// GPUCapabilities returns the provider attributes advertising the GPUs of
// all nodes: capabilities/gpu/vendor/<v>/model/<m>[/ram/<r>][/interface/<i>] = true,
// each once, sorted.
func GPUCapabilities(nodes []Node) []lmarket.Attribute {
	seen := map[string]bool{}
	var out []lmarket.Attribute
	for _, n := range nodes {
		for _, d := range n.GPUs {
			a := d.Attr()
			keys := []string{
				"capabilities/gpu/vendor/" + a.Vendor + "/model/" + a.Model,
			}
			if a.RAM != "" {
				keys = append(keys, keys[0]+"/ram/"+a.RAM)
				if a.Interface != "" {
					keys = append(keys, keys[0]+"/ram/"+a.RAM+"/interface/"+a.Interface)
				}
			}
			if a.Interface != "" {
				keys = append(keys, keys[0]+"/interface/"+a.Interface)
			}
			for _, k := range keys {
				if !seen[k] {
					seen[k] = true
					out = append(out, lmarket.Attribute{Key: k, Value: "true"})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// FormatBytes renders a byte count in binary units (512Mi, 1.5Gi).
func FormatBytes(n uint64) string {
	units := []string{"", "Ki", "Mi", "Gi", "Ti", "Pi"}
	v := float64(n)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v == float64(uint64(v)) {
		return fmt.Sprintf("%d%s", uint64(v), units[i])
	}
	return fmt.Sprintf("%.1f%s", v, units[i])
}
