package manifest

import (
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/tx"
)

type computeProfile struct {
	name     string
	path     string
	line     int
	cpuMilli uint64
	memory   uint64
	storage  []lmarket.Volume
	volLines []int
	gpu      lmarket.GPU
}

type placement struct {
	name     string
	path     string
	line     int
	attrs    []lmarket.Attribute
	signedBy lmarket.SignedBy
	billing  uint8
	pricing  map[string]*price // compute profile → price
}

type price struct {
	path   string
	line   int
	denom  string
	amount uint64
}

// Denoms. deai settles in udeai; the Akash denoms are read 1:1 so that
// Akash SDLs work unchanged.
const (
	DenomUDEAI = "udeai"
	denomUACT  = "uact"
	denomUAKT  = "uakt"
)

var (
	volumeNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,62}[a-z0-9])?$`)
	gpuModelRE   = regexp.MustCompile(`^([a-z0-9][a-z0-9._-]{0,63}|\*)$`)
	gpuRAMRE     = regexp.MustCompile(`^[1-9][0-9]{0,5}(Mi|Gi|Ti)$`)
)

func (s *SDL) decodeCompute(w *walker, n *yaml.Node) {
	es, ok := w.entries(n, "profiles.compute")
	if !ok {
		return
	}
	for _, e := range es {
		if w.aborted || w.full() {
			return
		}
		p := join("profiles.compute", e.key)
		c := &computeProfile{name: e.key, path: p, line: e.line}
		s.compute[e.key] = c
		f, ok := w.object(e.val, p, "resources")
		if !ok {
			continue
		}
		if f["resources"] == nil {
			w.errorf(e.line, join(p, "resources"), "required: want cpu, memory and storage")
			continue
		}
		c.decodeResources(w, f["resources"], join(p, "resources"))
	}
}

func (c *computeProfile) decodeResources(w *walker, n *yaml.Node, p string) {
	f, ok := w.object(n, p, "cpu", "memory", "storage", "gpu")
	if !ok {
		return
	}
	for _, k := range []string{"cpu", "memory", "storage"} {
		if f[k] == nil {
			w.errorf(line(n), join(p, k), "required")
		}
	}
	if v := f["cpu"]; v != nil {
		cp := join(p, "cpu")
		cf, ok := w.object(v, cp, "units", "attributes")
		if ok && cf["units"] == nil {
			w.errorf(line(v), join(cp, "units"), "required: want a number of CPUs like 1, 0.5 or 500m")
		} else if ok {
			if a := cf["attributes"]; a != nil && !isNull(a) {
				w.warnf(line(a), join(cp, "attributes"), "not used by the deai market, ignored")
			}
			if str, ok := w.scalar(cf["units"], join(cp, "units"), "a number of CPUs like 1, 0.5 or 500m"); ok {
				m, err := parseMilliCPU(str)
				switch {
				case err != nil:
					w.errorf(line(cf["units"]), join(cp, "units"), "%v", err)
				case m < lmarket.MinCPUMilli || m > lmarket.MaxCPUMilli:
					w.errorf(line(cf["units"]), join(cp, "units"), "%q: want %dm to %dm (%s to %s CPUs)", str,
						lmarket.MinCPUMilli, lmarket.MaxCPUMilli, FormatCPU(lmarket.MinCPUMilli), FormatCPU(lmarket.MaxCPUMilli))
				default:
					c.cpuMilli = m
				}
			}
		}
	}
	if v := f["memory"]; v != nil {
		mp := join(p, "memory")
		mf, ok := w.object(v, mp, "size")
		if ok && mf["size"] == nil {
			w.errorf(line(v), join(mp, "size"), "required: want a quantity like 512Mi or 4Gi")
		} else if ok {
			c.memory, _ = sizeField(w, mf["size"], join(mp, "size"), lmarket.MinMemoryBytes, lmarket.MaxMemoryBytes)
		}
	}
	if v := f["storage"]; v != nil {
		c.decodeStorage(w, v, join(p, "storage"))
	}
	if v := f["gpu"]; v != nil {
		c.gpu = decodeGPU(w, v, join(p, "gpu"))
	}
}

// sizeField reads a byte quantity within [lo, hi].
func sizeField(w *walker, n *yaml.Node, p string, lo, hi uint64) (uint64, bool) {
	str, ok := w.scalar(n, p, "a quantity like 512Mi or 4Gi")
	if !ok {
		return 0, false
	}
	b, err := parseBytes(str)
	if err != nil {
		w.errorf(line(n), p, "%v", err)
		return 0, false
	}
	if b < lo || b > hi {
		w.errorf(line(n), p, "%q: want %s to %s", str, FormatSize(lo), FormatSize(hi))
		return 0, false
	}
	return b, true
}

// decodeStorage reads one volume (a map) or a list of volumes.
func (c *computeProfile) decodeStorage(w *walker, n *yaml.Node, p string) {
	var items []*yaml.Node
	var paths []string
	if r := w.step(n); r != nil && r.Kind == yaml.SequenceNode {
		items = r.Content
		for i := range items {
			paths = append(paths, index(p, i))
		}
	} else {
		items, paths = []*yaml.Node{n}, []string{p}
	}
	if len(items) == 0 {
		w.errorf(line(n), p, "want at least one volume: size: <quantity>")
		return
	}
	if len(items) > lmarket.MaxVolumesPerUnit {
		w.errorf(line(n), p, "%d volumes: want at most %d", len(items), lmarket.MaxVolumesPerUnit)
		return
	}
	seen := map[string]string{}
	ephemeral := ""
	for i, it := range items {
		vp := paths[i]
		f, ok := w.object(it, vp, "name", "size", "attributes")
		if !ok {
			continue
		}
		v := lmarket.Volume{Name: lmarket.StorageDefault}
		if nv := f["name"]; nv != nil {
			if name, ok := w.str(nv, join(vp, "name")); ok {
				if !volumeNameRE.MatchString(name) {
					w.errorf(line(nv), join(vp, "name"), "%q: want lower-case letters, digits and '-' (at most %d characters)", name, lmarket.MaxNameLen)
				}
				v.Name = name
			}
		}
		if sv := f["size"]; sv == nil {
			w.errorf(line(it), join(vp, "size"), "required: want a quantity like 10Gi")
		} else {
			v.SizeBytes, _ = sizeField(w, sv, join(vp, "size"), lmarket.MinVolumeBytes, lmarket.MaxVolumeBytes)
		}
		if av := f["attributes"]; av != nil {
			decodeVolumeAttrs(w, av, join(vp, "attributes"), &v)
		}
		secondEphemeral := v.Class == "" && !v.Persistent && ephemeral != ""
		if prev, dup := seen[v.Name]; dup && !secondEphemeral {
			w.errorf(line(it), vp, "volume name %q already used by %s; volume names must be unique (an unnamed volume is %q)", v.Name, prev, lmarket.StorageDefault)
		}
		seen[v.Name] = vp
		if v.Class == "" && !v.Persistent {
			if secondEphemeral {
				w.errorf(line(it), vp, "a second ephemeral volume (the first is %s): a profile has at most one ephemeral root volume; give this one attributes {persistent: true, class: beta3} or class: ram", ephemeral)
			}
			ephemeral = vp
		}
		c.storage = append(c.storage, v)
		c.volLines = append(c.volLines, line(it))
	}
}

func decodeVolumeAttrs(w *walker, n *yaml.Node, p string, v *lmarket.Volume) {
	es, ok := w.entries(n, p)
	if !ok {
		return
	}
	classLine := 0
	for _, e := range es {
		switch e.key {
		case "persistent":
			v.Persistent, _ = w.boolean(e.val, join(p, e.key))
		case "class":
			cls, ok := w.str(e.val, join(p, e.key))
			if !ok {
				continue
			}
			switch cls {
			case lmarket.StorageDefault, lmarket.StorageHDD, lmarket.StorageSSD, lmarket.StorageNVMe, lmarket.StorageRAM:
				v.Class, classLine = cls, e.line
			default:
				w.errorf(e.line, join(p, e.key), "%q: want beta1 (HDD), beta2 (SSD), beta3 (NVMe) or ram", cls)
			}
		default:
			// Upstream rejects these too: only class and persistent mean anything.
			w.errorf(e.line, join(p, e.key), "unknown volume attribute: want class or persistent")
		}
	}
	switch {
	case v.Class == lmarket.StorageRAM && v.Persistent:
		w.errorf(classLine, join(p, "persistent"), "class ram is memory and cannot be persistent")
	case v.Persistent && (v.Class == "" || v.Class == lmarket.StorageDefault):
		w.errorf(line(n), join(p, "class"), "a persistent volume needs a class: beta1 (HDD), beta2 (SSD) or beta3 (NVMe)")
	case !v.Persistent && v.Class != "" && v.Class != lmarket.StorageRAM:
		w.errorf(classLine, join(p, "class"), "%q on an ephemeral volume: only persistent volumes (persistent: true) and ram volumes have a class", v.Class)
	}
	if v.Class == lmarket.StorageDefault {
		v.Class = ""
	}
}

func decodeGPU(w *walker, n *yaml.Node, p string) lmarket.GPU {
	var g lmarket.GPU
	f, ok := w.object(n, p, "units", "attributes", "sharing")
	if !ok {
		return g
	}
	unitsOK := false
	if v := f["units"]; v == nil {
		w.errorf(line(n), join(p, "units"), "required: want a number of GPUs from 0 to %d", lmarket.MaxGPUUnits)
	} else if u, ok := w.uinteger(v, join(p, "units"), 0, lmarket.MaxGPUUnits); ok {
		g.Units, unitsOK = uint32(u), true
	}
	if v := f["attributes"]; v != nil {
		g.Attributes = decodeGPUAttrs(w, v, join(p, "attributes"))
	}
	if v := f["sharing"]; v != nil {
		if sh, ok := w.str(v, join(p, "sharing")); ok {
			switch sh {
			case lmarket.SharingTimeSlicing, lmarket.SharingMPS:
				g.Sharing = sh
			case "exclusive", "none":
			default:
				w.errorf(line(v), join(p, "sharing"), "%q: want %s or %s (or exclusive, the default)", sh, lmarket.SharingTimeSlicing, lmarket.SharingMPS)
			}
		}
	}
	switch {
	case !unitsOK:
	case g.Units > 0 && len(g.Attributes) == 0 && f["attributes"] == nil:
		w.errorf(line(n), join(p, "attributes"), "required when units > 0: want vendor: {nvidia: } (any NVIDIA GPU) or a list of models")
	case g.Units == 0 && len(g.Attributes) > 0:
		w.errorf(line(f["units"]), join(p, "units"), "0 with GPU attributes: want units > 0, or drop the attributes")
	case g.Units == 0 && g.Sharing != "":
		w.errorf(line(f["sharing"]), join(p, "sharing"), "set without GPUs (units is 0)")
	}
	return g
}

// decodeGPUAttrs reads attributes.vendor.<vendor>: null (any model) or a
// list of {model, ram?, interface?}, into attribute keys (list = OR).
func decodeGPUAttrs(w *walker, n *yaml.Node, p string) []string {
	f, ok := w.object(n, p, "vendor")
	if !ok {
		return nil
	}
	vp := join(p, "vendor")
	if f["vendor"] == nil {
		w.errorf(line(n), vp, "required: want nvidia: (any model) or nvidia: [{model: h100}]")
		return nil
	}
	vendors, ok := w.entries(f["vendor"], vp)
	if !ok {
		return nil
	}
	if len(vendors) == 0 {
		w.errorf(line(f["vendor"]), vp, "empty: want nvidia: (any model) or nvidia: [{model: h100}]")
	}
	var out []string
	add := func(l int, ap string, a lmarket.GPUAttr) {
		key := a.String()
		if _, err := lmarket.ParseGPUAttr(key); err != nil {
			w.errorf(l, ap, "%v", err)
			return
		}
		if slices.Contains(out, key) {
			w.warnf(l, ap, "%s listed twice", key)
			return
		}
		out = append(out, key)
	}
	for _, ve := range vendors {
		vep := join(vp, ve.key)
		if ve.key != "nvidia" && ve.key != "amd" {
			w.errorf(ve.line, vep, "unknown GPU vendor: want nvidia (or amd)")
			continue
		}
		items, ok := w.list(ve.val, vep)
		if !ok {
			continue
		}
		if len(items) == 0 {
			add(ve.line, vep, lmarket.GPUAttr{Vendor: ve.key, Model: "*"})
			continue
		}
		for i, it := range items {
			ip := index(vep, i)
			mf, ok := w.object(it, ip, "model", "ram", "interface")
			if !ok {
				continue
			}
			a := lmarket.GPUAttr{Vendor: ve.key}
			if v := mf["model"]; v == nil {
				w.errorf(line(it), join(ip, "model"), "required: want a model like h100 or a100")
				continue
			} else if m, ok := w.str(v, join(ip, "model")); ok {
				a.Model = strings.ToLower(m)
				if !gpuModelRE.MatchString(a.Model) {
					w.errorf(line(v), join(ip, "model"), "%q: want a model name like h100, a100 or rtx4090", m)
					continue
				}
			}
			if v := mf["ram"]; v != nil {
				if r, ok := w.str(v, join(ip, "ram")); ok {
					if !gpuRAMRE.MatchString(r) {
						w.errorf(line(v), join(ip, "ram"), "%q: want a size like 24Gi or 80Gi", r)
						continue
					}
					a.RAM = r
				}
			}
			if v := mf["interface"]; v != nil {
				if itf, ok := w.str(v, join(ip, "interface")); ok {
					a.Interface = strings.ToLower(itf)
					if a.Interface != "pcie" && a.Interface != "sxm" {
						w.errorf(line(v), join(ip, "interface"), "%q: want pcie or sxm", itf)
						continue
					}
				}
			}
			add(line(it), ip, a)
		}
	}
	if len(out) > lmarket.MaxGPUAttributes {
		w.errorf(line(n), p, "%d GPU alternatives: want at most %d", len(out), lmarket.MaxGPUAttributes)
	}
	return out
}

func (s *SDL) decodePlacements(w *walker, n *yaml.Node) {
	es, ok := w.entries(n, "profiles.placement")
	if !ok {
		return
	}
	for _, e := range es {
		if w.aborted || w.full() {
			return
		}
		p := join("profiles.placement", e.key)
		if len(e.key) > lmarket.MaxNameLen {
			w.errorf(e.line, p, "placement name longer than %d characters", lmarket.MaxNameLen)
		}
		pl := &placement{name: e.key, path: p, line: e.line, pricing: map[string]*price{}}
		s.placements[e.key] = pl
		f, ok := w.object(e.val, p, "attributes", "signedBy", "pricing", "billing")
		if !ok {
			continue
		}
		if v := f["attributes"]; v != nil {
			pl.decodeAttributes(w, v, join(p, "attributes"))
		}
		if v := f["signedBy"]; v != nil {
			pl.decodeSignedBy(w, v, join(p, "signedBy"))
		}
		if v := f["billing"]; v != nil {
			if b, ok := w.str(v, join(p, "billing")); ok {
				switch b {
				case "usage":
					pl.billing = lmarket.BillingUsage
				case "per-block", "block":
					pl.billing = lmarket.BillingPerBlock
				default:
					w.errorf(line(v), join(p, "billing"), "%q: want per-block (the default) or usage", b)
				}
			}
		}
		if v := f["pricing"]; v == nil {
			w.errorf(e.line, join(p, "pricing"), "required: want <compute profile>: {denom: udeai, amount: <max per block per replica>}")
		} else {
			pl.decodePricing(w, v, join(p, "pricing"))
		}
	}
}

func (pl *placement) decodeAttributes(w *walker, n *yaml.Node, p string) {
	es, ok := w.entries(n, p)
	if !ok {
		return
	}
	for _, e := range es {
		ap := join(p, e.key)
		if err := lmarket.ValidAttrKey(e.key, true); err != nil {
			w.errorf(e.line, ap, "%v", err)
			continue
		}
		val, ok := w.str(e.val, ap)
		if !ok {
			continue
		}
		if len(val) > lmarket.MaxAttrValueLen {
			w.errorf(e.line, ap, "value longer than %d characters", lmarket.MaxAttrValueLen)
			continue
		}
		pl.attrs = append(pl.attrs, lmarket.Attribute{Key: e.key, Value: val})
	}
	if len(pl.attrs) > lmarket.MaxAttributes {
		w.errorf(line(n), p, "%d attributes: want at most %d", len(pl.attrs), lmarket.MaxAttributes)
	}
	slices.SortFunc(pl.attrs, func(a, b lmarket.Attribute) int { return strings.Compare(a.Key, b.Key) })
}

func (pl *placement) decodeSignedBy(w *walker, n *yaml.Node, p string) {
	f, ok := w.object(n, p, "allOf", "anyOf")
	if !ok {
		return
	}
	read := func(key string) []string {
		v := f[key]
		if v == nil {
			return nil
		}
		kp := join(p, key)
		addrs, _ := w.strList(v, kp)
		if len(addrs) > lmarket.MaxAttributes {
			w.errorf(line(v), kp, "%d auditors: want at most %d", len(addrs), lmarket.MaxAttributes)
		}
		var out []string
		for i, a := range addrs {
			addr, err := tx.ParseAddress(a)
			if err != nil {
				// An Akash auditor (akash1…) means nothing on deai, and the
				// ledger accepts only deai addresses: drop it, loudly.
				w.warnf(line(v), index(kp, i), "%q is not a deai address (%s1…): dropped, so this placement no longer requires its signature; name a deai auditor to keep an audit requirement", a, tx.AddressPrefix)
				continue
			}
			if slices.Contains(out, addr.String()) {
				w.warnf(line(v), index(kp, i), "auditor %s listed twice", a)
				continue
			}
			out = append(out, addr.String())
		}
		return out
	}
	pl.signedBy = lmarket.SignedBy{AllOf: read("allOf"), AnyOf: read("anyOf")}
}

func (pl *placement) decodePricing(w *walker, n *yaml.Node, p string) {
	es, ok := w.entries(n, p)
	if !ok {
		return
	}
	for _, e := range es {
		pp := join(p, e.key)
		f, ok := w.object(e.val, pp, "denom", "amount")
		if !ok {
			continue
		}
		pr := &price{path: pp, line: e.line}
		if v := f["denom"]; v == nil {
			w.errorf(e.line, join(pp, "denom"), "required: want udeai")
		} else if d, ok := w.str(v, join(pp, "denom")); ok {
			switch d {
			case DenomUDEAI, denomUACT, denomUAKT:
				pr.denom = d
			default:
				w.errorf(line(v), join(pp, "denom"), "%q: want udeai (uact and uakt are read as udeai)", d)
			}
		}
		if v := f["amount"]; v == nil {
			w.errorf(e.line, join(pp, "amount"), "required: want the most udeai you pay per block per replica")
		} else if str, ok := w.scalar(v, join(pp, "amount"), "a whole number of udeai"); ok {
			a, err := parseAmount(str)
			switch {
			case err != nil:
				w.errorf(line(v), join(pp, "amount"), "%v", err)
			case a > lmarket.MaxUnitPrice:
				w.errorf(line(v), join(pp, "amount"), "%s udeai per block: want at most %d", str, lmarket.MaxUnitPrice)
			default:
				pr.amount = a
			}
		}
		pl.pricing[e.key] = pr
	}
}
