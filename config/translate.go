package config

import (
	"reflect"
	"strings"
	"unicode"
)

// each runs validate, reports its error under path with field names
// translated by keys, clears the field it blamed, and runs it again, until
// it passes or blames no single field it can clear: so every broken field
// is reported, not only the first.
func (v *validator) each(path string, keys map[string]string, single bool, cfg reflect.Value, validate func() error) {
	for range len(keys) + 1 {
		err := validate()
		if err == nil {
			return
		}
		goName, key, msg := translate(err.Error(), keys)
		oneField := key != "" && !mentionsOther(msg, keys, key)
		if !oneField {
			// A rule tying fields together: the packages check those after
			// the rules about one field, so none of those is left, and
			// clearing a field would only bring its default into question.
			if key != "" && strings.HasPrefix(msg, "must") {
				msg = key + " " + msg
			}
			if !single {
				v.fail(path, msg)
			}
			return
		}
		v.fail(join(path, key), strings.TrimPrefix(msg, key+" "))
		f := fieldByName(cfg, goName)
		if !f.IsValid() || f.IsZero() {
			return
		}
		f.SetZero()
	}
}

// mentionsOther reports whether msg names a key of keys other than key:
// then its rule ties fields together.
func mentionsOther(msg string, keys map[string]string, key string) bool {
	words := strings.FieldsFunc(msg, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' })
	for _, w := range words {
		for _, k := range keys {
			if w == k && k != key {
				return true
			}
		}
	}
	return false
}

// fieldByName finds a field of cfg or of its Backoff or Config (the
// nested configs of retry.Policy and ratelimit.GroupConfig).
func fieldByName(cfg reflect.Value, name string) reflect.Value {
	if name == "" {
		return reflect.Value{}
	}
	if f := cfg.FieldByName(name); f.IsValid() {
		return f
	}
	for _, inner := range []string{"Backoff", "Config"} {
		if b := cfg.FieldByName(inner); b.IsValid() && b.Kind() == reflect.Struct {
			if f := b.FieldByName(name); f.IsValid() {
				return f
			}
		}
	}
	return reflect.Value{}
}

// translate turns a package's message, such as "retry: Backoff: backoff:
// Initial must not be negative, got -1s", into the key blamed and the rule
// ("initial_delay", "must not be negative, got -1s"), with every other
// field name in it replaced by its key. goName is the field blamed. If the
// message does not start with a field name, key is "" and msg is the whole
// message, translated.
func translate(text string, keys map[string]string) (goName, key, msg string) {
	for {
		head, rest, ok := strings.Cut(text, ": ")
		if !ok || strings.ContainsAny(head, " ") {
			break
		}
		text = rest // a "pkg:" or "Field:" prefix
	}
	for _, inner := range []string{"Backoff.", "Config."} {
		text = strings.TrimPrefix(text, inner) // a nested config's field
	}
	var b strings.Builder
	first := true
	for len(text) > 0 {
		i := strings.IndexFunc(text, func(r rune) bool { return !unicode.IsLetter(r) })
		if i < 0 {
			i = len(text)
		}
		word := text[:i]
		if k, ok := keys[word]; ok {
			if first && b.Len() == 0 {
				goName, key = word, k
				text = strings.TrimPrefix(text[i:], " ")
				first = false
				continue
			}
			word = k
		}
		first = false
		b.WriteString(word)
		if i < len(text) {
			b.WriteByte(text[i])
			i++
		}
		text = text[i:]
	}
	msg = b.String()
	if key != "" && !strings.HasPrefix(msg, "must") {
		msg = key + " " + msg
	}
	return goName, key, msg
}
