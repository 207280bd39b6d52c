package gcp

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
)

func TestControllerConfigAsMetadataUpdatedInPlace(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "ctrl")
	desired := map[string]any{"cloud": "gcp", "zone": "us-central1-a", "region": "us-central1", "instance_type": "n2-standard-4",
		"disk_size": int64(50), "bucket": "jobs-bucket", "job_clouds": []string{"aws", "gcp"}}
	created := apply(t, p, providers.OpCreate, "jobs_controller.main", desired, nil)
	if len(created.IDs) != 1 {
		t.Fatalf("controller IDs = %v, want one instance", created.IDs)
	}
	insts := e.fake.Instances()
	if len(insts) != 1 {
		t.Fatalf("fake has %d instances, want 1", len(insts))
	}
	if v, ok := metadataValue(insts[0].Metadata, controllerMetadataKey); !ok || v != `{"workspace":"ctrl","bucket":"jobs-bucket","job_clouds":["aws","gcp"]}` {
		t.Fatalf("controller metadata = %q, %v", v, ok)
	}
	got := observe(t, p, hint("jobs_controller.main", desired))["jobs_controller.main"]
	if got == nil || got.Type != spec.TypeJobsController {
		t.Fatalf("controller not observed: %+v", got)
	}
	if got.Attrs["bucket"] != "jobs-bucket" || !cmp.Equal(got.Attrs["job_clouds"], []string{"aws", "gcp"}) {
		t.Fatalf("observed config: bucket=%v job_clouds=%v", got.Attrs["bucket"], got.Attrs["job_clouds"])
	}

	desired["bucket"] = "other"
	desired["job_clouds"] = []string{"kubernetes"}
	updated := apply(t, p, providers.OpUpdate, "jobs_controller.main", desired, got)
	if !cmp.Equal(created.IDs, updated.IDs) {
		t.Fatalf("config update replaced the instance: %v → %v", created.IDs, updated.IDs)
	}
	got = observe(t, p, hint("jobs_controller.main", desired))["jobs_controller.main"]
	if got.Attrs["bucket"] != "other" || !cmp.Equal(got.Attrs["job_clouds"], []string{"kubernetes"}) {
		t.Fatalf("observed after update: bucket=%v job_clouds=%v", got.Attrs["bucket"], got.Attrs["job_clouds"])
	}
	if e.fake.CountRequests("POST", "/compute/v1/projects/*/zones/*/instances/*/setMetadata") != 1 {
		t.Errorf("want exactly one setMetadata call")
	}

	apply(t, p, providers.OpDelete, "jobs_controller.main", nil, got)
	if got := observe(t, p, hint("jobs_controller.main", desired))["jobs_controller.main"]; got != nil && len(got.IDs) > 0 {
		t.Fatalf("controller still observed after delete: %+v", got)
	}
}
