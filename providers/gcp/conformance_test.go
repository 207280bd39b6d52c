package gcp

import (
	"strconv"
	"testing"

	compute "google.golang.org/api/compute/v1"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/providers/providertest"
)

func TestConformance(t *testing.T) {
	e := newEnv(t)
	// Small pages so every list in the suite follows pagination.
	e.fake.MaxPageSize = 2
	// A bucket skyplan does not own must never be observed or touched.
	e.gcs.CreateBucket("someone-elses-bucket", "US", map[string]string{"team": "other"})
	providertest.Run(t, providertest.Harness{
		New:          func(t *testing.T, ws string) providers.Provider { return e.provider(t, ws) },
		Cluster:      gceCluster,
		ReplaceAttr:  "instance_type",
		ReplaceValue: "n2-standard-8",
		Bucket: func() map[string]any {
			return map[string]any{"cloud": "gcp", "name": "skyplan-conformance-jobs", "location": "US",
				"versioning": false, "force_destroy": false, "labels": map[string]string{}}
		},
		DeleteOutOfBand: func(t *testing.T, id string) {
			for _, inst := range e.fake.Instances() {
				if strconv.FormatUint(inst.Id, 10) == id {
					e.fake.DeleteInstance(testProject, lastSegment(inst.Zone), inst.Name)
					return
				}
			}
			t.Fatalf("no instance with ID %s to delete out of band", id)
		},
		CreateUnowned: func(t *testing.T) string {
			inst, err := e.fake.AddInstance(testProject, "us-central1-a", &compute.Instance{Name: "hand-made-vm"})
			if err != nil {
				t.Fatal(err)
			}
			return strconv.FormatUint(inst.Id, 10)
		},
		Exists: func(t *testing.T, id string) bool { return e.instanceExists(id) },
	})
	if !e.gcs.BucketExists("someone-elses-bucket") {
		t.Errorf("the unowned bucket was deleted")
	}
}
