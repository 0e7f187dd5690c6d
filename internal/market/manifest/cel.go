package manifest

import (
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
)

// CEL selectors, recognised by pattern rather than evaluated: a selector
// is split at top-level && into conjuncts, and each conjunct that matches
// one of the forms below narrows the GPU request. Anything else is kept
// verbatim for the provider (it still applies it when allocating) and
// reported, and leaves the market request wider, never narrower.
//
//	device.driver == 'gpu.nvidia.com'                                  vendor nvidia (gpu.amd.com: amd)
//	device.attributes['gpu.nvidia.com'].type == 'gpu'                  (no effect)
//	has(device.attributes['gpu.nvidia.com'].productName)               (no effect)
//	….productName == 'NVIDIA H100 80GB HBM3'                          model h100, ram 80Gi
//	….productName.startsWith('NVIDIA H100') / .contains('H100')      model h100
//	….architecture == 'Hopper'                                        models of the architecture (archModels)
//	device.capacity['gpu.nvidia.com'].memory.compareTo(quantity('80Gi')) >= 0   ram 80Gi
//
// Providers match ram exactly, so ">= 80Gi" asks for 80Gi cards.

// selection is what the selectors of one alternative say.
type selection struct {
	vendor  string
	models  []string // OR
	ram     string
	iface   string
	unknown []string
}

const (
	celStr    = `(?:'([^'\\]*)'|"([^"\\]*)")`
	celDomain = `\[\s*` + celStr + `\s*\]`
)

var (
	celDriverRE   = regexp.MustCompile(`^device\.driver\s*==\s*` + celStr + `$`)
	celAttrEqRE   = regexp.MustCompile(`^device\.attributes` + celDomain + `\.(\w+)\s*==\s*` + celStr + `$`)
	celAttrCallRE = regexp.MustCompile(`^device\.attributes` + celDomain + `\.(\w+)\.(startsWith|contains)\(\s*` + celStr + `\s*\)$`)
	celHasRE      = regexp.MustCompile(`^has\(\s*device\.(?:attributes|capacity)` + celDomain + `\.\w+\s*\)$`)
	celMemoryRE   = regexp.MustCompile(`^device\.capacity` + celDomain + `\.memory\.compareTo\(\s*quantity\(\s*` + celStr + `\s*\)\s*\)\s*(>=|==)\s*0$`)
)

// archModels maps GPU architectures to the model names providers
// advertise (capabilities/gpu/vendor/<v>/model/<m>).
var archModels = map[string][]string{
	"hopper":       {"h100", "h200", "h800", "gh200"},
	"blackwell":    {"b200", "b100", "gb200", "rtx5090", "rtxpro6000"},
	"ampere":       {"a100", "a800", "a40", "a30", "a10", "a16", "a2", "rtxa6000", "rtxa5000", "rtxa4000", "rtx3090", "rtx3080"},
	"ada":          {"l40s", "l40", "l4", "rtx4090", "rtx4080", "rtx6000ada"},
	"ada lovelace": {"l40s", "l40", "l4", "rtx4090", "rtx4080", "rtx6000ada"},
	"turing":       {"t4", "rtx2080ti", "rtx2080", "quadrortx8000", "quadrortx6000"},
	"volta":        {"v100"},
}

func str(m []string, i int) string {
	if m[i] != "" {
		return m[i]
	}
	return m[i+1]
}

// vendorOfDomain returns the vendor of an attribute domain or driver name.
func vendorOfDomain(d string) string {
	switch d {
	case nvidiaGPUDriver:
		return "nvidia"
	case amdGPUDriver:
		return "amd"
	}
	return ""
}

// read applies one CEL expression and returns its unrecognised conjuncts.
func (s *selection) read(expr string) []string {
	var unknown []string
	for _, c := range splitAnd(expr) {
		if !s.conjunct(c) {
			unknown = append(unknown, c)
		}
	}
	s.unknown = append(s.unknown, unknown...)
	return unknown
}

func (s *selection) setVendor(v string) bool {
	if v == "" {
		return false
	}
	s.vendor = v
	return true
}

func (s *selection) conjunct(c string) bool {
	if m := celDriverRE.FindStringSubmatch(c); m != nil {
		return s.setVendor(vendorOfDomain(str(m, 1)))
	}
	if celHasRE.MatchString(c) {
		return true
	}
	if m := celAttrEqRE.FindStringSubmatch(c); m != nil {
		if !s.setVendor(vendorOfDomain(str(m, 1))) {
			return false
		}
		attr, val := m[3], str(m, 4)
		switch attr {
		case "type":
			return val == "gpu"
		case "productName":
			return s.product(val, true)
		case "architecture":
			models := archModels[strings.ToLower(val)]
			if len(models) == 0 {
				return false
			}
			if len(s.models) == 0 {
				s.models = slices.Clone(models)
			}
			return true
		}
		return false
	}
	if m := celAttrCallRE.FindStringSubmatch(c); m != nil {
		if !s.setVendor(vendorOfDomain(str(m, 1))) || m[3] != "productName" {
			return false
		}
		return s.product(str(m, 5), false)
	}
	if m := celMemoryRE.FindStringSubmatch(c); m != nil {
		if !s.setVendor(vendorOfDomain(str(m, 1))) {
			return false
		}
		q, err := resource.ParseQuantity(str(m, 3))
		if err != nil || q.Sign() <= 0 {
			return false
		}
		s.ram = FormatSize(uint64(q.Value()))
		return true
	}
	return false
}

// product reads a model (and, from a full product name, ram and
// interface) out of a product name such as "NVIDIA H100 80GB HBM3".
func (s *selection) product(name string, full bool) bool {
	model, ram, iface := parseProductName(name)
	if model == "" {
		return false
	}
	s.models = []string{model}
	if full || ram != "" {
		if ram != "" {
			s.ram = ram
		}
		if iface != "" {
			s.iface = iface
		}
	}
	return true
}

var productSizeRE = regexp.MustCompile(`^([0-9]{1,4})gb$`)

// parseProductName turns an NVIDIA/AMD product name into the model name
// providers use: "NVIDIA H100 80GB HBM3" → h100, 80Gi; "NVIDIA A100-SXM4-80GB"
// → a100, 80Gi, sxm; "NVIDIA GeForce RTX 4090" → rtx4090; "NVIDIA RTX A6000" → rtxa6000.
func parseProductName(name string) (model, ram, iface string) {
	tokens := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return r == ' ' || r == '-' || r == '_' })
	var parts []string
	done := false
	for _, t := range tokens {
		switch {
		case productSizeRE.MatchString(t):
			ram = productSizeRE.FindStringSubmatch(t)[1] + "Gi"
			done = true
		case strings.HasPrefix(t, "sxm"):
			iface, done = "sxm", true
		case t == "pcie":
			iface, done = "pcie", true
		case slices.Contains([]string{"hbm2", "hbm2e", "hbm3", "hbm3e", "nvl", "nvlink", "gddr6", "gddr6x"}, t):
			done = true
		case slices.Contains([]string{"nvidia", "amd", "geforce", "tesla", "instinct", "radeon"}, t):
		case !done:
			parts = append(parts, t)
		}
	}
	model = strings.Join(parts, "")
	if !gpuModelRE.MatchString(model) || model == "*" {
		return "", "", ""
	}
	return model, ram, iface
}

// attributes renders the selection as GPU attribute keys (OR).
func (s *selection) attributes() []string {
	vendor := s.vendor
	if vendor == "" {
		vendor = "nvidia"
	}
	models := s.models
	if len(models) == 0 {
		models = []string{"*"}
	}
	var out []string
	for _, m := range models {
		a := lmarket.GPUAttr{Vendor: vendor, Model: m, RAM: s.ram, Interface: s.iface}
		if _, err := lmarket.ParseGPUAttr(a.String()); err == nil {
			out = append(out, a.String())
		}
	}
	return out
}

// splitAnd splits a CEL expression at top-level && (outside strings and
// brackets), trimming whitespace and redundant outer parentheses.
func splitAnd(expr string) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == '&' && depth == 0 && i+1 < len(expr) && expr[i+1] == '&':
			out = append(out, expr[start:i])
			start = i + 2
			i++
		}
	}
	out = append(out, expr[start:])
	var flat []string
	for _, part := range out {
		t := trimParens(part)
		// A parenthesised conjunction splits further: (a && b) && c.
		if t != strings.Join(strings.Fields(part), " ") && strings.Contains(t, "&&") {
			flat = append(flat, splitAnd(t)...)
		} else if t != "" {
			flat = append(flat, t)
		}
	}
	return flat
}

// trimParens trims space and parentheses that enclose the whole string.
func trimParens(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	for len(s) >= 2 && s[0] == '(' && s[len(s)-1] == ')' && balanced(s[1:len(s)-1]) {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	return s
}

func balanced(s string) bool {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0 && quote == 0
}
