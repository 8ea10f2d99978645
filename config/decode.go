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
	"time"

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
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
		return
	case reflect.Bool:
		var b bool
		if n.Tag == "!!bool" && n.Decode(&b) == nil {
			v.SetBool(b)
			return
		}
	case reflect.Int:
		var i int64
		if n.Tag == "!!int" && n.Decode(&i) == nil && i >= math.MinInt32 && i <= math.MaxInt32 {
			v.SetInt(i)
			return
		}
		if n.Tag == "!!int" {
			d.fail(n.Line, path, "must be within [%d, %d], got %s", math.MinInt32, math.MaxInt32, n.Value)
			return
		}
	case reflect.Float64:
		var f float64
		if (n.Tag == "!!int" || n.Tag == "!!float") && n.Decode(&f) == nil {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				d.fail(n.Line, path, "must be a finite number, got %s", n.Value)
				return
			}
			v.SetFloat(f)
			return
		}
	}
	d.fail(n.Line, path, "want %s, got %q", wantOf(v.Kind()), n.Value)
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

// field is one known key of a struct.
type field struct {
	index []int
	check string // the rules of the check tag
}

// fieldsOf returns t's keys, those of inline structs included.
func fieldsOf(t reflect.Type) map[string]field {
	m := map[string]field{}
	for _, sf := range reflect.VisibleFields(t) {
		tag, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		m[tag] = field{index: sf.Index, check: sf.Tag.Get("check")}
	}
	return m
}

// unknownKey describes an unknown key, suggesting the known key it is
// closest to when that one is a likely typo.
func unknownKey(key string, fields map[string]field) string {
	best, dist := "", 3
	for k := range fields {
		d := editDistance(key, k)
		if d > 2 && len(key) >= 4 && (strings.HasPrefix(k, key) || strings.HasPrefix(key, k)) {
			d = 2 // a key with its unit left out or added
		}
		if d < dist || d == dist && k < best {
			best, dist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown key %q (did you mean %q?)", key, best)
	}
	return fmt.Sprintf("unknown key %q", key)
}

// editDistance is the Levenshtein distance of a and b, for short keys.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
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

// check applies the comma-separated rules of a check tag to a value just
// decoded, and returns the first one it breaks, or "".
//
//	nonzero   not 0 (0 would silently mean the default)
//	min1      at least 1
//	positive  above 0 (durations, ratios)
//	natural   0 or more
//	max       at most 1<<20
//	max16     at most 16
//	max1      at most 1 (rates, weights)
//	below1    below 1 (factors, quantiles)
func check(rules string, v reflect.Value) string {
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	var x float64
	var text string
	switch v.Kind() {
	case reflect.Int, reflect.Int64:
		if v.Type() == reflect.TypeFor[int]() {
			x, text = float64(v.Int()), strconv.FormatInt(v.Int(), 10)
		} else { // a duration
			x, text = float64(v.Int()), time.Duration(v.Int()).String()
		}
	case reflect.Float64:
		x, text = v.Float(), strconv.FormatFloat(v.Float(), 'g', -1, 64)
	default:
		return ""
	}
	for rule := range strings.SplitSeq(rules, ",") {
		switch {
		case rule == "nonzero" && x == 0 && text == "0s":
			return "must not be 0s (a negative duration means none)"
		case rule == "nonzero" && x == 0:
			return "must not be 0 (-1 turns this rule off)"
		case rule == "min1" && x < 1:
			return "must be at least 1, got " + text
		case rule == "positive" && x <= 0:
			return "must be positive, got " + text
		case rule == "natural" && x < 0:
			return "must not be negative, got " + text
		case rule == "max" && x > maxCount:
			return fmt.Sprintf("must be at most %d, got %s", maxCount, text)
		case rule == "max16" && x > 16:
			return "must be at most 16, got " + text
		case rule == "max1" && x > 1:
			return "must be at most 1, got " + text
		case rule == "below1" && x >= 1:
			return "must be below 1, got " + text
		}
	}
	return ""
}
