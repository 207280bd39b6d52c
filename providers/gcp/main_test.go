package gcp

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/skyplan/skyplan/internal/gcpfake"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
)

const testProject = "skyplan-test"

// env is one test's emulators: the GCE/TPU fake and the GCS front on
// fake-gcs-server, with the environment pointing the provider at them and
// no Google credentials in reach.
type env struct {
	fake *gcpfake.Server
	gcs  *gcpfake.GCS
}

func newEnv(t *testing.T) *env {
	t.Helper()
	fake, err := gcpfake.Start()
	if err != nil {
		t.Fatalf("starting the GCE/TPU fake: %v", err)
	}
	t.Cleanup(fake.Close)
	gcs, err := gcpfake.StartGCS()
	if err != nil {
		t.Fatalf("starting fake-gcs-server: %v", err)
	}
	t.Cleanup(gcs.Close)
	for k, v := range fake.Env() {
		t.Setenv(k, v)
	}
	for k, v := range gcs.Env() {
		t.Setenv(k, v)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	return &env{fake: fake, gcs: gcs}
}

// provider builds a provider for a workspace with fast polling.
func (e *env) provider(t *testing.T, workspace string, attrs ...map[string]any) *Provider {
	t.Helper()
	cloud := &spec.Cloud{Name: "gcp", Attrs: map[string]any{"project": testProject}}
	for _, a := range attrs {
		for k, v := range a {
			cloud.Attrs[k] = v
		}
	}
	prov, err := New(context.Background(), providers.Config{Cloud: cloud, Workspace: workspace})
	if err != nil {
		t.Fatal(err)
	}
	p := prov.(*Provider)
	p.backoff.Initial, p.backoff.Max = time.Millisecond, 5*time.Millisecond
	p.opTimeout = 30 * time.Second
	p.capacityWait = time.Millisecond // a refused zone is not retried in place
	return p
}

// instanceByID finds a fake instance by the ID the provider reports.
func (e *env) instanceExists(id string) bool {
	for _, inst := range e.fake.Instances() {
		if strconv.FormatUint(inst.Id, 10) == id {
			return true
		}
	}
	return false
}

func gceCluster(nodes int64) map[string]any {
	return map[string]any{
		"cloud": "gcp", "zone": "us-central1-a", "region": "us-central1",
		"instance_type": "n2-standard-4", "nodes": nodes,
		"disk_size": int64(50), "disk_tier": "medium",
		"use_spot": false, "use_internal_ips": false, "tpu_vm": true,
		"labels": map[string]string{"team": "conf"},
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
