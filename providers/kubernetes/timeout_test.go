package kubernetes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skyplan/skyplan/internal/emulator"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
)

// An API server that accepts and never answers fails Check within the call
// timeout, naming it.
func TestHangingAPIServerFailsWithinTheCallTimeout(t *testing.T) {
	u := emulator.UnresponsiveForTest(t)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := `apiVersion: v1
kind: Config
clusters: [{name: hang, cluster: {server: "` + u.URL + `"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: hang, context: {cluster: hang, user: u}}]
current-context: hang
`
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := New(context.Background(), providers.Config{Cloud: &spec.Cloud{Name: "kubernetes", Attrs: map[string]any{"kubeconfig": kubeconfig}},
		Limits: providers.Limits{CallTimeout: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	st := p.Check(context.Background())
	if want := "endpoint " + u.URL + " did not answer within 300ms"; st[0].OK || !strings.Contains(st[0].Reason, want) {
		t.Fatalf("Check: %+v; want %q", st, want)
	}
}
