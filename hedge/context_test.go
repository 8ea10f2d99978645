package hedge

import (
	"context"
	"errors"
	"testing"
	"time"
)

type key struct{}

func TestAttemptContext(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	defer cancelParent()

	tests := []struct {
		name string
		run  func(t *testing.T, a *attemptCtx)
	}{
		{"live without Done", func(t *testing.T, a *attemptCtx) {
			if a.Err() != nil || a.Value(key{}) != "v" {
				t.Errorf("Err %v, Value %v", a.Err(), a.Value(key{}))
			}
		}},
		{"ended without Done", func(t *testing.T, a *attemptCtx) {
			if !a.end() || a.end() {
				t.Error("end must report true once, then false")
			}
			if !errors.Is(a.Err(), context.Canceled) || !a.endedByDo() {
				t.Errorf("Err %v, endedByDo %v", a.Err(), a.endedByDo())
			}
			select {
			case <-a.Done():
			default:
				t.Error("Done not closed after end")
			}
		}},
		{"Done, then end", func(t *testing.T, a *attemptCtx) {
			done := a.Done()
			derived, cancel := context.WithTimeout(a, time.Hour)
			defer cancel()
			if context.Cause(a) != nil || a.Value(key{}) != "v" {
				t.Errorf("live: Cause %v, Value %v", context.Cause(a), a.Value(key{}))
			}
			a.end()
			<-done
			<-derived.Done()
			if !errors.Is(context.Cause(a), context.Canceled) || !errors.Is(derived.Err(), context.Canceled) {
				t.Errorf("Cause %v, derived %v", context.Cause(a), derived.Err())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, &attemptCtx{parent: parent})
		})
	}

	// The caller's cancellation reaches every attempt, and is not a loss.
	a, b := &attemptCtx{parent: parent}, &attemptCtx{parent: parent}
	done := b.Done()
	cancelParent()
	<-done
	if !errors.Is(a.Err(), context.Canceled) || a.endedByDo() {
		t.Errorf("after the parent's cancel: Err %v, endedByDo %v", a.Err(), a.endedByDo())
	}
	a.end()
	if a.endedByDo() {
		t.Error("an attempt ended after the caller's cancel counts as lost")
	}
}
