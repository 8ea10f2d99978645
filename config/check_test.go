package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestCheckTagsNameKnownRules walks every struct a document decodes into:
// a check tag whose rule is misspelt would silently check nothing.
func TestCheckTagsNameKnownRules(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for _, f := range reflect.VisibleFields(typ) {
			if rules := f.Tag.Get("check"); rules != "" {
				for rule := range strings.SplitSeq(rules, ",") {
					if checkRules[rule] == nil {
						t.Errorf("%s.%s: unknown check rule %q", typ.Name(), f.Name, rule)
					}
				}
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[Config]())
	walk(reflect.TypeFor[Pipe]())
	if len(seen) < 10 {
		t.Errorf("walked %d structs", len(seen))
	}
}

func TestCheckRules(t *testing.T) {
	d := Duration(0)
	neg := -1
	tests := []struct {
		rules string
		v     any
		want  string
	}{
		{"nonzero", 0, "must not be 0 (-1 turns this rule off)"},
		{"nonzero", &d, "must not be 0s (a negative duration means none)"},
		{"nonzero", -1, ""},
		{"min1", 0, "must be at least 1, got 0"},
		{"positive", 0.0, "must be positive, got 0"},
		{"natural", &neg, "must not be negative, got -1"},
		{"min1,max", 1 << 21, "must be at most 1048576, got 2097152"},
		{"min1,max16", 17, "must be at most 16, got 17"},
		{"positive,max1", 1.5, "must be at most 1, got 1.5"},
		{"positive,below1", 1.0, "must be below 1, got 1"},
		{"positive,below1", 0.5, ""},
		{"positive", "text", ""},
	}
	for _, tt := range tests {
		if got := check(tt.rules, reflect.ValueOf(tt.v)); got != tt.want {
			t.Errorf("check(%q, %v) = %q, want %q", tt.rules, tt.v, got, tt.want)
		}
	}
}
