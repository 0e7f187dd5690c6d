package manifest

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds the manifest files the parsers read.
const MaxFileSize = 1 << 20

// maxSteps bounds the YAML nodes a walk visits, so that aliases
// referring to aliases ("billion laughs") cannot make a small file
// expensive.
const maxSteps = 200_000

// walker reads a yaml.v3 node tree with field paths, recording problems
// instead of failing on the first: unknown keys are warnings, type and
// value errors are errors.
type walker struct {
	problems
	steps   int
	aborted bool // the step budget ran out; every helper then returns nothing
}

// parseYAML parses the first document of data into a node tree.
func parseYAML(data []byte) (*yaml.Node, error) {
	if len(data) > MaxFileSize {
		return nil, &FieldError{Msg: fmt.Sprintf("file is %d bytes: want at most %d", len(data), MaxFileSize)}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, yamlError(err)
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0], nil
	}
	return &doc, nil
}

// yamlError turns a YAML syntax error into a FieldError with the line
// number the library names.
func yamlError(err error) *FieldError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ":"); ok {
			if l, err := strconv.Atoi(n); err == nil {
				line, msg = l, strings.TrimSpace(after)
			}
		}
	}
	if msg == "EOF" {
		msg = "empty file"
	}
	return &FieldError{Line: line, Msg: "not valid YAML: " + msg}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func line(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

// step counts one visited node and follows aliases.
func (w *walker) step(n *yaml.Node) *yaml.Node {
	for depth := 0; n != nil && n.Kind == yaml.AliasNode && depth < 100; depth++ {
		n = n.Alias
	}
	w.steps++
	if w.steps > maxSteps && !w.aborted {
		w.aborted = true
		w.errs = append(w.errs, &FieldError{Msg: fmt.Sprintf("document too large: more than %d YAML nodes after expanding aliases", maxSteps)})
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func kindName(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "null"
	case n.Kind == yaml.MappingNode:
		return "a map"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		}
		return strconv.Quote(n.Value)
	}
	return "an unexpected node"
}

// entry is one key/value pair of a mapping.
type entry struct {
	key  string
	line int
	val  *yaml.Node
}

// entries returns the pairs of a mapping, with merge keys (<<) applied
// and duplicate keys reported. A null node is an empty mapping; any other
// non-mapping is an error (ok false).
func (w *walker) entries(n *yaml.Node, path string) ([]entry, bool) {
	n = w.step(n)
	if w.aborted {
		return nil, false
	}
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(line(n), path, "got %s: want a map", kindName(n))
		return nil, false
	}
	var out []entry
	seen := map[string]int{}
	var merged []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := w.step(n.Content[i]), n.Content[i+1]
		if w.aborted {
			return nil, false
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, w.mergeEntries(v, path)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.errorf(line(k), path, "got %s as a key: want a string", kindName(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			w.errorf(k.Line, join(path, k.Value), "key set twice (lines %d and %d)", first, k.Line)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, entry{key: k.Value, line: k.Line, val: v})
	}
	for _, e := range merged {
		if _, dup := seen[e.key]; !dup {
			seen[e.key] = e.line
			out = append(out, e)
		}
	}
	return out, true
}

// mergeEntries resolves the value of a << key: a map or a list of maps.
func (w *walker) mergeEntries(v *yaml.Node, path string) []entry {
	v = w.step(v)
	if v != nil && v.Kind == yaml.SequenceNode {
		var out []entry
		for _, m := range v.Content {
			es, _ := w.entries(m, path)
			out = append(out, es...)
		}
		return out
	}
	es, _ := w.entries(v, path)
	return es
}

// keyHints suggests the SDL key for common foreign spellings.
var keyHints = map[string]string{
	"depends_on":    "dependencies",
	"depends-on":    "dependencies",
	"environment":   "env",
	"ports":         "expose",
	"entrypoint":    "command",
	"volumes":       "params.storage",
	"signed_by":     "signedBy",
	"read_only":     "readOnly",
	"readonly":      "readOnly",
	"httpOptions":   "http_options",
	"http-options":  "http_options",
	"minWindow":     "min_window",
	"allof":         "allOf",
	"anyof":         "anyOf",
	"all_of":        "allOf",
	"any_of":        "anyOf",
	"replicas":      "count",
	"interfaces":    "interface",
	"memory_size":   "memory.size",
	"sharing_mode":  "sharing",
	"sharingMode":   "sharing",
	"billing_mode":  "billing",
	"nextCases":     "next_cases",
	"maxBodySize":   "max_body_size",
	"readTimeout":   "read_timeout",
	"sendTimeout":   "send_timeout",
	"nextTries":     "next_tries",
	"nextTimeout":   "next_timeout",
	"credential":    "credentials",
	"dependency":    "dependencies",
	"permission":    "permissions",
	"attribute":     "attributes",
	"profile_name":  "profile",
	"deployments":   "deployment",
	"reclaim":       "reclamation",
	"reclamations":  "reclamation",
	"min-window":    "min_window",
	"proxyBufSize":  "proxy_buffer_size",
	"maxBody":       "max_body_size",
	"persistence":   "persistent",
	"storageClass":  "class",
	"storage_class": "class",
}

// object reads a mapping whose keys are drawn from known. Unknown keys
// are warned about and ignored, as the upstream SDL parser ignores them.
// The result maps each known key present to its value node.
func (w *walker) object(n *yaml.Node, path string, known ...string) (map[string]*yaml.Node, bool) {
	es, ok := w.entries(n, path)
	if !ok {
		return nil, false
	}
	out := make(map[string]*yaml.Node, len(es))
	for _, e := range es {
		found := false
		for _, k := range known {
			if e.key == k {
				found = true
				break
			}
		}
		if !found {
			hint := ""
			if h, ok := keyHints[e.key]; ok {
				hint = fmt.Sprintf(" (did you mean %s?)", h)
			}
			w.warnf(e.line, join(path, e.key), "unknown key, ignored%s; known keys here: %s", hint, strings.Join(known, ", "))
			continue
		}
		out[e.key] = e.val
	}
	return out, true
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// scalar returns the text of a non-null scalar.
func (w *walker) scalar(n *yaml.Node, path, want string) (string, bool) {
	n = w.step(n)
	if w.aborted {
		return "", false
	}
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		w.errorf(line(n), path, "got %s: want %s", kindName(n), want)
		return "", false
	}
	return n.Value, true
}

// str reads a string (any scalar, as its text).
func (w *walker) str(n *yaml.Node, path string) (string, bool) {
	return w.scalar(n, path, "a string")
}

// boolean reads true/false, also as the strings "true"/"false" (SDL
// storage attributes are strings upstream).
func (w *walker) boolean(n *yaml.Node, path string) (bool, bool) {
	s, ok := w.scalar(n, path, "true or false")
	if !ok {
		return false, false
	}
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	w.errorf(line(n), path, "%q: want true or false", s)
	return false, false
}

// uinteger reads a whole number in [lo, hi].
func (w *walker) uinteger(n *yaml.Node, path string, lo, hi uint64) (uint64, bool) {
	s, ok := w.scalar(n, path, "a whole number")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v < lo || v > hi {
		w.errorf(line(n), path, "%q: want a whole number from %d to %d", s, lo, hi)
		return 0, false
	}
	return v, true
}

// strList reads a list of strings; null is an empty list.
func (w *walker) strList(n *yaml.Node, path string) ([]string, bool) {
	items, ok := w.list(n, path)
	if !ok {
		return nil, false
	}
	var out []string
	good := true
	for i, it := range items {
		s, ok := w.str(it, index(path, i))
		good = good && ok
		out = append(out, s)
	}
	return out, good
}

// list returns the items of a sequence; null is an empty list.
func (w *walker) list(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	n = w.step(n)
	if w.aborted {
		return nil, false
	}
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		w.errorf(line(n), path, "got %s: want a list", kindName(n))
		return nil, false
	}
	return n.Content, true
}
