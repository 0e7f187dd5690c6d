package manifest_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/market/manifest"
)

// baseSDL is a small valid SDL that the invalid cases edit.
const baseSDL = `version: "2.0"
services:
  web:
    image: nginx:1.27
    env:
      - MODE=prod
    expose:
      - port: 80
        to:
          - global: true
profiles:
  compute:
    web:
      resources:
        cpu:
          units: 0.5
        memory:
          size: 512Mi
        storage:
          size: 1Gi
  placement:
    dc:
      pricing:
        web:
          denom: udeai
          amount: 1000
deployment:
  web:
    dc:
      profile: web
      count: 2
`

// twoServices adds a service api to baseSDL, deployed beside web.
func twoServices(s string) string {
	s = strings.Replace(s, "profiles:\n", `  api:
    image: api:1
    expose:
      - port: 8080
        to:
          - service: web
profiles:
`, 1)
	return s + "  api:\n    dc:\n      profile: web\n      count: 1\n"
}

func edit(pairs ...string) func(string) string {
	return func(s string) string {
		for i := 0; i+1 < len(pairs); i += 2 {
			if !strings.Contains(s, pairs[i]) {
				panic("edit: base has no " + pairs[i])
			}
			s = strings.Replace(s, pairs[i], pairs[i+1], 1)
		}
		return s
	}
}

func TestBaseSDLIsValid(t *testing.T) {
	s := mustParseSDL(t, []byte(baseSDL))
	if len(s.Warnings) != 0 {
		t.Errorf("warnings: %v", s.Warnings)
	}
	g := s.Groups()
	if len(g) != 1 || g[0].Units[0].Resources.CPUMilli != 500 || g[0].Units[0].Resources.MemoryBytes != 512<<20 || g[0].Units[0].Count != 2 {
		t.Errorf("groups: %+v", g)
	}
	for _, f := range []func(string) string{twoServices} {
		mustParseSDL(t, []byte(f(baseSDL)))
	}
}

// TestInvalidSDL checks that each broken SDL fails with errors at exactly
// the listed field paths, the first saying what is wrong.
func TestInvalidSDL(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(string) string
		paths []string // every error's path, in order
		msg   string   // part of the first error's message
		line  int      // the first error's line, when checked
	}{
		// Syntax and top level.
		{"not yaml", func(string) string { return "version: [\n" }, []string{""}, "not valid YAML", 0},
		{"empty file", func(string) string { return "" }, []string{""}, "empty file", 0},
		{"top level is a list", func(string) string { return "- a\n" }, []string{""}, `got a list: want a map`, 1},
		{"missing version", edit("version: \"2.0\"\n", ""), []string{"version"}, "required", 0},
		{"bad version", edit(`"2.0"`, `"3.0"`), []string{"version"}, `"3.0": want "2.0" or "2.1"`, 1},
		{"missing profiles", func(s string) string { return s[:strings.Index(s, "profiles:")] + s[strings.Index(s, "deployment:"):] }, []string{"profiles"}, "required", 0},
		{"missing placement", edit("  placement:\n    dc:\n      pricing:\n        web:\n          denom: udeai\n          amount: 1000\n", ""), []string{"profiles.placement"}, "required", 0},
		{"duplicate key", edit("    image: nginx:1.27\n", "    image: nginx:1.27\n    image: nginx:1.28\n"), []string{"services.web.image"}, "key set twice (lines 4 and 5)", 5},
		{"no services", func(s string) string {
			return s[:strings.Index(s, "services:")] + "services: {}\n" + s[strings.Index(s, "profiles:"):]
		},
			[]string{"services"}, "want at least one service", 2},

		// Services.
		{"missing image", edit("    image: nginx:1.27\n", ""), []string{"services.web.image"}, "required", 0},
		{"image with space", edit("nginx:1.27", "nginx 1.27"), []string{"services.web.image"}, "no spaces", 4},
		{"bad service name", edit("  web:\n    image", "  Web_1:\n    image", "  web:\n    dc:", "  Web_1:\n    dc:"), []string{"services.Web_1"}, "want a DNS label", 3},
		{"env without key", edit("MODE=prod", "=prod"), []string{"services.web.env[0]"}, `"=prod": want KEY=value`, 6},
		{"env is a map", edit("    env:\n      - MODE=prod\n", "    env:\n      MODE: prod\n"), []string{"services.web.env"}, "got a map: want a list", 0},
		{"command not strings", edit("    env:\n", "    command:\n      - [a]\n    env:\n"), []string{"services.web.command[0]"}, "got a list: want a string", 0},
		{"port 0", edit("port: 80", "port: 0"), []string{"services.web.expose[0].port"}, `"0": want a whole number from 1 to 65535`, 8},
		{"port too big", edit("port: 80", "port: 70000"), []string{"services.web.expose[0].port"}, "from 1 to 65535", 0},
		{"port missing", edit("      - port: 80\n        to:", "      - to:"), []string{"services.web.expose[0].port"}, "required", 0},
		{"as too big", edit("        to:\n          - global", "        as: 65536\n        to:\n          - global"), []string{"services.web.expose[0].as"}, "from 1 to 65535", 0},
		{"bad proto", edit("        to:\n          - global", "        proto: sctp\n        to:\n          - global"), []string{"services.web.expose[0].proto"}, `"sctp": want TCP or UDP`, 0},
		{"empty to", edit("- global: true", "- {}"), []string{"services.web.expose[0].to[0]"}, "empty: want global: true", 0},
		{"global not bool", edit("global: true", "global: yes please"), []string{"services.web.expose[0].to[0].global", "services.web.expose[0].to[0]"}, `"yes please": want true or false`, 0},
		{"to unknown service", edit("- global: true", "- service: api"), []string{"services.web.expose[0].to[0].service"}, `no service named "api"`, 10},
		{"ip without global", edit("- global: true", "- ip: myip"), []string{"services.web.expose[0].to[0].ip"}, "an ip endpoint needs global: true", 0},
		{"ip endpoint undeclared", edit(`"2.0"`, `"2.1"`, "- global: true", "- {global: true, ip: myip}"), []string{"services.web.expose[0].to[0].ip"}, `no endpoint named "myip"`, 0},
		{"accept bad host", edit("        to:\n          - global", "        accept: [\"exa mple.com\"]\n        to:\n          - global"), []string{"services.web.expose[0].accept[0]"}, `"exa mple.com": want a host name`, 0},
		{"max body too big", edit("        to:\n          - global", "        http_options:\n          max_body_size: 104857601\n        to:\n          - global"),
			[]string{"services.web.expose[0].http_options.max_body_size"}, `"104857601": want a whole number from 0 to 104857600`, 0},
		{"read timeout too long", edit("        to:\n          - global", "        http_options:\n          read_timeout: 60001\n        to:\n          - global"),
			[]string{"services.web.expose[0].http_options.read_timeout"}, "from 0 to 60000", 0},
		{"proxy buffer too big", edit("        to:\n          - global", "        http_options:\n          proxy_buffer_size: 2Mi\n        to:\n          - global"),
			[]string{"services.web.expose[0].http_options.proxy_buffer_size"}, `"2Mi": want a whole number`, 0},
		{"next cases off plus", edit("        to:\n          - global", "        http_options:\n          next_cases: [off, error]\n        to:\n          - global"),
			[]string{"services.web.expose[0].http_options.next_cases"}, "off must be the only entry", 0},
		{"next case unknown", edit("        to:\n          - global", "        http_options:\n          next_cases: [error, 501]\n        to:\n          - global"),
			[]string{"services.web.expose[0].http_options.next_cases[1]"}, `"501": want one of error, timeout, 500`, 0},
		{"dependency unknown", edit("    env:\n", "    dependencies:\n      - service: db\n    env:\n"), []string{"services.web.dependencies[0].service"}, `no service named "db"`, 0},
		{"permissions unknown", edit("    env:\n", "    params:\n      permissions:\n        read: [secrets]\n    env:\n"), []string{"services.web.params.permissions.read[0]"}, `"secrets": want deployment, logs or events`, 0},
		{"tee unknown", edit("    env:\n", "    params:\n      tee: sgx\n    env:\n"), []string{"services.web.params.tee"}, `"sgx": want cpu or cpu-gpu`, 0},
		{"credentials incomplete", edit("    env:\n", "    credentials:\n      host: ghcr.io\n      password: abc\n    env:\n"),
			[]string{"services.web.credentials.username", "services.web.credentials.password"}, "required", 0},

		// Volumes and mounts.
		{"mount unknown volume", edit("    env:\n", "    params:\n      storage:\n        data:\n          mount: /data\n    env:\n"),
			[]string{"services.web.params.storage.data"}, `no volume named "data" in compute profile web (volumes: default)`, 0},
		{"mount relative", edit("    env:\n", "    params:\n      storage:\n        data:\n          mount: data\n    env:\n"), []string{"services.web.params.storage.data.mount"}, `"data": want an absolute path`, 0},
		{"mount twice", edit("    env:\n", "    params:\n      storage:\n        a:\n          mount: /data\n        b:\n          mount: /data/\n    env:\n"),
			[]string{"services.web.params.storage.b.mount"}, `"/data/" is already the mount point of volume a`, 0},
		{"persistent not mounted", edit("          size: 1Gi\n", "          - size: 1Gi\n          - name: data\n            size: 10Gi\n            attributes: {persistent: true, class: beta2}\n"),
			[]string{"profiles.compute.web.resources.storage"}, `persistent volume "data" is not mounted by service web`, 0},
		{"persistent without class", edit("          size: 1Gi\n", "          size: 1Gi\n          attributes:\n            persistent: true\n"),
			[]string{"profiles.compute.web.resources.storage.attributes.class"}, "a persistent volume needs a class", 0},
		{"class on ephemeral", edit("          size: 1Gi\n", "          size: 1Gi\n          attributes:\n            class: beta2\n"),
			[]string{"profiles.compute.web.resources.storage.attributes.class"}, `"beta2" on an ephemeral volume`, 0},
		{"ram persistent", edit("          size: 1Gi\n", "          - size: 1Gi\n          - name: shm\n            size: 1Gi\n            attributes: {class: ram, persistent: true}\n"),
			[]string{"profiles.compute.web.resources.storage[1].attributes.persistent"}, "class ram is memory and cannot be persistent", 0},
		{"unknown class", edit("          size: 1Gi\n", "          size: 1Gi\n          attributes: {class: gold, persistent: true}\n"),
			[]string{"profiles.compute.web.resources.storage.attributes.class", "profiles.compute.web.resources.storage.attributes.class"}, `"gold": want beta1 (HDD)`, 0},
		{"unknown volume attribute", edit("          size: 1Gi\n", "          size: 1Gi\n          attributes: {fast: true}\n"),
			[]string{"profiles.compute.web.resources.storage.attributes.fast"}, "unknown volume attribute: want class or persistent", 0},
		{"two ephemeral volumes", edit("          size: 1Gi\n", "          - size: 1Gi\n          - size: 2Gi\n"),
			[]string{"profiles.compute.web.resources.storage[1]"}, "a second ephemeral volume (the first is profiles.compute.web.resources.storage[0])", 0},
		{"volume names clash", edit("          size: 1Gi\n", "          - size: 1Gi\n          - {name: shm, size: 1Gi, attributes: {class: ram}}\n          - {name: shm, size: 2Gi, attributes: {class: ram}}\n"),
			[]string{"profiles.compute.web.resources.storage[2]"}, `volume name "shm" already used`, 0},
		{"bad volume name", edit("          size: 1Gi\n", "          - size: 1Gi\n          - {name: Data_1, size: 1Gi, attributes: {class: ram}}\n"),
			[]string{"profiles.compute.web.resources.storage[1].name"}, `"Data_1": want lower-case letters`, 0},
		{"volume too small", edit("size: 1Gi", "size: 1Mi"), []string{"profiles.compute.web.resources.storage.size"}, `"1Mi": want 5Mi to 32Ti`, 20},
		{"no volumes", edit("          size: 1Gi\n", "          []\n"), []string{"profiles.compute.web.resources.storage"}, "want at least one volume", 0},

		// Compute.
		{"memory unit", edit("size: 512Mi", "size: 12Q"), []string{"profiles.compute.web.resources.memory.size"}, `"12Q": want a quantity like 512Mi or 4Gi`, 18},
		{"memory too big", edit("size: 512Mi", "size: 3Ti"), []string{"profiles.compute.web.resources.memory.size"}, `"3Ti": want 1Mi to 2Ti`, 0},
		{"memory missing", edit("        memory:\n          size: 512Mi\n", ""), []string{"profiles.compute.web.resources.memory"}, "required", 0},
		{"cpu too fine", edit("units: 0.5", "units: 0.0005"), []string{"profiles.compute.web.resources.cpu.units"}, "finer than a millicore", 16},
		{"cpu zero", edit("units: 0.5", "units: 0"), []string{"profiles.compute.web.resources.cpu.units"}, `"0": want more than 0`, 0},
		{"cpu below minimum", edit("units: 0.5", "units: 5m"), []string{"profiles.compute.web.resources.cpu.units"}, `"5m": want 10m to 384000m (0.01 to 384 CPUs)`, 0},
		{"cpu too many", edit("units: 0.5", "units: 385"), []string{"profiles.compute.web.resources.cpu.units"}, "want 10m to 384000m", 0},
		{"cpu words", edit("units: 0.5", "units: two"), []string{"profiles.compute.web.resources.cpu.units"}, `"two": want a number of CPUs like 1, 0.5 or 500m`, 0},
		{"cpu negative", edit("units: 0.5", "units: -1"), []string{"profiles.compute.web.resources.cpu.units"}, `"-1": want a number of CPUs`, 0},
		{"gpu without attributes", edit("        storage:\n", "        gpu:\n          units: 1\n        storage:\n"), []string{"profiles.compute.web.resources.gpu.attributes"}, "required when units > 0", 0},
		{"gpu attributes without units", edit("        storage:\n", "        gpu:\n          units: 0\n          attributes: {vendor: {nvidia: }}\n        storage:\n"),
			[]string{"profiles.compute.web.resources.gpu.units"}, "0 with GPU attributes", 0},
		{"gpu too many", edit("        storage:\n", "        gpu:\n          units: 25\n          attributes: {vendor: {nvidia: }}\n        storage:\n"),
			[]string{"profiles.compute.web.resources.gpu.units"}, `"25": want a whole number from 0 to 24`, 0},
		{"gpu vendor", edit("        storage:\n", "        gpu:\n          units: 1\n          attributes: {vendor: {intel: }}\n        storage:\n"),
			[]string{"profiles.compute.web.resources.gpu.attributes.vendor.intel"}, "unknown GPU vendor: want nvidia", 0},
		{"gpu interface", edit("        storage:\n", "        gpu:\n          units: 1\n          attributes: {vendor: {nvidia: [{model: h100, interface: nvlink}]}}\n        storage:\n"),
			[]string{"profiles.compute.web.resources.gpu.attributes.vendor.nvidia[0].interface"}, `"nvlink": want pcie or sxm`, 0},
		{"gpu ram", edit("        storage:\n", "        gpu:\n          units: 1\n          attributes: {vendor: {nvidia: [{model: h100, ram: 80GB}]}}\n        storage:\n"),
			[]string{"profiles.compute.web.resources.gpu.attributes.vendor.nvidia[0].ram"}, `"80GB": want a size like 24Gi or 80Gi`, 0},
		{"gpu model missing", edit("        storage:\n", "        gpu:\n          units: 1\n          attributes: {vendor: {nvidia: [{ram: 80Gi}]}}\n        storage:\n"),
			[]string{"profiles.compute.web.resources.gpu.attributes.vendor.nvidia[0].model"}, "required", 0},
		{"gpu sharing", edit("        storage:\n", "        gpu:\n          units: 1\n          attributes: {vendor: {nvidia: }}\n          sharing: mig\n        storage:\n"),
			[]string{"profiles.compute.web.resources.gpu.sharing"}, `"mig": want time-slicing or mps`, 0},

		// Placement and pricing.
		{"pricing missing", edit("      pricing:\n        web:\n          denom: udeai\n          amount: 1000\n", "      attributes: {region: eu}\n"),
			[]string{"profiles.placement.dc.pricing"}, "required", 0},
		{"bad denom", edit("denom: udeai", "denom: uusdc"), []string{"profiles.placement.dc.pricing.web.denom"}, `"uusdc": want udeai (uact and uakt are read as udeai)`, 25},
		{"fractional amount", edit("amount: 1000", "amount: 0.5"), []string{"profiles.placement.dc.pricing.web.amount"}, `"0.5": fractional amount: prices are whole udeai per block per replica`, 26},
		{"amount too big", edit("amount: 1000", "amount: 10000001"), []string{"profiles.placement.dc.pricing.web.amount"}, "10000001 udeai per block: want at most 10000000", 0},
		{"amount words", edit("amount: 1000", "amount: lots"), []string{"profiles.placement.dc.pricing.web.amount"}, `"lots": want a whole number of udeai`, 0},
		{"two denoms", func(s string) string {
			return edit("        web:\n          denom: udeai", "        other:\n          denom: uakt\n          amount: 5\n        web:\n          denom: udeai")(s)
		}, []string{"profiles.placement.dc.pricing.web.denom"}, "udeai, but profiles.placement.dc.pricing.other is uakt: all prices of a deployment use one denom", 0},
		{"bad attribute key", edit("      pricing:", "      attributes:\n        1region: eu\n      pricing:"), []string{"profiles.placement.dc.attributes.1region"}, `attribute key "1region": want a letter`, 0},
		{"attribute value list", edit("      pricing:", "      attributes:\n        region: [eu]\n      pricing:"), []string{"profiles.placement.dc.attributes.region"}, "got a list: want a string", 0},
		{"signedBy not a list", edit("      pricing:", "      signedBy:\n        anyOf: deai1x\n      pricing:"), []string{"profiles.placement.dc.signedBy.anyOf"}, `got "deai1x": want a list`, 0},
		{"billing unknown", edit("      pricing:", "      billing: monthly\n      pricing:"), []string{"profiles.placement.dc.billing"}, `"monthly": want per-block (the default) or usage`, 0},
		{"placement name too long", edit("    dc:\n      pricing", "    "+strings.Repeat("d", 65)+":\n      pricing", "    dc:\n      profile", "    "+strings.Repeat("d", 65)+":\n      profile"),
			[]string{"profiles.placement." + strings.Repeat("d", 65)}, "placement name longer than 64 characters", 0},

		// Deployment cross-references.
		{"no compute profile", edit("profile: web", "profile: wbe"), []string{"deployment.web.dc.profile"}, `no compute profile named "wbe" (compute profiles: web)`, 30},
		{"no placement profile", edit("  web:\n    dc:", "  web:\n    eu:"), []string{"deployment.web.eu"}, `no placement profile named "eu" (placements: dc)`, 29},
		{"no service profile", edit("deployment:\n  web:", "deployment:\n  api:\n    dc:\n      profile: web\n      count: 1\n  web:"), []string{"deployment.api"}, `no service profile named "api" (services: web)`, 0},
		{"no pricing for profile", func(s string) string {
			s = edit("  placement:", "    big:\n      resources:\n        cpu: {units: 1}\n        memory: {size: 1Gi}\n        storage: {size: 1Gi}\n  placement:")(s)
			return edit("profile: web", "profile: big")(s)
		}, []string{"deployment.web.dc.profile"}, `no pricing for profile "big" in placement "dc"`, 0},
		{"count zero", edit("count: 2", "count: 0"), []string{"deployment.web.dc.count"}, `"0": want a whole number from 1 to 50`, 31},
		{"count too big", edit("count: 2", "count: 51"), []string{"deployment.web.dc.count"}, "from 1 to 50", 0},
		{"count missing", edit("      count: 2\n", ""), []string{"deployment.web.dc.count"}, "required", 0},
		{"deployment empty", edit("deployment:\n  web:\n    dc:\n      profile: web\n      count: 2\n", "deployment: {}\n"), []string{"deployment"}, "empty: want at least one", 0},

		// Endpoints and reclamation (2.1).
		{"endpoints in 2.0", func(s string) string { return s + "endpoints:\n  myip:\n    kind: ip\n" }, []string{"endpoints"}, `needs version "2.1"`, 0},
		{"endpoint unused", func(s string) string { return edit(`"2.0"`, `"2.1"`)(s) + "endpoints:\n  myip:\n    kind: ip\n" },
			[]string{"endpoints.myip"}, "declared but no service exposes a port on it", 0},
		{"endpoint kind", func(s string) string {
			return edit(`"2.0"`, `"2.1"`, "- global: true", "- {global: true, ip: myip}")(s) + "endpoints:\n  myip:\n    kind: shared\n"
		}, []string{"endpoints.myip.kind"}, `"shared": want ip`, 0},
		{"endpoint name", func(s string) string {
			return edit(`"2.0"`, `"2.1"`, "- global: true", "- {global: true, ip: IP}")(s) + "endpoints:\n  IP:\n    kind: ip\n"
		}, []string{"endpoints.IP"}, "invalid name", 0},
		{"endpoint port claimed twice", func(s string) string {
			s = twoServices(edit(`"2.0"`, `"2.1"`, "- global: true", "- {global: true, ip: myip}")(s))
			s = edit("- port: 8080\n        to:\n          - service: web", "- port: 80\n        to:\n          - {global: true, ip: myip}")(s)
			return s + "endpoints:\n  myip:\n    kind: ip\n"
		}, []string{"services.web.expose[0].to[0].ip"}, "endpoint myip port 80/TCP is already claimed by service api", 0},
		{"reclamation window", func(s string) string { return s + "reclamation:\n  min_window: 24\n" }, []string{"reclamation.min_window"}, `"24": want a whole number of s, m or h, like 24h`, 0},
		{"reclamation zero", func(s string) string { return s + "reclamation:\n  min_window: 0h\n" }, []string{"reclamation.min_window"}, `"0h"`, 0},

		// Group limits, checked on the generated groups.
		{"too many units in a group", func(s string) string {
			for i := range 20 {
				name := "s" + string(rune('a'+i))
				s = edit("profiles:\n", "  "+name+":\n    image: x\nprofiles:\n")(s)
				s += "  " + name + ":\n    dc:\n      profile: web\n      count: 1\n"
			}
			return s
		}, []string{"profiles.placement.dc"}, "21 services deployed here: a group holds at most 20", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.edit(baseSDL)
			s, err := manifest.ParseSDL([]byte(src))
			if err == nil {
				t.Fatalf("ParseSDL succeeded (%d groups), want errors at %v\n%s", len(s.Groups()), tt.paths, src)
			}
			fes := manifest.FieldErrors(err)
			var paths []string
			for _, fe := range fes {
				paths = append(paths, fe.Path)
			}
			if diff := cmp.Diff(tt.paths, paths); diff != "" {
				t.Errorf("error paths (-want +got):\n%s\nerror: %v", diff, err)
			}
			if !strings.Contains(fes[0].Msg, tt.msg) {
				t.Errorf("first error %q does not say %q", fes[0].Error(), tt.msg)
			}
			if tt.line != 0 && fes[0].Line != tt.line {
				t.Errorf("first error on line %d, want %d: %v", fes[0].Line, tt.line, fes[0])
			}
			if !strings.HasPrefix(err.Error(), fes[0].Error()) {
				t.Errorf("Error() = %q does not start with the first field error", err.Error())
			}
		})
	}
}
