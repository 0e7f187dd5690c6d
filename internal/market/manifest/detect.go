package manifest

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// Format is the kind of file Detect found.
type Format string

// Formats Detect tells apart.
const (
	FormatUnknown Format = ""
	FormatSDL     Format = "sdl" // Akash SDL: top-level version and services
	FormatDRA     Format = "dra" // Kubernetes objects: apiVersion and kind
)

// Detect looks at the top-level keys of the first YAML document that has
// any: apiVersion or kind means Kubernetes (DRA), version, services,
// profiles or deployment means SDL. It reads the file leniently (duplicate
// keys and the like are left for the parser to report).
func Detect(data []byte) Format {
	if len(data) > MaxFileSize {
		data = data[:MaxFileSize]
	}
	for _, d := range splitDocs(data) {
		var n yaml.Node
		if err := yaml.NewDecoder(bytes.NewReader(d.data)).Decode(&n); err != nil || len(n.Content) == 0 {
			if f := detectByLines(d.data); f != FormatUnknown {
				return f
			}
			continue
		}
		root := n.Content[0]
		if root.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(root.Content); i += 2 {
			switch root.Content[i].Value {
			case "apiVersion", "kind":
				return FormatDRA
			case "version", "services", "profiles", "deployment":
				return FormatSDL
			}
		}
	}
	return FormatUnknown
}

// detectByLines classifies a document YAML cannot parse by its
// unindented keys, so that the right parser reports the syntax error.
func detectByLines(data []byte) Format {
	for _, l := range bytes.Split(data, []byte("\n")) {
		switch {
		case bytes.HasPrefix(l, []byte("apiVersion:")), bytes.HasPrefix(l, []byte("kind:")):
			return FormatDRA
		case bytes.HasPrefix(l, []byte("version:")), bytes.HasPrefix(l, []byte("services:")):
			return FormatSDL
		}
	}
	return FormatUnknown
}
