package session_test

import (
	"strings"
	"testing"

	"github.com/skyplan/skyplan/internal/gcpfake"
)

// A capability check that gets no verdict (503 after every retry) is a gap
// of the whole cloud saying the check failed, never "not usable": nobody
// knows what exists there, so nothing may be planned around it. A 403 is a
// denial of that capability alone.
func TestUnverifiedCheckIsACloudGapNotADenial(t *testing.T) {
	for _, tt := range []struct {
		name       string
		fault      gcpfake.Fault
		capability string
		reason     string
	}{
		{"503", gcpfake.Unavailable(), "", `checking capability "compute" failed: `},
		{"403", gcpfake.Forbidden(), "compute", `capability "compute" is not usable: `},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := gcpFake(t)
			gcs, err := gcpfake.StartGCS()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(gcs.Close)
			for k, v := range gcs.Env() {
				t.Setenv(k, v)
			}
			fake.Inject("GET", "/compute/v1/projects/*/zones", tt.fault)
			cfg := writeSpec(t, `
cloud "gcp" {
  project = "check-gap"
}
cluster "c" {
  cloud         = "gcp"
  zone          = "us-central1-a"
  instance_type = "n2-standard-4"
}
bucket "b" {
  cloud = "gcp"
  name  = "check-gap-bucket"
}
`)
			p := mustPlan(t, cfg)
			if len(p.Gaps) == 0 {
				t.Fatal("plan has no gap")
			}
			g := p.Gaps[0]
			if g.Capability != tt.capability || !strings.HasPrefix(g.Reason, tt.reason) || !strings.Contains(strings.Join(g.Addresses, ","), "cluster.c") {
				t.Errorf("gap %+v; want capability %q, reason starting %q, hiding cluster.c", g, tt.capability, tt.reason)
			}
		})
	}
}
