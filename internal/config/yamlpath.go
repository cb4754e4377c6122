package config

import (
	"fmt"
	"maps"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// yaml.v3 reports an unknown key as "line 7: field passwrd not found in type
// config.UpstreamAuth", which does not say where in the file's structure
// the key is. keyWalker walks the parsed node tree alongside the Go types to
// name each unknown key by its full path and suggest the key that was
// probably meant, and records which key path sits on which line so the
// decoder's other errors can be annotated too.
type keyWalker struct {
	unknown []error
	// paths maps a line to the key paths of the values on it.
	paths map[int]map[string]bool
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

func newKeyWalker() *keyWalker {
	return &keyWalker{paths: map[int]map[string]bool{}}
}

func (w *keyWalker) record(line int, path string) {
	if path == "" {
		return
	}
	if w.paths[line] == nil {
		w.paths[line] = map[string]bool{}
	}
	w.paths[line][path] = true
}

// pathAt returns the deepest key path on line: a block mapping starts on
// the line of its first key, so "limits" and "limits.max_connections"
// share a line and the error is about the latter. When the line holds
// unrelated values (a flow mapping such as "tls: {cert_file: a, key_file:
// b}") it returns "": naming the wrong key would mislead more than naming none.
func (w *keyWalker) pathAt(line int) string {
	deepest := ""
	for p := range w.paths[line] {
		if len(p) > len(deepest) {
			deepest = p
		}
	}
	for p := range w.paths[line] {
		if !isPathPrefix(p, deepest) {
			return ""
		}
	}
	return deepest
}

// isPathPrefix reports whether key path a is b or an ancestor of b.
func isPathPrefix(a, b string) bool {
	return a == b || strings.HasPrefix(b, a+".") || strings.HasPrefix(b, a+"[")
}

func (w *keyWalker) walk(n *yaml.Node, t reflect.Type, path string) {
	if n == nil {
		return
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			w.walk(c, t, path)
		}
		return
	}
	// Aliases and merge keys are left to the decoder, which still rejects
	// unknown keys in them (with a line, without a path).
	if n.Kind == yaml.AliasNode {
		return
	}
	w.record(n.Line, path)
	if reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				continue
			}
			p := joinPath(path, k.Value)
			f, ok := fields[k.Value]
			if !ok {
				w.unknown = append(w.unknown, &FieldError{Path: p, Line: k.Line, Msg: unknownKeyMsg(k.Value, fields)})
				continue
			}
			w.walk(v, f, p)
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			w.walk(n.Content[i+1], t.Elem(), joinPath(path, n.Content[i].Value))
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// yamlFields maps the YAML key of each decodable field of struct t to its type.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" && f.Type.Kind() == reflect.Struct {
			maps.Copy(m, yamlFields(f.Type)) // its keys sit in the parent's mapping
			continue
		}
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(f.Name) // yaml.v3's default
		}
		m[name] = f.Type
	}
	return m
}

// unknownKeyMsg suggests the closest known key for a typo, else lists them all.
func unknownKeyMsg(key string, fields map[string]reflect.Type) string {
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	sort.Strings(known)
	best, bestDist := "", 3 // suggest only close matches
	for _, k := range known {
		if d := editDistance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown key (did you mean %q?)", best)
	}
	return "unknown key (known keys: " + strings.Join(known, ", ") + ")"
}

// editDistance is the Levenshtein distance, for typo suggestions.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
