package errtrack

import (
	"fmt"
	"strings"
	"testing"
)

// letterKeywords are the keywords keywordAt knows, digits excepted.
var letterKeywords = []string{
	"timeout", "timed out", "deadline", "connection", "refused", "reset", "broken pipe",
	"too many requests", "rate limit", "unavailable",
}

// TestGroupFilter rebuilds groupFilter from the keywords.
func TestGroupFilter(t *testing.T) {
	var table [len(groupFilter)]byte
	for _, kw := range letterKeywords {
		if len(kw) < 5 {
			t.Fatalf("keyword %q is shorter than 5 bytes: every third position would miss it", kw)
		}
		for off := range 3 {
			h := groupHash(uint32(kw[off]) | uint32(kw[off+1])<<8 | uint32(kw[off+2])<<16)
			table[h>>3] |= 1 << (h & 7)
		}
	}
	if string(table[:]) != groupFilter {
		var b strings.Builder
		for i, c := range table {
			if i%16 == 0 {
				b.WriteString("\" +\n\t\"")
			}
			fmt.Fprintf(&b, "\\x%02x", c)
		}
		t.Fatalf("groupFilter differs from the keywords; want\nconst groupFilter = \"%s\"", b.String())
	}
}

func TestKeywordAt(t *testing.T) {
	for _, kw := range append(letterKeywords, "429", "503") {
		for _, s := range []string{kw, strings.ToUpper(kw), kw + " and more"} {
			if rank, _ := keywordAt(s); rank == rankNoKeyword {
				t.Errorf("keywordAt(%q) does not know it", s)
			}
		}
		if rank, _ := keywordAt(kw[:len(kw)-1]); rank != rankNoKeyword {
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
