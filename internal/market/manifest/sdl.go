package manifest

import (
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
)

// SDL is a parsed and validated Akash SDL (v2.0 or v2.1). Its groups
// pass lmarket.GroupSpec.Validate and its manifest names only services,
// volumes and endpoints that exist.
type SDL struct {
	Version  string    // "2.0" or "2.1"
	Warnings []Warning // accepted, but worth a look: ignored keys, denom aliases, auditors that are not deai addresses

	services   map[string]*service
	compute    map[string]*computeProfile
	placements map[string]*placement
	deployment map[string]map[string]*deployTarget // service → placement → target
	endpoints  map[string]*endpointDecl
	reclaim    time.Duration
	denom      string
}

// Denom returns the price denom as written in the file: udeai, or uact or
// uakt (read 1:1 as udeai).
func (s *SDL) Denom() string { return s.denom }

// ReclaimWindow returns reclamation.min_window, 0 when unset.
func (s *SDL) ReclaimWindow() time.Duration { return s.reclaim }

type service struct {
	name        string
	path        string
	line        int
	image       string
	command     []string
	args        []string
	env         []string
	expose      []*expose
	deps        []string
	depLines    []int
	mounts      map[string]StorageParams // volume name → mount
	mountLines  map[string]int
	permissions []string
	tee         string
	creds       *Credentials
}

type expose struct {
	path    string
	line    int
	port    uint16
	as      uint16
	proto   string
	to      []exposeTo
	accept  []string
	http    *HTTPOptions
	hasHTTP bool // http_options was written
}

type exposeTo struct {
	path    string
	line    int
	global  bool
	service string
	ip      string
}

// http reports whether the port is served through the provider's shared
// HTTP ingress: a global TCP port exposed as 80.
func (e *expose) isHTTP() bool {
	if e.as != 80 || e.proto != "TCP" {
		return false
	}
	for _, t := range e.to {
		if t.global && t.ip == "" {
			return true
		}
	}
	return false
}

type endpointDecl struct {
	line int
	seq  uint32
	used bool
}

type deployTarget struct {
	path        string
	line        int
	profile     string
	profileLine int
	count       uint32
}

var (
	dnsLabelRE     = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)
	endpointNameRE = regexp.MustCompile(`^[a-z]+[-_0-9a-z]+$`)
	envKeyRE       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)
	hostnameRE     = regexp.MustCompile(`^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	windowRE       = regexp.MustCompile(`^[1-9][0-9]{0,8}(s|m|h)$`)
)

// ParseSDL parses an Akash SDL v2.0 or v2.1 file and checks it as the
// market spec (§8, §9) describes: every field, every cross-reference
// (profiles, placements, pricing, volumes, endpoints) and the generated
// groups. Unknown keys are warnings, not errors. The error, when not nil,
// joins one *FieldError per problem (see FieldErrors), each naming the
// field path and what is expected.
func ParseSDL(data []byte) (*SDL, error) {
	root, err := parseYAML(data)
	if err != nil {
		return nil, err
	}
	w := &walker{}
	s := &SDL{
		services:   map[string]*service{},
		compute:    map[string]*computeProfile{},
		placements: map[string]*placement{},
		deployment: map[string]map[string]*deployTarget{},
		endpoints:  map[string]*endpointDecl{},
	}
	s.decode(w, root)
	if len(w.errs) == 0 {
		s.check(w)
	}
	if len(w.errs) == 0 {
		s.checkGroups(w)
	}
	w.sortByLine()
	s.Warnings = w.warns
	if err := w.err(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *SDL) decode(w *walker, root *yaml.Node) {
	top, ok := w.object(root, "", "version", "services", "profiles", "deployment", "endpoints", "include", "reclamation")
	if !ok {
		return
	}
	for _, k := range []string{"version", "services", "profiles", "deployment"} {
		if top[k] == nil {
			w.errorf(line(root), k, "required")
		}
	}
	if v := top["version"]; v != nil {
		if s.Version, ok = w.str(v, "version"); ok && s.Version != "2.0" && s.Version != "2.1" {
			w.errorf(line(v), "version", "%q: want \"2.0\" or \"2.1\"", s.Version)
		}
	}
	if v := top["include"]; v != nil && !isNull(v) {
		w.warnf(line(v), "include", "not supported: the listed files are not read; put everything in one file")
	}
	if v := top["endpoints"]; v != nil {
		if s.Version == "2.0" {
			w.errorf(line(v), "endpoints", "needs version \"2.1\"")
		}
		s.decodeEndpoints(w, v)
	}
	if v := top["reclamation"]; v != nil {
		s.decodeReclamation(w, v)
	}
	if v := top["services"]; v != nil {
		s.decodeServices(w, v)
	}
	if v := top["profiles"]; v != nil {
		prof, ok := w.object(v, "profiles", "compute", "placement")
		if ok {
			for _, k := range []string{"compute", "placement"} {
				if prof[k] == nil {
					w.errorf(line(v), join("profiles", k), "required")
				}
			}
			if c := prof["compute"]; c != nil {
				s.decodeCompute(w, c)
			}
			if p := prof["placement"]; p != nil {
				s.decodePlacements(w, p)
			}
		}
	}
	if v := top["deployment"]; v != nil {
		s.decodeDeployment(w, v)
	}
}

func (s *SDL) decodeEndpoints(w *walker, n *yaml.Node) {
	es, ok := w.entries(n, "endpoints")
	if !ok {
		return
	}
	names := make([]string, 0, len(es))
	for _, e := range es {
		p := join("endpoints", e.key)
		if !endpointNameRE.MatchString(e.key) {
			w.errorf(e.line, p, "invalid name: want lower-case letters, then letters, digits, '-' or '_' (at least 2 characters)")
		}
		f, ok := w.object(e.val, p, "kind")
		if !ok {
			continue
		}
		if f["kind"] == nil {
			w.errorf(e.line, join(p, "kind"), "required: want ip")
		} else if k, ok := w.str(f["kind"], join(p, "kind")); ok && k != "ip" {
			w.errorf(line(f["kind"]), join(p, "kind"), "%q: want ip", k)
		}
		s.endpoints[e.key] = &endpointDecl{line: e.line}
		names = append(names, e.key)
	}
	// Leased-IP endpoints are numbered 1.. in name order.
	slices.Sort(names)
	for i, name := range names {
		s.endpoints[name].seq = uint32(i + 1)
	}
}

func (s *SDL) decodeReclamation(w *walker, n *yaml.Node) {
	f, ok := w.object(n, "reclamation", "min_window")
	if !ok {
		return
	}
	v := f["min_window"]
	if v == nil {
		w.errorf(line(n), "reclamation.min_window", "required: want a duration like 24h")
		return
	}
	str, ok := w.str(v, "reclamation.min_window")
	if !ok {
		return
	}
	if !windowRE.MatchString(str) {
		w.errorf(line(v), "reclamation.min_window", "%q: want a whole number of s, m or h, like 24h", str)
		return
	}
	d, err := time.ParseDuration(str)
	if err != nil {
		w.errorf(line(v), "reclamation.min_window", "%q: %v", str, err)
		return
	}
	if d < time.Hour || d > 720*time.Hour {
		w.warnf(line(v), "reclamation.min_window", "%s is outside the range providers may offer (1h to 720h), so no bid can meet it", str)
	}
	s.reclaim = d
}

func (s *SDL) decodeServices(w *walker, n *yaml.Node) {
	es, ok := w.entries(n, "services")
	if !ok {
		return
	}
	if len(es) == 0 {
		w.errorf(line(n), "services", "want at least one service")
	}
	for _, e := range es {
		if w.aborted || w.full() {
			return
		}
		p := join("services", e.key)
		if !dnsLabelRE.MatchString(e.key) {
			w.errorf(e.line, p, "invalid service name: want a DNS label (lower-case letters, digits and '-', starting with a letter, at most 63 characters)")
		}
		svc := &service{name: e.key, path: p, line: e.line}
		s.services[e.key] = svc
		svc.decode(w, e.val, s)
	}
}

func (svc *service) decode(w *walker, n *yaml.Node, s *SDL) {
	p := svc.path
	f, ok := w.object(n, p, "image", "command", "args", "env", "expose", "dependencies", "params", "credentials")
	if !ok {
		return
	}
	if v := f["image"]; v == nil {
		w.errorf(line(n), join(p, "image"), "required")
	} else if img, ok := w.str(v, join(p, "image")); ok {
		switch {
		case strings.TrimSpace(img) == "":
			w.errorf(line(v), join(p, "image"), "empty: want an image reference like nginx:1.27")
		case strings.ContainsAny(img, " \t\n"):
			w.errorf(line(v), join(p, "image"), "%q: an image reference has no spaces", img)
		}
		svc.image = img
	}
	if v := f["command"]; v != nil {
		svc.command, _ = w.strList(v, join(p, "command"))
	}
	if v := f["args"]; v != nil {
		svc.args, _ = w.strList(v, join(p, "args"))
	}
	if v := f["env"]; v != nil {
		svc.decodeEnv(w, v)
	}
	if v := f["expose"]; v != nil {
		items, _ := w.list(v, join(p, "expose"))
		for i, it := range items {
			if e := decodeExpose(w, it, index(join(p, "expose"), i)); e != nil {
				svc.expose = append(svc.expose, e)
			}
		}
	}
	if v := f["dependencies"]; v != nil {
		items, _ := w.list(v, join(p, "dependencies"))
		for i, it := range items {
			ip := index(join(p, "dependencies"), i)
			d, ok := w.object(it, ip, "service")
			if !ok {
				continue
			}
			if d["service"] == nil {
				w.errorf(line(it), join(ip, "service"), "required: want the name of a service")
				continue
			}
			if name, ok := w.str(d["service"], join(ip, "service")); ok {
				svc.deps = append(svc.deps, name)
				svc.depLines = append(svc.depLines, line(d["service"]))
			}
		}
	}
	if v := f["params"]; v != nil {
		svc.decodeParams(w, v)
	}
	if v := f["credentials"]; v != nil {
		svc.decodeCredentials(w, v)
	}
}

func (svc *service) decodeEnv(w *walker, n *yaml.Node) {
	p := join(svc.path, "env")
	items, ok := w.list(n, p)
	if !ok {
		return
	}
	seen := map[string]int{}
	for i, it := range items {
		ip := index(p, i)
		kv, ok := w.str(it, ip)
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if !envKeyRE.MatchString(k) {
			w.errorf(line(it), ip, "%q: want KEY=value or KEY, KEY a letter or '_' then letters, digits, '_', '.' or '-'", kv)
			continue
		}
		if first, dup := seen[k]; dup {
			w.warnf(line(it), ip, "%s is set twice (also entry %d); the container sees the last", k, first)
		}
		seen[k] = i
		svc.env = append(svc.env, k+"="+v)
	}
}

func decodeExpose(w *walker, n *yaml.Node, p string) *expose {
	f, ok := w.object(n, p, "port", "as", "proto", "to", "accept", "http_options")
	if !ok {
		return nil
	}
	e := &expose{path: p, line: line(n), proto: "TCP"}
	if v := f["port"]; v == nil {
		w.errorf(line(n), join(p, "port"), "required: want a port from 1 to 65535")
	} else if port, ok := w.uinteger(v, join(p, "port"), 1, 65535); ok {
		e.port = uint16(port)
	}
	e.as = e.port
	if v := f["as"]; v != nil {
		if as, ok := w.uinteger(v, join(p, "as"), 1, 65535); ok {
			e.as = uint16(as)
		}
	}
	if v := f["proto"]; v != nil {
		if proto, ok := w.str(v, join(p, "proto")); ok {
			switch strings.ToUpper(proto) {
			case "TCP", "UDP":
				e.proto = strings.ToUpper(proto)
			default:
				w.errorf(line(v), join(p, "proto"), "%q: want TCP or UDP", proto)
			}
		}
	}
	if v := f["to"]; v != nil {
		items, _ := w.list(v, join(p, "to"))
		for i, it := range items {
			tp := index(join(p, "to"), i)
			tf, ok := w.object(it, tp, "global", "service", "ip")
			if !ok {
				continue
			}
			t := exposeTo{path: tp, line: line(it)}
			if g := tf["global"]; g != nil {
				t.global, _ = w.boolean(g, join(tp, "global"))
			}
			if sv := tf["service"]; sv != nil {
				t.service, _ = w.str(sv, join(tp, "service"))
			}
			if ip := tf["ip"]; ip != nil {
				if t.ip, ok = w.str(ip, join(tp, "ip")); ok && !t.global {
					w.errorf(line(ip), join(tp, "ip"), "an ip endpoint needs global: true beside it")
				}
			}
			if !t.global && t.service == "" && t.ip == "" {
				w.errorf(line(it), tp, "empty: want global: true, service: <name> or ip: <endpoint> with global: true")
			}
			e.to = append(e.to, t)
		}
	}
	if v := f["accept"]; v != nil {
		hosts, _ := w.strList(v, join(p, "accept"))
		for i, h := range hosts {
			h = strings.ToLower(h)
			if len(h) > 253 || !hostnameRE.MatchString(h) {
				w.errorf(line(v), index(join(p, "accept"), i), "%q: want a host name like www.example.com", h)
				continue
			}
			e.accept = append(e.accept, h)
		}
	}
	e.http = defaultHTTPOptions()
	if v := f["http_options"]; v != nil {
		e.hasHTTP = true
		decodeHTTPOptions(w, v, join(p, "http_options"), e.http)
	}
	return e
}

// HTTP option limits (SDL http_options).
const (
	defaultMaxBodySize = 1 << 20
	maxMaxBodySize     = 100 << 20
	maxHTTPTimeout     = 60_000 // ms; also the default
	defaultNextTries   = 3
	maxProxyBufferSize = 1 << 20
)

var nextCases = []string{"error", "timeout", "500", "502", "503", "504", "403", "404", "429"}

func defaultHTTPOptions() *HTTPOptions {
	return &HTTPOptions{
		MaxBodySize: defaultMaxBodySize,
		ReadTimeout: maxHTTPTimeout,
		SendTimeout: maxHTTPTimeout,
		NextTries:   defaultNextTries,
		NextCases:   []string{"error", "timeout"},
	}
}

func decodeHTTPOptions(w *walker, n *yaml.Node, p string, h *HTTPOptions) {
	f, ok := w.object(n, p, "max_body_size", "read_timeout", "send_timeout", "next_cases", "next_tries", "next_timeout", "proxy_buffer_size")
	if !ok {
		return
	}
	u32 := func(key string, lo, hi uint64, dst *uint32) {
		if v := f[key]; v != nil {
			if x, ok := w.uinteger(v, join(p, key), lo, hi); ok {
				*dst = uint32(x)
			}
		}
	}
	u32("max_body_size", 0, maxMaxBodySize, &h.MaxBodySize)
	u32("read_timeout", 0, maxHTTPTimeout, &h.ReadTimeout)
	u32("send_timeout", 0, maxHTTPTimeout, &h.SendTimeout)
	u32("next_tries", 0, 1<<31, &h.NextTries)
	u32("next_timeout", 0, 1<<31, &h.NextTimeout)
	u32("proxy_buffer_size", 0, maxProxyBufferSize, &h.ProxyBufferSize)
	if v := f["next_cases"]; v != nil {
		cases, ok := w.strList(v, join(p, "next_cases"))
		if !ok {
			return
		}
		if slices.Contains(cases, "off") {
			if len(cases) != 1 {
				w.errorf(line(v), join(p, "next_cases"), "off must be the only entry")
			}
			h.NextCases = []string{"off"}
			return
		}
		h.NextCases = nil
		for i, c := range cases {
			switch {
			case !slices.Contains(nextCases, c):
				w.errorf(line(v), index(join(p, "next_cases"), i), "%q: want one of %s, or just off", c, strings.Join(nextCases, ", "))
			case slices.Contains(h.NextCases, c):
				w.errorf(line(v), index(join(p, "next_cases"), i), "%q listed twice", c)
			default:
				h.NextCases = append(h.NextCases, c)
			}
		}
	}
}

func (svc *service) decodeParams(w *walker, n *yaml.Node) {
	p := join(svc.path, "params")
	f, ok := w.object(n, p, "storage", "permissions", "tee")
	if !ok {
		return
	}
	if v := f["storage"]; v != nil {
		sp := join(p, "storage")
		es, _ := w.entries(v, sp)
		svc.mounts = map[string]StorageParams{}
		svc.mountLines = map[string]int{}
		mountedAt := map[string]string{}
		for _, e := range es {
			vp := join(sp, e.key)
			mf, ok := w.object(e.val, vp, "mount", "readOnly")
			if !ok {
				continue
			}
			m := StorageParams{Name: e.key}
			if v := mf["mount"]; v == nil {
				w.errorf(e.line, join(vp, "mount"), "required: want an absolute path like /data")
			} else if m.Mount, ok = w.str(v, join(vp, "mount")); ok {
				clean := path.Clean(m.Mount)
				switch {
				case !path.IsAbs(m.Mount):
					w.errorf(line(v), join(vp, "mount"), "%q: want an absolute path like /data", m.Mount)
				case clean == "/":
					w.errorf(line(v), join(vp, "mount"), "%q: cannot mount over the root directory", m.Mount)
				case mountedAt[clean] != "":
					w.errorf(line(v), join(vp, "mount"), "%q is already the mount point of volume %s", m.Mount, mountedAt[clean])
				default:
					mountedAt[clean] = e.key
				}
			}
			if v := mf["readOnly"]; v != nil {
				m.ReadOnly, _ = w.boolean(v, join(vp, "readOnly"))
			}
			svc.mounts[e.key] = m
			svc.mountLines[e.key] = e.line
		}
	}
	if v := f["permissions"]; v != nil {
		pp := join(p, "permissions")
		pf, ok := w.object(v, pp, "read")
		if ok && pf["read"] != nil {
			reads, _ := w.strList(pf["read"], join(pp, "read"))
			for i, r := range reads {
				switch {
				case !slices.Contains([]string{"deployment", "logs", "events"}, r):
					w.errorf(line(pf["read"]), index(join(pp, "read"), i), "%q: want deployment, logs or events", r)
				case !slices.Contains(svc.permissions, r):
					svc.permissions = append(svc.permissions, r)
				}
			}
			slices.Sort(svc.permissions)
		}
	}
	if v := f["tee"]; v != nil {
		if t, ok := w.str(v, join(p, "tee")); ok {
			if t != "cpu" && t != "cpu-gpu" {
				w.errorf(line(v), join(p, "tee"), "%q: want cpu or cpu-gpu", t)
			} else {
				svc.tee = t
			}
		}
	}
}

func (svc *service) decodeCredentials(w *walker, n *yaml.Node) {
	p := join(svc.path, "credentials")
	f, ok := w.object(n, p, "host", "email", "username", "password")
	if !ok {
		return
	}
	c := &Credentials{}
	for _, k := range []struct {
		key string
		dst *string
	}{{"host", &c.Host}, {"email", &c.Email}, {"username", &c.Username}, {"password", &c.Password}} {
		v := f[k.key]
		if v == nil {
			if k.key != "email" {
				w.errorf(line(n), join(p, k.key), "required")
			}
			continue
		}
		*k.dst, _ = w.str(v, join(p, k.key))
	}
	if f["host"] != nil && strings.TrimSpace(c.Host) == "" {
		w.errorf(line(f["host"]), join(p, "host"), "empty: want a registry host like docker.io")
	}
	if f["username"] != nil && c.Username == "" {
		w.errorf(line(f["username"]), join(p, "username"), "empty")
	}
	if f["password"] != nil && len(c.Password) < 6 {
		w.errorf(line(f["password"]), join(p, "password"), "want at least 6 characters")
	}
	svc.creds = c
}

func (s *SDL) decodeDeployment(w *walker, n *yaml.Node) {
	es, ok := w.entries(n, "deployment")
	if !ok {
		return
	}
	for _, e := range es {
		sp := join("deployment", e.key)
		pes, ok := w.entries(e.val, sp)
		if !ok {
			continue
		}
		if len(pes) == 0 {
			w.errorf(e.line, sp, "want at least one placement: <placement>: {profile: <compute profile>, count: 1}")
		}
		targets := map[string]*deployTarget{}
		for _, pe := range pes {
			pp := join(sp, pe.key)
			f, ok := w.object(pe.val, pp, "profile", "count")
			if !ok {
				continue
			}
			t := &deployTarget{path: pp, line: pe.line}
			if v := f["profile"]; v == nil {
				w.errorf(pe.line, join(pp, "profile"), "required: want the name of a compute profile")
			} else {
				t.profile, _ = w.str(v, join(pp, "profile"))
				t.profileLine = line(v)
			}
			if v := f["count"]; v == nil {
				w.errorf(pe.line, join(pp, "count"), "required: want a replica count from 1 to %d", lmarket.MaxCount)
			} else if c, ok := w.uinteger(v, join(pp, "count"), 1, lmarket.MaxCount); ok {
				t.count = uint32(c)
			}
			targets[pe.key] = t
		}
		s.deployment[e.key] = targets
	}
}
