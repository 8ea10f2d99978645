package config

import (
	"fmt"
	"reflect"
	"strings"
)

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
