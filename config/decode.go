package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxNodes bounds the YAML nodes a document may expand to, aliases
// followed, so that a small hostile document cannot take unbounded time.
const maxNodes = 1 << 16

// maxCount bounds the counts the packages leave unbounded (max_attempts).
const maxCount = 1 << 20

// decoder turns a YAML node tree into the config structs strictly: every
// key must be known, appear once and hold a value of its type, and each
// problem is recorded with its key path, all of them in one pass.
type decoder struct {
	file  string
	errs  Errors
	lines map[string]int // key path -> line
	nodes int            // nodes visited
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, lines: map[string]int{}}
}

func (d *decoder) fail(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// document parses data into its root node, or records why not and returns
// nil. An empty document is an empty mapping.
func (d *decoder) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		d.fail(0, "", "invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		d.fail(next.Line, "", "want one YAML document, found more")
		return nil
	}
	if len(doc.Content) != 1 || isNull(doc.Content[0]) {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	if root := doc.Content[0]; root.Kind == yaml.MappingNode {
		return root
	}
	d.fail(doc.Content[0].Line, "", "want a mapping of keys to values")
	return nil
}

func valueOf(p any) reflect.Value { return reflect.ValueOf(p).Elem() }

var fallbacksType = reflect.TypeFor[Fallbacks]()

// decode stores n into v, recording problems under path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	d.nodes++
	if d.nodes > maxNodes {
		if d.nodes == maxNodes+1 {
			d.fail(n.Line, "", "document too large: more than %d values, aliases expanded", maxNodes)
		}
		return
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if u, ok := v.Addr().Interface().(nodeDecoder); ok {
		if err := u.decodeNode(n); err != nil {
			d.fail(n.Line, path, "%s", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if v.Type().Elem().Kind() != reflect.Struct && isNull(n) {
			d.fail(n.Line, path, "want a value")
			return
		}
		d.decode(n, p.Elem(), path)
		v.Set(p)
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		if v.Type() == fallbacksType && n.Kind == yaml.MappingNode {
			n = &yaml.Node{Kind: yaml.SequenceNode, Line: n.Line, Content: []*yaml.Node{n}}
		}
		d.sequence(n, v, path)
	default:
		d.scalar(n, v, path)
	}
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n.Line, path, "want a list")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, e := range n.Content {
		p := path + "[" + strconv.Itoa(i) + "]"
		d.lines[p] = e.Line
		d.decode(e, s.Index(i), p)
	}
	v.Set(s)
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "want a mapping of keys to values")
		return
	}
	fields := fieldsOf(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		if k.Kind != yaml.ScalarNode {
			d.fail(k.Line, path, "want a key, not a %s", kindName(k))
			continue
		}
		if first, ok := seen[key]; ok {
			d.fail(k.Line, join(path, key), "repeated key (first on line %d)", first)
			continue
		}
		seen[key] = k.Line
		f, ok := fields[key]
		if !ok {
			d.fail(k.Line, path, "%s", unknownKey(key, fields))
			continue
		}
		p := join(path, key)
		d.lines[p] = k.Line
		fv := v.FieldByIndex(f.index)
		before := len(d.errs)
		d.decode(val, fv, p)
		if len(d.errs) == before && f.check != "" {
			if msg := check(f.check, fv); msg != "" {
				d.fail(k.Line, p, "%s", msg)
			}
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.fail(n.Line, path, "want %s", wantOf(v.Kind()))
		return
	}
	var msg string
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		msg = setBool(n, v)
	case reflect.Int:
		msg = setInt(n, v)
	case reflect.Float64:
		msg = setFloat(n, v)
	default:
		msg = wrongScalar(n, v)
	}
	if msg != "" {
		d.fail(n.Line, path, "%s", msg)
	}
}

// setBool, setInt and setFloat store the scalar n into v, or return what
// is wrong with it.
func setBool(n *yaml.Node, v reflect.Value) string {
	var b bool
	if n.Tag != "!!bool" || n.Decode(&b) != nil {
		return wrongScalar(n, v)
	}
	v.SetBool(b)
	return ""
}

func setInt(n *yaml.Node, v reflect.Value) string {
	if n.Tag != "!!int" {
		return wrongScalar(n, v)
	}
	var i int64
	if n.Decode(&i) != nil || i < math.MinInt32 || i > math.MaxInt32 {
		return fmt.Sprintf("must be within [%d, %d], got %s", math.MinInt32, math.MaxInt32, n.Value)
	}
	v.SetInt(i)
	return ""
}

func setFloat(n *yaml.Node, v reflect.Value) string {
	var f float64
	if n.Tag != "!!int" && n.Tag != "!!float" || n.Decode(&f) != nil {
		return wrongScalar(n, v)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "must be a finite number, got " + n.Value
	}
	v.SetFloat(f)
	return ""
}

func wrongScalar(n *yaml.Node, v reflect.Value) string {
	return fmt.Sprintf("want %s, got %q", wantOf(v.Kind()), n.Value)
}

func wantOf(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "a whole number"
	case reflect.Float64:
		return "a number"
	}
	return "a string"
}
