package aws

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skyplan/skyplan/internal/emulator"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
)

func statusOf(t *testing.T, got []providers.CapabilityStatus, c spec.Capability) providers.CapabilityStatus {
	t.Helper()
	for _, s := range got {
		if s.Capability == c {
			return s
		}
	}
	t.Fatalf("no status for %s in %+v", c, got)
	return providers.CapabilityStatus{}
}

func TestCheckOK(t *testing.T) {
	needMoto(t)
	got := newProvider(t, "ws", nil).Check(testCtx(t))
	if len(got) != 2 {
		t.Fatalf("statuses = %+v; want compute and storage", got)
	}
	for _, c := range []spec.Capability{spec.CapCompute, spec.CapStorage} {
		if s := statusOf(t, got, c); !s.OK || s.Reason == "" {
			t.Errorf("%s: %+v; want OK with the call that proved it", c, s)
		}
	}
}

func TestCheckOnlyDeclaredCapabilities(t *testing.T) {
	needMoto(t)
	got := newProvider(t, "ws", map[string]any{"capabilities": []string{"storage"}}).Check(testCtx(t))
	if len(got) != 1 || got[0].Capability != spec.CapStorage || !got[0].OK {
		t.Fatalf("statuses = %+v; want storage only, OK", got)
	}
}

func TestCheckEndpointUnreachable(t *testing.T) {
	needMoto(t)
	port, err := emulator.FreePort() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	got := newProvider(t, "ws", nil).Check(testCtx(t))
	for _, c := range []spec.Capability{spec.CapCompute, spec.CapStorage} {
		s := statusOf(t, got, c)
		if s.OK || !strings.Contains(s.Reason, endpoint) || !strings.Contains(s.Reason, "unreachable") {
			t.Errorf("%s: %+v; want a failure naming %s as unreachable", c, s, endpoint)
		}
	}
}

func TestCheckNoCredentials(t *testing.T) {
	needMoto(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	got := newProvider(t, "ws", nil).Check(testCtx(t))
	for _, s := range got {
		if s.OK || !strings.Contains(s.Reason, "no AWS credentials found") {
			t.Errorf("%s: %+v; want 'no AWS credentials found'", s.Capability, s)
		}
	}
}

func TestCheckMissingProfile(t *testing.T) {
	needMoto(t)
	got := newProvider(t, "ws", map[string]any{"profile": "does-not-exist"}).Check(testCtx(t))
	for _, s := range got {
		if s.OK || !strings.Contains(s.Reason, `profile "does-not-exist"`) {
			t.Errorf("%s: %+v; want a failure naming the profile", s.Capability, s)
		}
	}
}

func TestCheckNeverPrintsSecrets(t *testing.T) {
	needMoto(t)
	const secret = "sEcReT-value-that-must-not-leak"
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	port, _ := emulator.FreePort()
	t.Setenv("AWS_ENDPOINT_URL", fmt.Sprintf("http://127.0.0.1:%d", port))
	for _, s := range newProvider(t, "ws", nil).Check(testCtx(t)) {
		if strings.Contains(s.Reason, secret) || strings.Contains(s.Reason, "testing") {
			t.Errorf("%s reason leaks credentials: %q", s.Capability, s.Reason)
		}
	}
}
