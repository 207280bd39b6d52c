package gcp

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/skyplan/skyplan/internal/emulator"
	"github.com/skyplan/skyplan/internal/gcpfake"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
)

func statusOf(st []providers.CapabilityStatus, c spec.Capability) providers.CapabilityStatus {
	for _, s := range st {
		if s.Capability == c {
			return s
		}
	}
	return providers.CapabilityStatus{Reason: "missing"}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(e *env)
		computeOK   bool
		computeWant []string
		storageOK   bool
		storageWant []string
	}{
		{"all works", func(*env) {}, true, []string{"zones.list", testProject, "Cloud TPU API works"}, true, []string{"bucket list"}},
		{"compute denied, storage works", func(e *env) {
			e.fake.Inject("GET", "/compute/v1/projects/*/zones", gcpfake.Forbidden())
		}, false, []string{"permission denied (403)", "compute.zones.list"}, true, nil},
		{"compute API disabled", func(e *env) {
			e.fake.Inject("GET", "/compute/v1/projects/*/zones", gcpfake.ServiceDisabled("compute.googleapis.com"))
		}, false, []string{"API disabled (SERVICE_DISABLED)", "compute.googleapis.com"}, true, nil},
		{"TPU API disabled", func(e *env) {
			e.fake.Inject("GET", "/v2/projects/*/locations", gcpfake.ServiceDisabled("tpu.googleapis.com"))
		}, true, []string{"Cloud TPU API fails", "SERVICE_DISABLED", "tpu.googleapis.com"}, true, nil},
		{"storage denied", func(e *env) {
			e.gcs.Inject("GET", "/storage/v1/b", gcpfake.Forbidden())
		}, true, nil, false, []string{"Cloud Storage", "permission denied (403)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.setup(e)
			st := e.provider(t, "prod").Check(context.Background())
			check := func(s providers.CapabilityStatus, ok bool, want []string) {
				t.Helper()
				if s.OK != ok {
					t.Errorf("%s OK = %v, want %v (%s)", s.Capability, s.OK, ok, s.Reason)
				}
				for _, w := range want {
					if !strings.Contains(s.Reason, w) {
						t.Errorf("%s reason %q does not mention %q", s.Capability, s.Reason, w)
					}
				}
			}
			check(statusOf(st, spec.CapCompute), tt.computeOK, tt.computeWant)
			check(statusOf(st, spec.CapStorage), tt.storageOK, tt.storageWant)
		})
	}
}

func TestCheckUnreachableEndpoint(t *testing.T) {
	newEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	t.Setenv("STORAGE_EMULATOR_HOST", "")
	e := &env{}
	p := e.provider(t, "prod", map[string]any{"endpoints": map[string]string{"compute": closed, "tpu": closed, "storage": closed}})
	st := p.Check(context.Background())
	for _, c := range []spec.Capability{spec.CapCompute, spec.CapStorage} {
		s := statusOf(st, c)
		if s.OK || !s.Unverified || !strings.Contains(s.Reason, "unreachable") || !strings.Contains(s.Reason, l.Addr().String()) {
			t.Errorf("%s with a closed endpoint: %+v; want unverified, naming the endpoint", c, s)
		}
	}
}

func TestCheckWithoutCredentials(t *testing.T) {
	newEnv(t)
	// Real endpoints and no credentials: refused before any network call.
	t.Setenv("STORAGE_EMULATOR_HOST", "")
	t.Setenv(EnvComputeEndpoint, "")
	t.Setenv(EnvTPUEndpoint, "")
	p := (&env{}).provider(t, "prod")
	for _, s := range p.Check(context.Background()) {
		if s.OK || !strings.Contains(s.Reason, "no Google credentials found") || !strings.Contains(s.Reason, "gcloud auth application-default login") {
			t.Errorf("%s without credentials: %+v", s.Capability, s)
		}
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Setenv(EnvComputeEndpoint, "")
	t.Setenv(EnvTPUEndpoint, "")
	tests := []struct {
		name  string
		attrs map[string]any
		want  string
	}{
		{"no project", map[string]any{}, "project is required"},
		{"unknown endpoint key", map[string]any{"project": "p", "endpoints": map[string]string{"gke": "http://x"}}, `unknown endpoints key "gke"; allowed: compute, tpu, storage`},
		{"bad endpoint", map[string]any{"project": "p", "endpoints": map[string]string{"compute": "127.0.0.1:80"}}, `endpoints.compute: invalid endpoint "127.0.0.1:80"`},
	}
	for _, tt := range tests {
		_, err := New(context.Background(), providers.Config{Cloud: &spec.Cloud{Name: "gcp", Attrs: tt.attrs}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	t.Setenv(EnvComputeEndpoint, "ftp://x")
	if _, err := New(context.Background(), providers.Config{Cloud: &spec.Cloud{Name: "gcp", Attrs: map[string]any{"project": "p"}}}); err == nil || !strings.Contains(err.Error(), EnvComputeEndpoint) {
		t.Errorf("bad env endpoint: %v", err)
	}
}

func TestEndpoints(t *testing.T) {
	t.Setenv(EnvComputeEndpoint, "http://127.0.0.1:9000")
	t.Setenv(EnvTPUEndpoint, "")
	prov, err := New(context.Background(), providers.Config{Cloud: &spec.Cloud{Name: "gcp", Attrs: map[string]any{
		"project": "p", "endpoints": map[string]string{"tpu": "http://localhost:9001/base"}}}})
	if err != nil {
		t.Fatal(err)
	}
	p := prov.(*Provider)
	if p.endpoints["compute"] != "http://127.0.0.1:9000/compute/v1/" || p.endpoints["tpu"] != "http://localhost:9001/base/" {
		t.Errorf("endpoints = %v", p.endpoints)
	}
	// The cloud block wins over the environment.
	prov, _ = New(context.Background(), providers.Config{Cloud: &spec.Cloud{Name: "gcp", Attrs: map[string]any{
		"project": "p", "endpoints": map[string]string{"compute": "https://compute.example.com/compute/v1/"}}}})
	if ep := prov.(*Provider).endpoints["compute"]; ep != "https://compute.example.com/compute/v1/" {
		t.Errorf("cloud block endpoint = %s", ep)
	}
	for ep, want := range map[string]bool{"http://127.0.0.1:1/": true, "http://localhost/": true, "http://[::1]:8/": true, "https://compute.googleapis.com/": false, "http://10.0.0.1/": false} {
		if isLoopback(ep) != want {
			t.Errorf("isLoopback(%s) = %v", ep, !want)
		}
	}
}

func TestStorageEndpointFromCloudBlock(t *testing.T) {
	e := newEnv(t)
	t.Setenv("STORAGE_EMULATOR_HOST", "")
	p := e.provider(t, "prod", map[string]any{"endpoints": map[string]string{"storage": e.gcs.URL}})
	if s := statusOf(p.Check(context.Background()), spec.CapStorage); !s.OK {
		t.Fatalf("storage through endpoints.storage: %+v", s)
	}
	apply(t, p, providers.OpCreate, "bucket.jobs", bucketAttrs("via-endpoint"), nil)
	if !e.gcs.BucketExists("via-endpoint") {
		t.Error("bucket not created through endpoints.storage")
	}
}

// Endpoints that accept and never answer fail Check and Observe within
// about one call timeout, naming the endpoint, and are not retried.
func TestHangingEndpointsFailWithinTheCallTimeout(t *testing.T) {
	newEnv(t)
	u := emulator.UnresponsiveForTest(t)
	t.Setenv("STORAGE_EMULATOR_HOST", "")
	e := &env{}
	p := e.provider(t, "prod", map[string]any{"endpoints": map[string]string{"compute": u.URL, "tpu": u.URL, "storage": u.URL}})
	p.callTimeout = 300 * time.Millisecond
	want := "endpoint " + u.URL + " did not answer within 300ms"
	for _, s := range p.Check(context.Background()) {
		if s.OK || !strings.Contains(s.Reason, want) {
			t.Errorf("%s: %+v; want %q", s.Capability, s, want)
		}
	}
	if n := len(u.Accepted); n != 3 {
		t.Errorf("Check made %d connections, want 3 (zones, TPU locations, buckets; no retry of a timeout)", n)
	}
	_, err := p.Observe(context.Background(), providers.ObserveRequest{Workspace: "prod", Resources: []providers.ResourceHint{
		{Address: "cluster.c", Type: spec.TypeCluster, Attrs: gceCluster(1)}}})
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Observe: %v; want %q", err, want)
	}
}

// A check that gets no verdict (5xx or 429 after every retry; a refused
// connection, see TestCheckUnreachableEndpoint) is Unverified, not a
// denial; one that gets a 403 is a denial; 5xx answers and lost
// connections are retried.
func TestCheckTellsNoVerdictFromDenial(t *testing.T) {
	zones := "/compute/v1/projects/*/zones"
	tests := []struct {
		name           string
		fault          gcpfake.Fault
		ok, unverified bool
	}{
		{"two 500s are retried", gcpfake.Fault{Status: 500, Reason: "backendError", Message: "boom", Times: 2}, true, false},
		{"a lost answer is retried", gcpfake.Fault{Drop: true, Times: 1}, true, false},
		{"503 every time", gcpfake.Unavailable(), false, true},
		{"429 every time", gcpfake.RateLimited(0), false, true},
		{"403", gcpfake.Forbidden(), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.Inject("GET", zones, tt.fault)
			s := statusOf(e.provider(t, "prod").Check(context.Background()), spec.CapCompute)
			if s.OK != tt.ok || s.Unverified != tt.unverified {
				t.Errorf("compute: %+v; want OK %v, Unverified %v", s, tt.ok, tt.unverified)
			}
		})
	}
}
