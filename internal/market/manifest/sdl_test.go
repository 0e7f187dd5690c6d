package manifest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market/manifest"
)

const (
	auditorAll = "deai1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5zhggge"
	auditorAny = "deai1zsf3yqqqqqqqqqqqqqqqqqqqqqqqqqqqy8pxf4"
)

// featuresSDL uses most of the grammar: v2.1 endpoints, every expose
// form, http_options, credentials, permissions, the deai extensions,
// a service in two placements and number forms of every quantity.
const featuresSDL = `version: "2.1"
services:
  api:
    image: ghcr.io/acme/api:2
    command: [/app/api]
    args: [--port, 8080]
    env:
      - LOG_LEVEL=debug
      - EMPTY
    expose:
      - port: 8080
        as: 80
        accept: [api.example.com, WWW.Example.com]
        http_options:
          max_body_size: 2097152
          read_timeout: 30000
          next_cases: [off]
        to:
          - global: true
          - service: worker
      - port: 9000
        proto: udp
        to:
          - global: true
      - port: 443
        to:
          - global: true
            ip: edge
    dependencies:
      - service: worker
    params:
      permissions:
        read: [logs, deployment]
      tee: cpu-gpu
    credentials:
      host: ghcr.io
      username: acme
      password: s3cret-pw
  worker:
    image: ghcr.io/acme/worker:2
    params:
      storage:
        models:
          mount: /models
        cache:
          mount: /cache
          readOnly: true
profiles:
  compute:
    api:
      resources:
        cpu: {units: 250m}
        memory: {size: 1.5Gi}
        storage: {size: 5Gi}
    worker:
      resources:
        cpu: {units: "2"}
        memory: {size: 16G}
        storage:
          - size: 20Gi
          - name: models
            size: 1Ti
            attributes: {persistent: "true", class: beta2}
          - name: cache
            size: 512Mi
            attributes: {class: ram}
        gpu:
          units: 2
          sharing: mps
          attributes:
            vendor:
              nvidia:
                - model: H100
                  ram: 80Gi
                  interface: SXM
                - model: a100
  placement:
    us:
      pricing:
        worker: {denom: udeai, amount: 100000}
    eu:
      attributes:
        region: eu-west
        capabilities/gpu/vendor/nvidia/model/*: true
      signedBy:
        allOf: [` + auditorAll + `]
        anyOf: [` + auditorAny + `]
      billing: usage
      pricing:
        api: {denom: udeai, amount: "250"}
        worker: {denom: udeai, amount: 120000.000}
deployment:
  worker:
    eu: {profile: worker, count: 1}
    us: {profile: worker, count: 2}
  api:
    eu: {profile: api, count: 3}
endpoints:
  edge:
    kind: ip
reclamation:
  min_window: 48h
`

func TestSDLFeatures(t *testing.T) {
	s := mustParseSDL(t, []byte(featuresSDL))
	if len(s.Warnings) != 0 {
		t.Errorf("warnings: %v", s.Warnings)
	}
	worker := lmarket.Resources{
		CPUMilli:    2000,
		MemoryBytes: 16000000000, // 16G, decimal
		Storage: []lmarket.Volume{
			{Name: "default", SizeBytes: 21474836480},                                    // 20Gi
			{Name: "models", SizeBytes: 1099511627776, Class: "beta2", Persistent: true}, // 1Ti
			{Name: "cache", SizeBytes: 536870912, Class: "ram"},                          // 512Mi
		},
		GPU: lmarket.GPU{Units: 2, Sharing: lmarket.SharingMPS, Attributes: []string{
			"vendor/nvidia/model/h100/ram/80Gi/interface/sxm", "vendor/nvidia/model/a100",
		}},
	}
	want := []lmarket.GroupSpec{
		{
			Name: "eu",
			Requirements: lmarket.Requirements{
				SignedBy: lmarket.SignedBy{AllOf: []string{auditorAll}, AnyOf: []string{auditorAny}},
				Attributes: []lmarket.Attribute{
					{Key: "capabilities/gpu/vendor/nvidia/model/*", Value: "true"},
					{Key: "capabilities/tee/cpu-gpu", Value: "true"}, // params.tee of api
					{Key: "region", Value: "eu-west"},
				},
			},
			Billing: lmarket.BillingUsage,
			Units: []lmarket.ResourceUnit{
				{
					ID: 1,
					Resources: lmarket.Resources{
						CPUMilli:    250,
						MemoryBytes: 1610612736, // 1.5Gi
						Storage:     []lmarket.Volume{{Name: "default", SizeBytes: 5368709120}},
						Endpoints: []lmarket.Endpoint{
							{Kind: lmarket.EndpointSharedHTTP},       // 8080 as 80
							{Kind: lmarket.EndpointRandomPort},       // 9000/udp
							{Kind: lmarket.EndpointLeasedIP, Seq: 1}, // 443 on edge
						},
					},
					Count: 3,
					Price: 250,
				},
				{ID: 2, Resources: worker, Count: 1, Price: 120000},
			},
		},
		{Name: "us", Units: []lmarket.ResourceUnit{{ID: 1, Resources: worker, Count: 2, Price: 100000}}},
	}
	if diff := cmp.Diff(want, s.Groups()); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	if got := s.ReclaimWindow(); got != 48*time.Hour {
		t.Errorf("ReclaimWindow() = %v, want 48h", got)
	}
	if s.Version != "2.1" || s.Denom() != "udeai" {
		t.Errorf("Version, Denom = %q, %q", s.Version, s.Denom())
	}

	m := s.Manifest()
	if len(m.Groups) != 2 || m.Groups[0].Name != "eu" || m.Groups[1].Name != "us" {
		t.Fatalf("manifest groups: %+v", m.Groups)
	}
	api := m.Groups[0].Services[0]
	wantAPI := manifest.Service{
		Name:      "api",
		Image:     "ghcr.io/acme/api:2",
		Command:   []string{"/app/api"},
		Args:      []string{"--port", "8080"},
		Env:       []string{"LOG_LEVEL=debug", "EMPTY="},
		Resources: want[0].Units[0].Resources,
		Count:     3,
		Expose: []manifest.Expose{
			{
				Port: 8080, ExternalPort: 80, Proto: "TCP", Global: true,
				Services: []string{"worker"},
				Hosts:    []string{"api.example.com", "www.example.com"},
				HTTPOptions: &manifest.HTTPOptions{
					MaxBodySize: 2097152, ReadTimeout: 30000, SendTimeout: 60000, NextTries: 3, NextCases: []string{"off"},
				},
			},
			{Port: 9000, ExternalPort: 9000, Proto: "UDP", Global: true},
			{Port: 443, ExternalPort: 443, Proto: "TCP", Global: true, IP: "edge"},
		},
		Params:      &manifest.Params{Permissions: []string{"deployment", "logs"}, TEE: "cpu-gpu"},
		Credentials: &manifest.Credentials{Host: "ghcr.io", Username: "acme", Password: "s3cret-pw"},
	}
	if diff := cmp.Diff(wantAPI, api); diff != "" {
		t.Errorf("api (-want +got):\n%s", diff)
	}
	wantParams := &manifest.Params{Storage: []manifest.StorageParams{
		{Name: "cache", Mount: "/cache", ReadOnly: true},
		{Name: "models", Mount: "/models"},
	}}
	for _, g := range m.Groups {
		w := g.Services[len(g.Services)-1]
		if diff := cmp.Diff(wantParams, w.Params); w.Name != "worker" || diff != "" {
			t.Errorf("group %s: worker params (-want +got):\n%s", g.Name, diff)
		}
	}
	if m.Groups[1].Services[0].Count != 2 {
		t.Errorf("us worker count = %d, want 2", m.Groups[1].Services[0].Count)
	}
}

// TestGroupsAreCopies checks that callers cannot change the parsed SDL
// through the slices Groups and Manifest return.
func TestGroupsAreCopies(t *testing.T) {
	s := mustParseSDL(t, []byte(featuresSDL))
	g := s.Groups()
	g[0].Units[1].Resources.GPU.Attributes[0] = "changed"
	g[0].Units[1].Resources.Storage[0].Name = "changed"
	g[0].Requirements.Attributes[0].Value = "changed"
	m := s.Manifest()
	m.Groups[0].Services[0].Env[0] = "changed"
	if diff := cmp.Diff(mustParseSDL(t, []byte(featuresSDL)).Groups(), s.Groups()); diff != "" {
		t.Errorf("Groups changed through a returned slice:\n%s", diff)
	}
	if got := s.Manifest().Groups[0].Services[0].Env[0]; got != "LOG_LEVEL=debug" {
		t.Errorf("Manifest changed through a returned slice: env[0] = %q", got)
	}
}

// TestSDLWarnings checks what is accepted with a warning.
func TestSDLWarnings(t *testing.T) {
	src := `version: "2.0"
include: [other.yaml]
services:
  web:
    image: nginx
    depends_on: [db]
    env: [A=1, A=2]
    expose:
      - port: 8080
        accept: [example.com]
        http_options: {max_body_size: 10}
        to: [{global: true}]
  idle:
    image: busybox
profiles:
  compute:
    web:
      resources:
        cpu: {units: 1, attributes: {arch: amd64}}
        memory: {size: 1Gi, kind: fast}
        storage: {size: 1Gi}
    spare:
      resources: {cpu: {units: 1}, memory: {size: 1Gi}, storage: {size: 1Gi}}
  placement:
    dc:
      signed_by: {anyOf: [x]}
      signedBy: {anyOf: [akash1abc]}
      pricing:
        web: {denom: uakt, amount: 10}
    empty:
      pricing:
        web: {denom: uakt, amount: 10}
deployment:
  web:
    dc: {profile: web, count: 1, replicas: 3}
reclamation: {min_window: 30m}
`
	s := mustParseSDL(t, []byte(src))
	want := []struct{ path, msg string }{ // in file order
		{"include", "not supported"},
		{"services.web.depends_on", "unknown key, ignored (did you mean dependencies?)"},
		{"services.web.env[1]", "A is set twice"},
		{"services.web.expose[0].accept", "only a global port exposed as 80 is served by host name"},
		{"services.web.expose[0].http_options", "only a global port exposed as 80 goes through the HTTP ingress"},
		{"services.idle", "not listed under deployment"},
		{"profiles.compute.web.resources.cpu.attributes", "not used by the deai market"},
		{"profiles.compute.web.resources.memory.kind", "unknown key, ignored; known keys here: size"},
		{"profiles.compute.spare", "not used by any deployment"},
		{"profiles.placement.dc.signed_by", "did you mean signedBy?"},
		{"profiles.placement.dc.signedBy.anyOf[0]", `"akash1abc" is not a deai address (deai1…): dropped`},
		{"profiles.placement.dc.pricing.web.denom", "uakt is read as udeai (1:1)"},
		{"profiles.placement.empty", "no service is deployed here"},
		{"deployment.web.dc.replicas", "did you mean count?"},
		{"reclamation.min_window", "30m is outside the range providers may offer (1h to 720h)"},
	}
	if len(s.Warnings) != len(want) {
		t.Errorf("%d warnings, want %d:\n%v", len(s.Warnings), len(want), s.Warnings)
	}
	for i, w := range want {
		if i >= len(s.Warnings) {
			break
		}
		if got := s.Warnings[i]; got.Path != w.path || !strings.Contains(got.Msg, w.msg) {
			t.Errorf("warning %d = %v, want %s: …%s…", i, got, w.path, w.msg)
		}
	}
	if got := s.Groups()[0].Units[0].Resources.Endpoints; !cmp.Equal(got, []lmarket.Endpoint{{Kind: lmarket.EndpointRandomPort}}) {
		t.Errorf("endpoints = %v, want one random port", got)
	}
}

// TestSDLAnchors checks YAML anchors, aliases and merge keys, which
// compose-style files use for shared profiles.
func TestSDLAnchors(t *testing.T) {
	src := strings.Replace(baseSDL, "    web:\n      resources:", "    base: &res\n      resources:\n        cpu: {units: 2}\n        memory: {size: 1Gi}\n        storage: {size: 1Gi}\n    web:\n      <<: *res\n      resources:", 1)
	src = strings.Replace(src, "          amount: 1000\n", "          amount: 1000\n        base: {denom: udeai, amount: 1}\n", 1)
	s, err := manifest.ParseSDL([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	// web's own resources win over the merged ones.
	if got := s.Groups()[0].Units[0].Resources.CPUMilli; got != 500 {
		t.Errorf("cpu = %dm, want 500m (explicit key beats <<)", got)
	}
	// Merge keys make a walker revisit aliased maps: ten merges per level,
	// seven levels, would be 10^7 visits without the step budget.
	laughs := "a0: &a0 {k: 1}\n"
	for i := 1; i <= 7; i++ {
		laughs += fmt.Sprintf("a%d: &a%d {<<: [%s]}\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	laughs += "version: \"2.0\"\nservices: {<<: [*a7]}\n"
	_, err = manifest.ParseSDL([]byte(laughs))
	if err == nil {
		t.Fatal("billion laughs parsed")
	}
	if !strings.Contains(err.Error(), "document too large: more than 200000 YAML nodes after expanding aliases") {
		t.Errorf("error: %v", err)
	}
}

func TestParseSDLTooLarge(t *testing.T) {
	_, err := manifest.ParseSDL(make([]byte, manifest.MaxFileSize+1))
	if err == nil || !strings.Contains(err.Error(), "want at most 1048576") {
		t.Errorf("err = %v", err)
	}
}

// TestExposeGlobalAndIP checks a port offered both on a random host port
// and on a leased IP: two endpoints, two manifest exposes.
func TestExposeGlobalAndIP(t *testing.T) {
	src := strings.Replace(baseSDL, `"2.0"`, `"2.1"`, 1)
	src = strings.Replace(src, "      - port: 80\n        to:\n          - global: true\n",
		"      - port: 22\n        to:\n          - global: true\n          - {global: true, ip: edge}\n          - service: web\n", 1)
	src += "endpoints:\n  edge:\n    kind: ip\n"
	s := mustParseSDL(t, []byte(src))
	wantEndpoints := []lmarket.Endpoint{{Kind: lmarket.EndpointRandomPort}, {Kind: lmarket.EndpointLeasedIP, Seq: 1}}
	if diff := cmp.Diff(wantEndpoints, s.Groups()[0].Units[0].Resources.Endpoints); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	wantExpose := []manifest.Expose{
		{Port: 22, ExternalPort: 22, Proto: "TCP", Global: true, Services: []string{"web"}},
		{Port: 22, ExternalPort: 22, Proto: "TCP", Global: true, IP: "edge"},
	}
	if diff := cmp.Diff(wantExpose, s.Manifest().Groups[0].Services[0].Expose); diff != "" {
		t.Errorf("expose (-want +got):\n%s", diff)
	}
}
