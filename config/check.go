package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// checkRule is one rule of a check tag: the message of a value x (written
// as text) that breaks it, or "".
type checkRule func(x float64, text string) string

// checkRules are the rules a check tag may name:
//
//	nonzero   not 0 (0 would silently mean the default)
//	min1      at least 1
//	positive  above 0 (durations, ratios)
//	natural   0 or more
//	max       at most 1<<20
//	max16     at most 16
//	max1      at most 1 (rates, weights)
//	below1    below 1 (factors, quantiles)
var checkRules = map[string]checkRule{
	"nonzero":  nonzero,
	"min1":     failWhen(func(x float64) bool { return x < 1 }, "must be at least 1, got "),
	"positive": failWhen(func(x float64) bool { return x <= 0 }, "must be positive, got "),
	"natural":  failWhen(func(x float64) bool { return x < 0 }, "must not be negative, got "),
	"max":      failWhen(func(x float64) bool { return x > maxCount }, fmt.Sprintf("must be at most %d, got ", maxCount)),
	"max16":    failWhen(func(x float64) bool { return x > 16 }, "must be at most 16, got "),
	"max1":     failWhen(func(x float64) bool { return x > 1 }, "must be at most 1, got "),
	"below1":   failWhen(func(x float64) bool { return x >= 1 }, "must be below 1, got "),
}

// failWhen returns the rule broken by the values for which broken holds,
// whose message is msg followed by the value.
func failWhen(broken func(x float64) bool, msg string) checkRule {
	return func(x float64, text string) string {
		if broken(x) {
			return msg + text
		}
		return ""
	}
}

func nonzero(x float64, text string) string {
	switch {
	case x != 0:
		return ""
	case text == "0s":
		return "must not be 0s (a negative duration means none)"
	}
	return "must not be 0 (-1 turns this rule off)"
}

// check applies the comma-separated rules of a check tag (see checkRules)
// to a value just decoded, and returns the first one it breaks, or "".
func check(rules string, v reflect.Value) string {
	x, text, ok := number(v)
	if !ok {
		return ""
	}
	for name := range strings.SplitSeq(rules, ",") {
		if rule := checkRules[name]; rule != nil {
			if msg := rule(x, text); msg != "" {
				return msg
			}
		}
	}
	return ""
}

// number returns the value of an int, a duration or a float64 (behind
// any pointers) and how to write it; ok is false for other kinds.
func number(v reflect.Value) (x float64, text string, ok bool) {
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Int:
		return float64(v.Int()), strconv.FormatInt(v.Int(), 10), true
	case reflect.Int64: // a duration
		return float64(v.Int()), time.Duration(v.Int()).String(), true
	case reflect.Float64:
		return v.Float(), strconv.FormatFloat(v.Float(), 'g', -1, 64), true
	}
	return 0, "", false
}
