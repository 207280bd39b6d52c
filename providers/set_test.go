package providers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/state"
)

// crashing stands in for a provider bug: every call panics.
type crashing struct{}

func (crashing) Name() string { return "crashing" }
func (crashing) Check(context.Context) []providers.CapabilityStatus {
	panic("nil map")
}
func (crashing) Observe(context.Context, providers.ObserveRequest) ([]*state.Resource, error) {
	panic("nil map")
}
func (crashing) Apply(context.Context, providers.ApplyRequest) (*state.Resource, error) {
	panic("nil map")
}

// A provider's panic inside the Set's goroutines reaches the caller's
// goroutine, where the CLI recovers it (a panic on another goroutine would
// crash the process with exit code 2).
func TestSetPanicsOnTheCallersGoroutine(t *testing.T) {
	set := providers.SetOf(map[string]providers.Provider{"x": crashing{}})
	got := func() (r any) {
		defer func() { r = recover() }()
		set.Check(context.Background())
		return nil
	}()
	if got == nil || !strings.Contains(fmt.Sprint(got), "provider x: nil map") {
		t.Fatalf("recovered %v; want the provider's panic", got)
	}
}

func TestSafelyTurnsAPanicIntoAnError(t *testing.T) {
	err := providers.Safely(func() error { panic("nil map") })()
	if err == nil || err.Error() != "internal error: nil map; please report it" {
		t.Fatalf("Safely = %v", err)
	}
	if err := providers.Safely(func() error { return nil })(); err != nil {
		t.Fatalf("Safely without a panic = %v", err)
	}
}
