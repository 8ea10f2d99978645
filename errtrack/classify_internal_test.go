package errtrack

import (
	"fmt"
	"strings"
	"testing"
)

// TestKeywordFilter rebuilds keywordFilter from keywordPrefixes.
func TestKeywordFilter(t *testing.T) {
	var table [16]uint64
	for _, p := range strings.Fields(keywordPrefixes) {
		h := prefixHash(byteKey(p[0])<<10 | byteKey(p[1])<<5 | byteKey(p[2]))
		table[h>>6] |= 1 << (h & 63)
	}
	var want []string
	for i, w := range table {
		if w != 0 {
			want = append(want, fmt.Sprintf("%d: %#x", i, w))
		}
	}
	if got := keywordFilter(); got != filter(table) {
		t.Fatalf("keywordFilter differs from keywordPrefixes; want entries %s", strings.Join(want, ", "))
	}
}

// TestKeywordPrefixes checks that keywordPrefixes lists the first three
// bytes of every keyword keywordAt knows.
func TestKeywordPrefixes(t *testing.T) {
	for _, kw := range []string{
		"timeout", "timed out", "deadline", "connection", "refused", "reset", "broken pipe",
		"429", "too many requests", "rate limit", "503", "unavailable",
	} {
		if rank, _ := keywordAt(kw); rank == 4 {
			t.Errorf("keywordAt(%q) does not know it", kw)
		}
		if !strings.Contains(keywordPrefixes, kw[:3]) {
			t.Errorf("keywordPrefixes lacks %q", kw[:3])
		}
	}
}
