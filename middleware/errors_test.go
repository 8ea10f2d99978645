package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/seed94f50169/resilience/errtrack"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name  string
		in    string
		limit time.Duration
		want  time.Duration
		ok    bool
	}{
		{"seconds", "120", time.Hour, 120 * time.Second, true},
		{"zero", "0", time.Hour, 0, true},
		{"spaces", "  7 ", time.Hour, 7 * time.Second, true},
		{"clamped", "3600", time.Minute, time.Minute, true},
		{"huge", "99999999999999999999999999999", time.Minute, time.Minute, true},
		{"default limit", "3600", 0, DefaultMaxRetryAfter, true},
		{"negative limit", "5", -time.Second, 5 * time.Second, true},
		{"limit not whole seconds", "2", 1500 * time.Millisecond, 1500 * time.Millisecond, true},
		{"date", date(90 * time.Second), time.Hour, 90 * time.Second, true},
		{"date clamped", date(48 * time.Hour), time.Hour, time.Hour, true},
		{"date in the past", date(-time.Hour), time.Hour, 0, true},
		{"RFC 850 date", now.Add(30 * time.Second).Format(time.RFC850), time.Hour, 30 * time.Second, true},
		{"ANSI C date", now.Add(30 * time.Second).Format(time.ANSIC), time.Hour, 30 * time.Second, true},
		{"far future date", "Fri, 31 Dec 9999 23:59:59 GMT", time.Hour, time.Hour, true},
		{"empty", "", time.Hour, 0, false},
		{"blank", "   ", time.Hour, 0, false},
		{"negative", "-5", time.Hour, 0, false},
		{"plus sign", "+5", time.Hour, 0, false},
		{"fraction", "1.5", time.Hour, 0, false},
		{"unit", "5s", time.Hour, 0, false},
		{"hex", "0x10", time.Hour, 0, false},
		{"two numbers", "5, 6", time.Hour, 0, false},
		{"garbage", "soon", time.Hour, 0, false},
		{"bad date", "Mon, 99 Foo 2026 99:99:99 GMT", time.Hour, 0, false},
		{"too long", fmt.Sprintf("%070d", 1), time.Hour, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.in, now, tt.limit)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseRetryAfter(%q, %v) = %v, %v; want %v, %v", tt.in, tt.limit, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"120", "0", "-1", "1.5", "99999999999999999999", now.Format(http.TimeFormat), "Fri, 31 Dec 9999 23:59:59 GMT", ""} {
		f.Add(s, int64(time.Minute))
	}
	f.Fuzz(func(t *testing.T, v string, limit int64) {
		d, ok := ParseRetryAfter(v, now, time.Duration(limit))
		max := time.Duration(limit)
		if max <= 0 {
			max = DefaultMaxRetryAfter
		}
		if d < 0 || d > max {
			t.Fatalf("ParseRetryAfter(%q, %v) = %v, out of [0, %v]", v, limit, d, max)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v for an invalid value", v, d)
		}
	})
}

func TestStatusErrorClass(t *testing.T) {
	tests := []struct {
		code int
		want errtrack.Class
	}{
		{429, errtrack.RateLimit},
		{500, errtrack.ServerError},
		{502, errtrack.Unavailable},
		{503, errtrack.Unavailable},
		{504, errtrack.Unavailable},
		{408, errtrack.Timeout},
		{418, errtrack.Validation},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.code), func(t *testing.T) {
			err := fmt.Errorf("wrapped: %w", &StatusError{Code: tt.code, Wait: time.Second})
			if got := errtrack.Classify(err); got != tt.want {
				t.Errorf("Classify(%d) = %q, want %q", tt.code, got, tt.want)
			}
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode() != tt.code || se.RetryAfter() != time.Second {
				t.Errorf("errors.As: %v", se)
			}
			if !errors.Is(err, ErrStatus) {
				t.Error("errors.Is(err, ErrStatus) = false")
			}
		})
	}
}

func TestPanicError(t *testing.T) {
	cause := errors.New("boom")
	err := error(&PanicError{Value: cause})
	if !errors.Is(err, ErrPanic) || !errors.Is(err, cause) {
		t.Errorf("%v should match ErrPanic and its cause", err)
	}
	if errtrack.Classify(err) != "panic" {
		t.Errorf("class %q, want panic", errtrack.Classify(err))
	}
	if err := error(&PanicError{Value: 42}); !errors.Is(err, ErrPanic) || err.Error() != "middleware: handler panicked: 42" {
		t.Errorf("got %q", err)
	}
}
