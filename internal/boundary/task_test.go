package boundary

import (
	"context"
	"errors"
	"testing"
)

// A failed load is not kept: the next Get loads again; a success is kept.
func TestRetryingKeepsOnlySuccess(t *testing.T) {
	loads := 0
	r := NewRetrying(func(context.Context) (string, error) {
		loads++
		if loads == 1 {
			return "partial", errors.New("secret not readable yet")
		}
		return "ready", nil
	})
	if v, err := r.Get(t.Context()); err == nil || v != "partial" {
		t.Errorf("first Get = %q, %v; want the partial value and the error", v, err)
	}
	for range 2 {
		if v, err := r.Get(t.Context()); err != nil || v != "ready" {
			t.Errorf("Get = %q, %v; want ready", v, err)
		}
	}
	if loads != 2 {
		t.Errorf("loaded %d times, want 2", loads)
	}
}

// Env answers declared settings only, and remembers what was read without being declared.
func TestEnvAnswersDeclaredSettingsOnly(t *testing.T) {
	env := NewEnv(func(k string) string { return "v-" + k }, []Setting{{Name: "A"}, {Name: "B", Optional: true}})
	if env.Get("A") != "v-A" || env.Get("B") != "v-B" || env.Get("C") != "" || !env.Declares("B") || env.Declares("C") {
		t.Errorf("Env answered undeclared or missed declared settings")
	}
	if len(env.undeclared) != 1 || env.undeclared[0] != "C" {
		t.Errorf("undeclared reads %v, want [C]", env.undeclared)
	}
	if got := Missing(func(k string) string { return map[string]string{"A": "x"}[k] }, []Setting{{Name: "A"}, {Name: "B"}, {Name: "C", Optional: true}}); len(got) != 1 || got[0] != "B" {
		t.Errorf("Missing = %v, want [B]", got)
	}
}
