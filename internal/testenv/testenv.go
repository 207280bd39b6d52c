// Package testenv decides what a test does when an emulator it needs is
// missing: skip on a developer machine, fail under CI=true, never silently pass.
package testenv

import (
	"os"
	"strconv"
	"testing"
)

// InCI reports whether CI=true (or any true value) is set.
func InCI() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

// Missing reports a missing emulator: t.Fatal under CI, t.Skip otherwise.
func Missing(t testing.TB, what, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is required under CI=true but is missing: %s", what, why)
	}
	t.Skipf("%s missing (%s); under CI=true this fails", what, why)
}
