package market

import (
	"slices"
	"strconv"
	"strings"

	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

func (x *exec) createProvider(m *MsgCreateProvider) error {
	old, err := x.w.findProvider(m.Owner)
	if err != nil {
		return err
	}
	if old != nil {
		return module.Errorf(module.ReasonInvalid, "provider %s is already registered; use MsgUpdateProvider", m.Owner)
	}
	p := &Provider{Owner: m.Owner, HostURI: m.HostURI, Region: m.Region, Attributes: slices.Clone(m.Attributes), Info: m.Info, CreatedAt: x.h}
	x.w.setProvider(p)
	x.emit(EventProviderCreated, "provider", m.Owner.String(), "host_uri", m.HostURI)
	return nil
}

func (x *exec) updateProvider(m *MsgUpdateProvider) error {
	p, err := x.w.provider(m.Owner)
	if err != nil {
		return err
	}
	p.HostURI, p.Region, p.Attributes, p.Info = m.HostURI, m.Region, slices.Clone(m.Attributes), m.Info
	x.w.setProvider(p)
	x.emit(EventProviderUpdated, "provider", m.Owner.String(), "host_uri", m.HostURI)
	return nil
}

func (x *exec) deleteProvider(m *MsgDeleteProvider) error {
	p, err := x.w.provider(m.Owner)
	if err != nil {
		return err
	}
	if p.OpenBids > 0 || p.ActiveLeases > 0 {
		return module.Errorf(module.ReasonInvalid, "provider %s has %d open bids and %d active leases; close them before deleting it",
			m.Owner, p.OpenBids, p.ActiveLeases)
	}
	x.w.st.Delete(providerKey(m.Owner))
	x.emit(EventProviderDeleted, "provider", m.Owner.String())
	return nil
}

func (x *exec) signAttributes(m *MsgSignProviderAttributes) error {
	if _, err := x.w.provider(m.Provider); err != nil {
		return err
	}
	a, err := x.w.audited(m.Provider, m.Auditor)
	if err != nil {
		return err
	}
	if a == nil {
		a = &AuditedAttributes{Provider: m.Provider, Auditor: m.Auditor}
	}
	for _, n := range m.Attributes {
		if i := slices.IndexFunc(a.Attributes, func(o Attribute) bool { return o.Key == n.Key }); i >= 0 {
			a.Attributes[i].Value = n.Value
		} else {
			a.Attributes = append(a.Attributes, n)
		}
	}
	if len(a.Attributes) > MaxProviderAttributes {
		return module.Errorf(module.ReasonInvalid, "auditor %s would sign %d attributes of %s, the most is %d",
			m.Auditor, len(a.Attributes), m.Provider, MaxProviderAttributes)
	}
	slices.SortFunc(a.Attributes, func(p, q Attribute) int { return strings.Compare(p.Key, q.Key) })
	x.w.setAudited(a)
	x.emit(EventAttributesSigned, "provider", m.Provider.String(), "auditor", m.Auditor.String(), "count", strconv.Itoa(len(a.Attributes)))
	return nil
}

func (x *exec) deleteAttributes(m *MsgDeleteProviderAttributes) error {
	a, err := x.w.audited(m.Provider, m.Auditor)
	if err != nil {
		return err
	}
	if a == nil {
		return module.Errorf(module.ReasonNotFound, "auditor %s has signed no attributes of provider %s", m.Auditor, m.Provider)
	}
	if len(m.Keys) == 0 {
		a.Attributes = nil
	}
	for _, k := range m.Keys {
		i := slices.IndexFunc(a.Attributes, func(o Attribute) bool { return o.Key == k })
		if i < 0 {
			return module.Errorf(module.ReasonNotFound, "auditor %s has not signed attribute %q of provider %s", m.Auditor, k, m.Provider)
		}
		a.Attributes = slices.Delete(a.Attributes, i, i+1)
	}
	if len(a.Attributes) == 0 {
		x.w.deleteAudited(m.Provider, m.Auditor)
	} else {
		x.w.setAudited(a)
	}
	x.emit(EventAttributesDeleted, "provider", m.Provider.String(), "auditor", m.Auditor.String(), "count", strconv.Itoa(len(a.Attributes)))
	return nil
}

// placementError says which requirement a provider fails.
func placementError(p tx.Address, format string, args ...any) error {
	return module.Errorf(module.ReasonInvalid, "provider %s does not meet the placement: "+format, append([]any{p}, args...)...)
}

// matchPlacement checks the group's placement against the provider (market
// spec §5): without signed_by, every required attribute must match one of
// the provider's own attributes; with it, every auditor in all_of, and at
// least one in any_of (when any_of is set), must have signed attributes of
// the provider that match every requirement. An auditor that signed
// nothing never qualifies, even for a placement without attributes.
func (x *exec) matchPlacement(req *Requirements, p *Provider) error {
	sb := req.SignedBy
	if len(sb.AllOf) == 0 && len(sb.AnyOf) == 0 {
		if ok, miss := MatchAttributes(req.Attributes, p.attributes()); !ok {
			return placementError(p.Owner, "no attribute matches %s=%s", miss.Key, miss.Value)
		}
		return nil
	}
	signed := func(auditor string) (bool, Attribute, error) {
		a, err := tx.ParseAddress(auditor)
		if err != nil {
			return false, Attribute{}, module.Errorf(module.ReasonInternal, "stored auditor %q: %v", auditor, err)
		}
		aa, err := x.w.audited(p.Owner, a)
		if err != nil || aa == nil {
			return false, Attribute{}, err
		}
		ok, miss := MatchAttributes(req.Attributes, aa.Attributes)
		return ok, miss, nil
	}
	for _, aud := range sb.AllOf {
		ok, miss, err := signed(aud)
		if err != nil {
			return err
		}
		if !ok {
			if miss.Key == "" {
				return placementError(p.Owner, "auditor %s (all_of) has signed none of its attributes", aud)
			}
			return placementError(p.Owner, "auditor %s (all_of) has not signed an attribute matching %s=%s", aud, miss.Key, miss.Value)
		}
	}
	if len(sb.AnyOf) == 0 {
		return nil
	}
	for _, aud := range sb.AnyOf {
		ok, _, err := signed(aud)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	return placementError(p.Owner, "none of the auditors %v (any_of) has signed all required attributes", sb.AnyOf)
}

// Capability attribute keys (market spec §5).
const (
	capGPUPrefix     = "capabilities/gpu/"
	capStoragePrefix = "capabilities/storage/"
)

// gpuCapabilities returns the GPUs the provider declares:
// capabilities/gpu/vendor/<v>/model/<m>[/ram/<r>][/interface/<i>] = true.
func gpuCapabilities(p *Provider) []GPUAttr {
	var out []GPUAttr
	for _, a := range p.Attributes {
		rest, ok := strings.CutPrefix(a.Key, capGPUPrefix)
		if !ok || a.Value != "true" {
			continue
		}
		if g, err := ParseGPUAttr(rest); err == nil && g.Model != "*" {
			out = append(out, g)
		}
	}
	return out
}

// hasPersistentClass reports whether the provider declares a storage
// group n with capabilities/storage/<n>/class = class and
// capabilities/storage/<n>/persistent = true.
func hasPersistentClass(p *Provider, class string) bool {
	for _, a := range p.Attributes {
		rest, ok := strings.CutPrefix(a.Key, capStoragePrefix)
		if !ok || a.Value != class {
			continue
		}
		n, ok := strings.CutSuffix(rest, "/class")
		if !ok || strings.Contains(n, "/") {
			continue
		}
		want := capStoragePrefix + n + "/persistent"
		if slices.ContainsFunc(p.Attributes, func(b Attribute) bool { return b.Key == want && b.Value == "true" }) {
			return true
		}
	}
	return false
}

// matchCapabilities checks a bid's offer against the group and the
// provider: every persistent volume's class is one of the provider's
// persistent storage classes; every unit with GPUs has exactly one offer,
// a concrete GPU that satisfies one of the unit's alternatives and that
// the provider declares; no offer names another unit.
func matchCapabilities(spec *GroupSpec, p *Provider, offer []UnitOffer) error {
	gpus := gpuCapabilities(p)
	k := 0
	for i := range spec.Units {
		u := &spec.Units[i]
		for _, v := range u.Resources.Storage {
			if v.Persistent && !hasPersistentClass(p, v.Class) {
				return module.Errorf(module.ReasonInvalid, "provider %s has no persistent storage class %q (unit %d, volume %q); want capabilities/storage/<n>/class=%s with capabilities/storage/<n>/persistent=true",
					p.Owner, v.Class, u.ID, v.Name, v.Class)
			}
		}
		if u.Resources.GPU.Units == 0 {
			if k < len(offer) && offer[k].Unit == u.ID {
				return module.Errorf(module.ReasonInvalid, "offer for unit %d: the unit asks for no GPU", u.ID)
			}
			continue
		}
		if k >= len(offer) || offer[k].Unit != u.ID {
			return module.Errorf(module.ReasonInvalid, "unit %d asks for %d GPUs (%v) but the bid offers none; add a resources_offer entry with the concrete GPU",
				u.ID, u.Resources.GPU.Units, u.Resources.GPU.Attributes)
		}
		have, err := ParseGPUAttr(offer[k].GPU)
		if err != nil {
			return module.Wrap(module.ReasonInvalid, err)
		}
		k++
		ok := false
		for _, alt := range u.Resources.GPU.Attributes {
			if want, err := ParseGPUAttr(alt); err == nil && want.Matches(have) {
				ok = true
				break
			}
		}
		if !ok {
			return module.Errorf(module.ReasonInvalid, "offered gpu %s does not satisfy unit %d's alternatives %v", have, u.ID, u.Resources.GPU.Attributes)
		}
		if !slices.ContainsFunc(gpus, func(c GPUAttr) bool { return c.Matches(have) }) {
			return module.Errorf(module.ReasonInvalid, "provider %s does not declare gpu %s; want attribute %s%s=true", p.Owner, have, capGPUPrefix, have)
		}
	}
	if k < len(offer) {
		return module.Errorf(module.ReasonInvalid, "offer for unit %d: the group has no such unit with GPUs", offer[k].Unit)
	}
	return nil
}
