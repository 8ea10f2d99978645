package errtrack

import (
	"fmt"
	"strings"
	"testing"
)

// letterKeywords are the keywords keywordAt knows.
var letterKeywords = []string{
	"timeout", "timed out", "deadline", "connection", "refused", "reset", "broken pipe",
	"too many requests", "rate limit", "unavailable",
}

// TestKeywordFilter rebuilds keywordFilter from the keywords.
func TestKeywordFilter(t *testing.T) {
	var table filter
	for _, kw := range letterKeywords {
		if len(kw) < 5 {
			t.Fatalf("keyword %q is shorter than 5 bytes: every third position would miss it", kw)
		}
		for off := range 3 {
			g := kw[off : off+3]
			h := prefixHash(byteKey(g[0])<<10 | byteKey(g[1])<<5 | byteKey(g[2]))
			table[h>>6] |= 1 << (h & 63)
		}
	}
	if got := keywordFilter(); got != table {
		var want []string
		for i, w := range table {
			if w != 0 {
				want = append(want, fmt.Sprintf("%d: %#x", i, w))
			}
		}
		t.Fatalf("keywordFilter differs from the keywords; want entries %s", strings.Join(want, ", "))
	}
}

func TestKeywordAt(t *testing.T) {
	for _, kw := range letterKeywords {
		for _, s := range []string{kw, strings.ToUpper(kw), kw + " and more"} {
			if rank, _ := keywordAt(s); rank == 4 {
				t.Errorf("keywordAt(%q) does not know it", s)
			}
		}
		if rank, _ := keywordAt(kw[:len(kw)-1]); rank != 4 {
			t.Errorf("keywordAt(%q) matched a truncated keyword", kw[:len(kw)-1])
		}
	}
}

// TestMessageEveryAlignment finds each keyword at every position modulo
// three, in both cases, at the end of the message and inside it.
func TestMessageEveryAlignment(t *testing.T) {
	want := map[string]Class{
		"timeout": Timeout, "timed out": Timeout, "deadline": Timeout,
		"connection": Connection, "refused": Connection, "reset": Connection, "broken pipe": Connection,
		"429": RateLimit, "too many requests": RateLimit, "rate limit": RateLimit,
		"503": Unavailable, "unavailable": Unavailable,
	}
	for kw, class := range want {
		for pad := range 7 {
			for _, suffix := range []string{"", "x", "xy", " end"} {
				for _, k := range []string{kw, strings.ToUpper(kw)} {
					msg := strings.Repeat("x", pad) + k + suffix
					if got := classifyMessage(msg); got != class {
						t.Errorf("classifyMessage(%q) = %q, want %q", msg, got, class)
					}
				}
			}
		}
	}
}
