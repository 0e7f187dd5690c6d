package manifest

import (
	"slices"
	"strings"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
)

// check validates the cross-references of a decoded SDL.
func (s *SDL) check(w *walker) {
	// deployment → services, placements, compute profiles, pricing.
	usedProfiles := map[string]bool{}
	usedPlacements := map[string]bool{}
	for _, svcName := range sortedKeys(s.deployment) {
		targets := s.deployment[svcName]
		if s.services[svcName] == nil {
			w.errorf(0, join("deployment", svcName), "no service profile named %q (services: %s)", svcName, strings.Join(sortedKeys(s.services), ", "))
			continue
		}
		for _, plName := range sortedKeys(targets) {
			t := targets[plName]
			pl := s.placements[plName]
			if pl == nil {
				w.errorf(t.line, t.path, "no placement profile named %q (placements: %s)", plName, strings.Join(sortedKeys(s.placements), ", "))
				continue
			}
			usedPlacements[plName] = true
			if s.compute[t.profile] == nil {
				w.errorf(t.profileLine, join(t.path, "profile"), "no compute profile named %q (compute profiles: %s)", t.profile, strings.Join(sortedKeys(s.compute), ", "))
				continue
			}
			usedProfiles[t.profile] = true
			if pl.pricing[t.profile] == nil {
				w.errorf(t.profileLine, join(t.path, "profile"), "no pricing for profile %q in placement %q: add profiles.placement.%s.pricing.%s: {denom: udeai, amount: <max per block per replica>}",
					t.profile, plName, plName, t.profile)
			}
		}
	}
	if len(s.deployment) == 0 {
		w.errorf(0, "deployment", "empty: want at least one <service>: {<placement>: {profile: <compute profile>, count: 1}}")
	}
	for _, name := range sortedKeys(s.services) {
		if len(s.deployment[name]) == 0 {
			w.warnf(s.services[name].line, s.services[name].path, "not listed under deployment, so it does not run")
		}
	}
	for _, name := range sortedKeys(s.compute) {
		if !usedProfiles[name] {
			w.warnf(s.compute[name].line, s.compute[name].path, "not used by any deployment")
		}
	}
	for _, name := range sortedKeys(s.placements) {
		if !usedPlacements[name] {
			w.warnf(s.placements[name].line, s.placements[name].path, "no service is deployed here, so it makes no group")
		}
	}

	s.checkDenoms(w)
	s.checkServices(w)

	groups := 0
	for _, name := range sortedKeys(s.placements) {
		if usedPlacements[name] {
			groups++
			if n := len(s.unitsOf(name)); n > lmarket.MaxUnitsPerGroup {
				w.errorf(s.placements[name].line, s.placements[name].path, "%d services deployed here: a group holds at most %d", n, lmarket.MaxUnitsPerGroup)
			}
		}
	}
	if groups > lmarket.MaxGroups {
		w.errorf(0, "profiles.placement", "%d placements in use: a deployment has at most %d groups", groups, lmarket.MaxGroups)
	}
}

// checkDenoms enforces one denom per deployment and warns once per Akash
// denom read as udeai.
func (s *SDL) checkDenoms(w *walker) {
	var first *price
	warned := map[string]bool{}
	for _, plName := range sortedKeys(s.placements) {
		pl := s.placements[plName]
		for _, prof := range sortedKeys(pl.pricing) {
			pr := pl.pricing[prof]
			if pr.denom == "" {
				continue
			}
			if first == nil {
				first = pr
				s.denom = pr.denom
			} else if pr.denom != first.denom {
				w.errorf(pr.line, join(pr.path, "denom"), "%s, but %s is %s: all prices of a deployment use one denom", pr.denom, first.path, first.denom)
			}
			if pr.denom != DenomUDEAI && !warned[pr.denom] {
				warned[pr.denom] = true
				w.warnf(pr.line, join(pr.path, "denom"), "%s is read as udeai (1:1): deai prices are whole udeai per block per replica", pr.denom)
			}
		}
	}
}

// checkServices checks what services refer to: volumes, other services,
// endpoints.
func (s *SDL) checkServices(w *walker) {
	type ipPort struct {
		ip    string
		port  uint16
		proto string
	}
	ipClaims := map[ipPort]string{}
	for _, name := range sortedKeys(s.services) {
		svc := s.services[name]
		for i, d := range svc.deps {
			if s.services[d] == nil {
				w.errorf(svc.depLines[i], join(index(join(svc.path, "dependencies"), i), "service"), "no service named %q", d)
			}
		}
		for _, e := range svc.expose {
			for _, t := range e.to {
				if t.service != "" && s.services[t.service] == nil {
					w.errorf(t.line, join(t.path, "service"), "no service named %q", t.service)
				}
				if t.ip == "" {
					continue
				}
				ep := s.endpoints[t.ip]
				if ep == nil {
					w.errorf(t.line, join(t.path, "ip"), "no endpoint named %q: declare it under endpoints: {%s: {kind: ip}} (version 2.1)", t.ip, t.ip)
					continue
				}
				ep.used = true
				k := ipPort{t.ip, e.as, e.proto}
				if other, dup := ipClaims[k]; dup && other != name {
					w.errorf(t.line, join(t.path, "ip"), "endpoint %s port %d/%s is already claimed by service %s", t.ip, e.as, e.proto, other)
				}
				ipClaims[k] = name
			}
			if len(e.accept) > 0 && !e.isHTTP() {
				w.warnf(e.line, join(e.path, "accept"), "only a global port exposed as 80 is served by host name; ignored")
			}
			if e.hasHTTP && !e.isHTTP() {
				w.warnf(e.line, join(e.path, "http_options"), "only a global port exposed as 80 goes through the HTTP ingress; ignored")
			}
		}
		// Every profile the service runs with must have the volumes it mounts,
		// and its persistent volumes must be mounted.
		for _, plName := range sortedKeys(s.deployment[name]) {
			t := s.deployment[name][plName]
			c := s.compute[t.profile]
			if c == nil {
				continue
			}
			for _, vol := range sortedKeys(svc.mounts) {
				if !slices.ContainsFunc(c.storage, func(v lmarket.Volume) bool { return v.Name == vol }) {
					w.errorf(svc.mountLines[vol], join(join(svc.path, "params.storage"), vol), "no volume named %q in compute profile %s (volumes: %s)", vol, t.profile, volumeNames(c.storage))
				}
			}
			for i, v := range c.storage {
				if v.Persistent && svc.mounts[v.Name].Mount == "" {
					w.errorf(c.volLines[i], c.path+".resources.storage", "persistent volume %q is not mounted by service %s: add params.storage.%s.mount: /data (an absolute path)", v.Name, name, v.Name)
				}
			}
		}
	}
	for _, name := range sortedKeys(s.endpoints) {
		if !s.endpoints[name].used {
			w.errorf(s.endpoints[name].line, join("endpoints", name), "declared but no service exposes a port on it (to: [{ip: %s, global: true}])", name)
		}
	}
}

func volumeNames(vs []lmarket.Volume) string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Name
	}
	return strings.Join(names, ", ")
}

// unitsOf returns the services deployed to a placement, sorted.
func (s *SDL) unitsOf(placement string) []string {
	var out []string
	for _, name := range sortedKeys(s.deployment) {
		if s.deployment[name][placement] != nil {
			out = append(out, name)
		}
	}
	return out
}

// checkGroups builds the groups and runs the ledger's own validation on
// them, as a backstop for anything the field checks missed.
func (s *SDL) checkGroups(w *walker) {
	for _, g := range s.Groups() {
		if err := g.Validate(); err != nil {
			w.errorf(s.placements[g.Name].line, s.placements[g.Name].path, "%v", err)
		}
	}
}

// Groups returns the order's groups: one per placement that has services,
// in placement-name order; in each, one resource unit per service
// deployed there (sorted by service name, IDs from 1) with the compute
// profile's resources, the deployment's count and the placement's price
// for that profile. Global ports become endpoints: a TCP port exposed as
// 80 uses the provider's shared HTTP ingress, other global ports a random
// host port, ip: ports a leased IP.
func (s *SDL) Groups() []lmarket.GroupSpec {
	var out []lmarket.GroupSpec
	for _, plName := range sortedKeys(s.placements) {
		svcs := s.unitsOf(plName)
		if len(svcs) == 0 {
			continue
		}
		pl := s.placements[plName]
		g := lmarket.GroupSpec{
			Name: plName,
			Requirements: lmarket.Requirements{
				SignedBy:   lmarket.SignedBy{AllOf: slices.Clone(pl.signedBy.AllOf), AnyOf: slices.Clone(pl.signedBy.AnyOf)},
				Attributes: s.requirementAttrs(pl, svcs),
			},
			Billing: pl.billing,
		}
		for i, name := range svcs {
			t := s.deployment[name][plName]
			var pr uint64
			if p := pl.pricing[t.profile]; p != nil {
				pr = p.amount
			}
			g.Units = append(g.Units, lmarket.ResourceUnit{
				ID:        uint32(i + 1),
				Resources: s.resources(s.services[name], s.compute[t.profile]),
				Count:     t.count,
				Price:     pr,
			})
		}
		out = append(out, g)
	}
	return out
}

// requirementAttrs is the placement's attributes plus the TEE attribute
// its services ask for (params.tee: capabilities/tee/<cpu|cpu-gpu> = true).
func (s *SDL) requirementAttrs(pl *placement, svcs []string) []lmarket.Attribute {
	attrs := slices.Clone(pl.attrs)
	for _, name := range svcs {
		if t := s.services[name].tee; t != "" {
			a := lmarket.Attribute{Key: "capabilities/tee/" + t, Value: "true"}
			if !slices.Contains(attrs, a) {
				attrs = append(attrs, a)
			}
		}
	}
	slices.SortFunc(attrs, func(a, b lmarket.Attribute) int { return strings.Compare(a.Key, b.Key) })
	return attrs
}

func (s *SDL) resources(svc *service, c *computeProfile) lmarket.Resources {
	r := lmarket.Resources{
		CPUMilli:    c.cpuMilli,
		MemoryBytes: c.memory,
		Storage:     slices.Clone(c.storage),
		GPU: lmarket.GPU{
			Units:      c.gpu.Units,
			Attributes: slices.Clone(c.gpu.Attributes),
			Sharing:    c.gpu.Sharing,
		},
	}
	for _, e := range svc.expose {
		for _, t := range e.to {
			switch {
			case !t.global:
			case t.ip != "":
				var seq uint32
				if ep := s.endpoints[t.ip]; ep != nil {
					seq = ep.seq
				}
				r.Endpoints = append(r.Endpoints, lmarket.Endpoint{Kind: lmarket.EndpointLeasedIP, Seq: seq})
			case e.as == 80 && e.proto == "TCP":
				r.Endpoints = append(r.Endpoints, lmarket.Endpoint{Kind: lmarket.EndpointSharedHTTP})
			default:
				r.Endpoints = append(r.Endpoints, lmarket.Endpoint{Kind: lmarket.EndpointRandomPort})
			}
		}
	}
	slices.SortFunc(r.Endpoints, func(a, b lmarket.Endpoint) int {
		if a.Kind != b.Kind {
			return int(a.Kind) - int(b.Kind)
		}
		return int(a.Seq) - int(b.Seq)
	})
	return r
}

// Manifest returns the workload for the winning providers: the groups of
// Groups, in the same order, each with its services in unit order.
func (s *SDL) Manifest() Manifest {
	var m Manifest
	for _, g := range s.Groups() {
		mg := Group{Name: g.Name}
		for i, name := range s.unitsOf(g.Name) {
			svc := s.services[name]
			ms := Service{
				Name:      name,
				Image:     svc.image,
				Command:   slices.Clone(svc.command),
				Args:      slices.Clone(svc.args),
				Env:       slices.Clone(svc.env),
				Resources: g.Units[i].Resources,
				Count:     g.Units[i].Count,
			}
			for _, e := range svc.expose {
				ms.Expose = append(ms.Expose, manifestExposes(e)...)
			}
			if len(svc.mounts) > 0 || len(svc.permissions) > 0 || svc.tee != "" {
				p := &Params{Permissions: slices.Clone(svc.permissions), TEE: svc.tee}
				for _, vol := range sortedKeys(svc.mounts) {
					p.Storage = append(p.Storage, svc.mounts[vol])
				}
				ms.Params = p
			}
			if svc.creds != nil {
				c := *svc.creds
				ms.Credentials = &c
			}
			mg.Services = append(mg.Services, ms)
		}
		m.Groups = append(m.Groups, mg)
	}
	return m
}

// manifestExposes turns one SDL expose into manifest exposes: one for the
// port's global and service targets, and one per leased IP it is bound to,
// so that a port both on a random host port and on a leased IP keeps both.
func manifestExposes(e *expose) []Expose {
	base := Expose{Port: e.port, ExternalPort: e.as, Proto: e.proto, Hosts: slices.Clone(e.accept)}
	var ips []Expose
	for _, t := range e.to {
		switch {
		case t.ip != "":
			ips = append(ips, Expose{Port: e.port, ExternalPort: e.as, Proto: e.proto, Global: true, IP: t.ip})
		case t.global:
			base.Global = true
		}
		if t.service != "" && !slices.Contains(base.Services, t.service) {
			base.Services = append(base.Services, t.service)
		}
	}
	slices.Sort(base.Services)
	if e.isHTTP() {
		h := *e.http
		h.NextCases = slices.Clone(e.http.NextCases)
		base.HTTPOptions = &h
	}
	if base.Global || len(base.Services) > 0 || len(ips) == 0 {
		return append([]Expose{base}, ips...)
	}
	return ips
}
