package resgrpc

import (
	"testing"
	"time"

	"google.golang.org/grpc/metadata"
)

func TestParsePushback(t *testing.T) {
	limit := time.Minute
	tests := []struct {
		name string
		vals []string
		want time.Duration
		has  bool
	}{
		{"absent", nil, 0, false},
		{"zero", []string{"0"}, 0, true},
		{"millis", []string{"1500"}, 1500 * time.Millisecond, true},
		{"spaces", []string{" 20 "}, 20 * time.Millisecond, true},
		{"negative", []string{"-5"}, -1, true},
		{"empty", []string{""}, -1, true},
		{"garbage", []string{"12ms"}, -1, true},
		{"two values", []string{"1", "2"}, -1, true},
		{"huge", []string{"99999999999999999999999999999"}, limit, true},
		{"too long", []string{"000000000000000000000000000000001"}, -1, true},
		{"over the limit", []string{"60001"}, limit, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := metadata.MD{}
			for _, v := range tt.vals {
				md.Append(PushbackKey, v)
			}
			got, has := parsePushback(md, limit)
			if got != tt.want || has != tt.has {
				t.Errorf("parsePushback(%q) = %v, %v; want %v, %v", tt.vals, got, has, tt.want, tt.has)
			}
		})
	}
}

func FuzzParsePushback(f *testing.F) {
	for _, s := range []string{"", "0", "-1", "100", "99999999999999999999", "1e3", " 7"} {
		f.Add(s, int64(time.Second))
	}
	f.Fuzz(func(t *testing.T, v string, limit int64) {
		lim := time.Duration(limit)
		if lim <= 0 {
			lim = time.Minute
		}
		d, has := parsePushback(metadata.Pairs(PushbackKey, v), lim)
		if !has {
			t.Fatalf("a present value %q read as absent", v)
		}
		if d != -1 && (d < 0 || d > lim) {
			t.Fatalf("parsePushback(%q, %v) = %v, outside [0, limit] and not -1", v, lim, d)
		}
	})
}

func TestFormatPushback(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", time.Microsecond: "1", 1500 * time.Microsecond: "2", 2 * time.Second: "2000"} {
		if got := formatPushback(d); got != want {
			t.Errorf("formatPushback(%v) = %q, want %q", d, got, want)
		}
	}
}
