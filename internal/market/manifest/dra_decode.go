package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	resourcev1 "k8s.io/api/resource/v1"
	resourcev1beta1 "k8s.io/api/resource/v1beta1"
	resourcev1beta2 "k8s.io/api/resource/v1beta2"
	kjson "sigs.k8s.io/json"
	kyaml "sigs.k8s.io/yaml"
)

// Reading DRA files: documents, YAML problems, strict decoding into the
// k8s.io/api types, and the explanations of common mistakes.

// draDoc is one YAML document of a DRA file.
type draDoc struct {
	start int // first line in the file, 1-based
	data  []byte
	root  *yaml.Node
}

// splitDocs splits a multi-document YAML file at "---" lines.
func splitDocs(data []byte) []draDoc {
	var docs []draDoc
	cur := draDoc{start: 1}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i, l := range lines {
		t := bytes.TrimRight(l, " \t\r\n")
		if bytes.Equal(t, []byte("---")) || bytes.HasPrefix(t, []byte("--- ")) || bytes.HasPrefix(t, []byte("---\t")) {
			docs = append(docs, cur)
			cur = draDoc{start: i + 2}
			continue
		}
		cur.data = append(cur.data, l...)
	}
	docs = append(docs, cur)
	out := docs[:0]
	for _, d := range docs {
		if len(bytes.TrimSpace(stripComments(d.data))) > 0 {
			out = append(out, d)
		}
	}
	return out
}

// stripComments drops whole-line comments, to tell empty documents apart.
func stripComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(out, l...)
		}
	}
	return out
}

// parseDoc parses one document as a node tree (for lines and duplicate
// keys) and reports YAML errors with file line numbers.
func (p *draParser) parseDoc(d *draDoc) (*yaml.Node, bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal(d.data, &doc); err != nil {
		fe := yamlError(err)
		if fe.Line > 0 {
			fe.Line += d.start - 1
		}
		p.errs = append(p.errs, fe)
		return nil, false
	}
	if len(doc.Content) == 0 {
		return nil, false
	}
	root := doc.Content[0]
	shift(root, d.start-1, 0)
	d.root = root
	if root.Kind != yaml.MappingNode {
		p.errorf(root.Line, "", "got %s: want a Kubernetes object (apiVersion, kind, metadata, spec)", kindName(root))
		return nil, false
	}
	if p.checkDuplicates(root) {
		return nil, false
	}
	return root, true
}

// shift moves the node lines of a document to file lines.
func shift(n *yaml.Node, by, depth int) {
	if n == nil || depth > 200 {
		return
	}
	n.Line += by
	for _, c := range n.Content {
		shift(c, by, depth+1)
	}
}

// topString returns a top-level scalar of a mapping, "" when absent.
func topString(n *yaml.Node, key string) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}

// topKeys are the keys a Kubernetes object has at the top level.
var topKeys = []string{"apiVersion", "kind", "metadata", "spec", "status"}

// checkDuplicates reports keys set twice anywhere in the document; at
// the top level, next to stray keys, it explains the flat indentation
// that usually causes it.
func (p *draParser) checkDuplicates(root *yaml.Node) bool {
	found := false
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		if n == nil || depth > 100 || p.full() {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			seen := map[string]int{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if first, dup := seen[k.Value]; dup {
					found = true
					p.errorf(k.Line, join(path, k.Value), "%s", p.duplicateMsg(n, path, k.Value, first, k.Line))
					continue
				}
				seen[k.Value] = k.Line
				walk(n.Content[i+1], join(path, k.Value), depth+1)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, index(path, i), depth+1)
			}
		}
	}
	walk(root, "", 0)
	return found
}

func (p *draParser) duplicateMsg(n *yaml.Node, path, key string, first, again int) string {
	msg := fmt.Sprintf("key set twice (lines %d and %d)", first, again)
	if path != "" {
		return msg
	}
	var stray []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !slices.Contains(topKeys, k) && !slices.Contains(stray, k) {
			stray = append(stray, k)
		}
	}
	if len(stray) == 0 {
		return msg
	}
	return fmt.Sprintf("%s at the top level, where %s also sit: the document is not indented, so metadata and spec are empty and every field is a top-level key. "+
		"Indent it: metadata: {name, namespace} and spec: {spec: {devices: {requests: [...]}}}, as in kubectl explain resourceclaimtemplate.spec.spec.devices",
		msg, strings.Join(stray, ", "))
}

// checkVersion accepts the resource.k8s.io versions that hold claims and
// explains the ones that do not.
func (p *draParser) checkVersion(d *draDoc, apiVersion, kind string) (string, bool) {
	l := lineOfKey(d.root, "apiVersion")
	group, version, _ := strings.Cut(apiVersion, "/")
	if group != draGroup {
		p.errorf(l, "apiVersion", "%q: a %s is in group %s; %s", apiVersion, kind, draGroup, v1Advice)
		return "", false
	}
	switch version {
	case "v1", "v1beta2", "v1beta1":
		return version, true
	case "v1alpha3":
		p.errorf(l, "apiVersion", "resource.k8s.io/v1alpha3 is a dead end: it was the alpha API of Kubernetes 1.31 (off unless the DynamicResourceAllocation gate and --runtime-config enable it), "+
			"and from 1.34 v1alpha3 has no %s at all; %s", kind, v1Advice)
		// Its request layout is v1beta1's: decode with those types to
		// report field mistakes in the same pass.
		return "v1alpha3", true
	case "v1alpha2":
		p.errorf(l, "apiVersion", "resource.k8s.io/v1alpha2 is classic DRA, removed from Kubernetes; %s", v1Advice)
	default:
		p.errorf(l, "apiVersion", "%q: want resource.k8s.io/v1 (or v1beta2, v1beta1); %s", apiVersion, v1Advice)
	}
	return "", false
}

func lineOfKey(n *yaml.Node, key string) int {
	if n == nil {
		return 0
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i].Line
		}
	}
	return n.Line
}

// lineOf finds the line of a field path like spec.spec.devices.requests[0].exactly.
func lineOf(root *yaml.Node, path string) int {
	n, best := root, line(root)
	for _, part := range strings.Split(path, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			name = part[:i]
			fmt.Sscanf(part[i+1:len(part)-1], "%d", &idx)
		}
		if n == nil || n.Kind != yaml.MappingNode {
			return best
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				best, next = n.Content[i].Line, n.Content[i+1]
				break
			}
		}
		if next == nil {
			return best
		}
		n = next
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return best
			}
			n = n.Content[idx]
			best = n.Line
		}
	}
	return best
}

// Neutral shapes: one struct that holds every version's layout, read
// (leniently) after the strict decode into the versioned type passed.

type nObject struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

type nClaimTemplate struct {
	nObject
	Spec struct {
		Spec nClaimSpec `json:"spec"`
	} `json:"spec"`
}

type nClaim struct {
	nObject
	Spec nClaimSpec `json:"spec"`
}

type nClaimSpec struct {
	Devices struct {
		Requests    []nRequest        `json:"requests"`
		Constraints []json.RawMessage `json:"constraints"`
		Config      []nConfig         `json:"config"`
	} `json:"devices"`
}

type nRequest struct {
	nSub                  // v1beta1 / v1alpha3: the device fields sit on the request
	Exactly        *nSub  `json:"exactly"`        // v1 / v1beta2
	FirstAvailable []nSub `json:"firstAvailable"` // all versions from v1beta1
}

type nSub struct {
	Name            string            `json:"name"`
	DeviceClassName string            `json:"deviceClassName"`
	Selectors       []nSelector       `json:"selectors"`
	AllocationMode  string            `json:"allocationMode"`
	Count           int64             `json:"count"`
	AdminAccess     *bool             `json:"adminAccess"`
	Tolerations     []json.RawMessage `json:"tolerations"`
	Capacity        json.RawMessage   `json:"capacity"`
}

type nSelector struct {
	CEL *struct {
		Expression string `json:"expression"`
	} `json:"cel"`
}

type nConfig struct {
	Requests []string `json:"requests"`
	Opaque   *struct {
		Driver     string          `json:"driver"`
		Parameters json.RawMessage `json:"parameters"`
	} `json:"opaque"`
}

type nDeviceClass struct {
	nObject
	Spec struct {
		Selectors []nSelector `json:"selectors"`
		Config    []nConfig   `json:"config"`
	} `json:"spec"`
}

// versioned returns a fresh object of the Kubernetes type for kind in version.
func versioned(version, kind string) any {
	switch version + "/" + kind {
	case "v1/ResourceClaimTemplate":
		return &resourcev1.ResourceClaimTemplate{}
	case "v1/ResourceClaim":
		return &resourcev1.ResourceClaim{}
	case "v1/DeviceClass":
		return &resourcev1.DeviceClass{}
	case "v1beta2/ResourceClaimTemplate":
		return &resourcev1beta2.ResourceClaimTemplate{}
	case "v1beta2/ResourceClaim":
		return &resourcev1beta2.ResourceClaim{}
	case "v1beta2/DeviceClass":
		return &resourcev1beta2.DeviceClass{}
	case "v1beta1/ResourceClaimTemplate", "v1alpha3/ResourceClaimTemplate":
		return &resourcev1beta1.ResourceClaimTemplate{}
	case "v1beta1/ResourceClaim", "v1alpha3/ResourceClaim":
		return &resourcev1beta1.ResourceClaim{}
	case "v1beta1/DeviceClass", "v1alpha3/DeviceClass":
		return &resourcev1beta1.DeviceClass{}
	}
	return nil
}

// strictDecode decodes a document into the versioned Kubernetes type,
// reporting every unknown or duplicate field and type mismatch, then into
// the neutral shape out. It first looks for the known mistakes and
// explains them; their fields are then left out of the strict pass so
// that each problem is reported once.
func (p *draParser) strictDecode(d *draDoc, version, kind string, out any) bool {
	j, err := kyaml.YAMLToJSON(d.data)
	if err != nil {
		p.errorf(d.start, "", "not valid YAML: %v", err)
		return false
	}
	var tree map[string]any
	if err := json.Unmarshal(j, &tree); err != nil {
		p.errorf(d.start, "", "want a Kubernetes object (apiVersion, kind, metadata, spec)")
		return false
	}
	before := len(p.errs)
	p.knownMistakes(d, version, kind, tree)
	cleaned, err := json.Marshal(tree)
	if err != nil {
		p.errorf(d.start, "", "re-encode: %v", err)
		return false
	}
	obj := versioned(version, kind)
	strict, err := kjson.UnmarshalStrict(cleaned, obj)
	if err != nil {
		p.decodeError(d, err)
		return false
	}
	for _, se := range strict {
		path := ""
		var fe kjson.FieldError
		if errors.As(se, &fe) {
			path = fe.FieldPath()
		}
		msg, _ := strings.CutSuffix(strings.TrimSpace(strings.Split(se.Error(), " \"")[0]), ":")
		p.errorf(lineOf(d.root, path), path, "%s in %s/%s %s", msg, draGroup, version, kind)
	}
	if len(p.errs) > before {
		slices.SortStableFunc(p.errs[before:], func(a, b *FieldError) int { return a.Line - b.Line })
		return false
	}
	if err := json.Unmarshal(cleaned, out); err != nil {
		p.errorf(d.start, "", "%v", err)
		return false
	}
	return true
}

// decodeError explains a type mismatch from the strict decoder.
func (p *draParser) decodeError(d *draDoc, err error) {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		path := te.Field
		p.errorf(lineOf(d.root, path), path, "got a %s: want %s", te.Value, describeType(te.Type))
		return
	}
	p.errorf(d.start, "", "%s", strings.TrimPrefix(err.Error(), "json: "))
}

func describeType(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		return "an object (" + t.Name() + ")"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map:
		return "a map"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	}
	return t.String()
}

// requestFields are the device fields of a request: on the request in
// v1beta1/v1alpha3, inside exactly in v1/v1beta2.
var requestFields = []string{"deviceClassName", "selectors", "allocationMode", "count", "adminAccess", "tolerations", "capacity"}

// knownMistakes explains the mistakes of k8s-dra.md §5 and removes the
// offending fields from tree.
func (p *draParser) knownMistakes(d *draDoc, version, kind string, tree map[string]any) {
	var spec map[string]any
	base := "spec"
	switch kind {
	case "ResourceClaimTemplate":
		outer, _ := tree["spec"].(map[string]any)
		spec, _ = outer["spec"].(map[string]any)
		base = "spec.spec"
	case "ResourceClaim":
		spec, _ = tree["spec"].(map[string]any)
	default:
		return
	}
	devices, _ := spec["devices"].(map[string]any)
	reqs, _ := devices["requests"].([]any)
	for i, r := range reqs {
		req, ok := r.(map[string]any)
		if !ok {
			continue
		}
		rp := index(base+".devices.requests", i)
		for _, bad := range []string{"sharingStrategy", "sharing", "sharingPolicy"} {
			if v, ok := req[bad]; ok {
				p.errorf(lineOf(d.root, join(rp, bad)), join(rp, bad),
					"no such field in any resource.k8s.io version (got %v): GPU sharing is driver configuration; put it in %s.devices.config: "+
						"[{requests: [%v], opaque: {driver: gpu.nvidia.com, parameters: {apiVersion: resource.nvidia.com/v1beta1, kind: GpuConfig, sharing: {strategy: MPS}}}}] "+
						"(the NVIDIA driver needs its MPSSupport or TimeSlicingSettings feature gate)", v, base, req["name"])
				delete(req, bad)
			}
		}
		switch version {
		case "v1", "v1beta2":
			if ex, ok := req["exactly"]; ok {
				if _, isObj := ex.(map[string]any); !isObj && ex != nil {
					p.errorf(lineOf(d.root, join(rp, "exactly")), join(rp, "exactly"),
						"got %v: exactly is not a count but an object (ExactDeviceRequest) holding deviceClassName and count: exactly: {deviceClassName: <class>, count: %v}", ex, ex)
					delete(req, "exactly")
				}
			}
			for _, f := range requestFields {
				if _, ok := req[f]; ok {
					p.errorf(lineOf(d.root, join(rp, f)), join(rp, f),
						"unknown field in %s/%s: in v1 a request's %s goes inside exactly: {deviceClassName: <class>, count: 1} "+
							"(on the request itself is the v1beta1 layout)", draGroup, version, f)
					delete(req, f)
				}
			}
		case "v1beta1", "v1alpha3":
			if ex, ok := req["exactly"]; ok {
				p.errorf(lineOf(d.root, join(rp, "exactly")), join(rp, "exactly"),
					"unknown field in %s/%s: requests have no exactly; write the count beside deviceClassName (count: %v) ("+
						"exactly is the resource.k8s.io/v1 layout, where it is an object {deviceClassName, count})", draGroup, version, describeValue(ex))
				delete(req, "exactly")
			}
		}
	}
}

func describeValue(v any) string {
	switch v := v.(type) {
	case float64:
		return fmt.Sprint(v)
	case map[string]any:
		if c, ok := v["count"]; ok {
			return fmt.Sprint(c)
		}
	}
	return "1"
}
