// Package gcp is skyplan's GCP provider: clusters are groups of Compute
// Engine instances or TPU VMs (tpu/v2), buckets are GCS buckets. Every object
// carries the ownership labels, so Observe finds them with one label-filtered,
// paginated instances.aggregatedList, a TPU nodes.list per zone in use and
// one bucket list.
//
// Endpoints: the cloud block's endpoints = { compute, tpu, storage }, else
// SKYPLAN_GCP_COMPUTE_ENDPOINT / SKYPLAN_GCP_TPU_ENDPOINT and the storage
// client's own STORAGE_EMULATOR_HOST. A loopback endpoint with no Google
// credentials configured is called without authentication, as the storage
// client does for its emulator.
package gcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"
	compute "google.golang.org/api/compute/v1"
	"google.golang.org/api/option"
	tpu "google.golang.org/api/tpu/v2"

	"github.com/skyplan/skyplan/internal/deadline"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// CloudName is the cloud this provider serves.
const CloudName = "gcp"

// Environment variables naming endpoints (GCE and TPU have no standard one).
const (
	EnvComputeEndpoint = "SKYPLAN_GCP_COMPUTE_ENDPOINT"
	EnvTPUEndpoint     = "SKYPLAN_GCP_TPU_ENDPOINT"
)

func init() { providers.Register(CloudName, New) }

var _ providers.Provider = (*Provider)(nil)

// Provider talks to Compute Engine, Cloud TPU and GCS. It is safe for
// concurrent use.
type Provider struct {
	project   string
	workspace string
	cloud     *spec.Cloud
	endpoints map[string]string // compute, tpu, storage: normalised base URLs or ""

	// callTimeout bounds one HTTP request attempt; opTimeout one wait for a
	// long-running operation or an instance to settle.
	callTimeout time.Duration
	opTimeout   time.Duration
	// backoff paces operation polls and retries of 429/5xx answers.
	backoff gax.Backoff
	// maxRetries bounds retries of one call.
	maxRetries int
	// pageSize is maxResults/pageSize of list calls: GCE's largest, 500
	// (aggregated lists included); the TPU API takes it too.
	pageSize int64
	// parallel bounds concurrent node creations/deletions.
	parallel int
	// capacityWait bounds retrying a zone that refused a create for
	// capacity or quota before the next candidate.
	capacityWait time.Duration

	mu         sync.Mutex
	computeSvc *compute.Service
	tpuSvc     *tpu.Service
	gcs        *storage.Client
}

// New builds the provider from its cloud block. It makes no network calls;
// clients are made on first use so Check can report their errors.
func New(_ context.Context, cfg providers.Config) (providers.Provider, error) {
	cloud := cfg.Cloud
	if cloud == nil || cloud.Name != CloudName {
		return nil, fmt.Errorf("gcp provider built for a cloud block that is not \"gcp\"")
	}
	project := cloud.String("project")
	if project == "" {
		return nil, fmt.Errorf(`cloud "gcp": project is required: set project = "PROJECT_ID" (the GCP project skyplan creates resources in)`)
	}
	eps := map[string]string{}
	for k := range cloud.StringMap("endpoints") {
		if k != "compute" && k != "tpu" && k != "storage" {
			return nil, fmt.Errorf(`cloud "gcp": unknown endpoints key %q; allowed: compute, tpu, storage`, k)
		}
	}
	sources := map[string]string{"compute": EnvComputeEndpoint, "tpu": EnvTPUEndpoint}
	defaultPaths := map[string]string{"compute": "/compute/v1/", "tpu": "/", "storage": "/storage/v1/"}
	for _, k := range []string{"compute", "tpu", "storage"} {
		raw, from := cloud.StringMap("endpoints")[k], fmt.Sprintf(`cloud "gcp" endpoints.%s`, k)
		if raw == "" && sources[k] != "" {
			raw, from = os.Getenv(sources[k]), sources[k]
		}
		if raw == "" {
			continue
		}
		ep, err := normaliseEndpoint(raw, defaultPaths[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", from, err)
		}
		eps[k] = ep
	}
	limits := cfg.Limits.WithDefaults()
	return &Provider{
		project:      project,
		workspace:    cfg.Workspace,
		cloud:        cloud,
		endpoints:    eps,
		callTimeout:  limits.CallTimeout,
		opTimeout:    limits.WaitTimeout,
		backoff:      gax.Backoff{Initial: 500 * time.Millisecond, Max: 10 * time.Second, Multiplier: 1.6},
		maxRetries:   6,
		parallel:     8,
		capacityWait: limits.CapacityWait,
		pageSize:     maxPageSize,
	}, nil
}

// maxPageSize is the largest page GCE list calls return (maxResults).
const maxPageSize = 500

// normaliseEndpoint checks an endpoint URL and gives a bare host the API's
// base path, so "http://127.0.0.1:8080" works as well as the full base URL.
func normaliseEndpoint(raw, defaultPath string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("invalid endpoint %q: want an http(s) URL such as http://127.0.0.1:8080", raw)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = defaultPath
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String(), nil
}

func (p *Provider) Name() string { return CloudName }

// errNoCredentials is returned before any call when no credentials exist, so
// the client libraries never probe the metadata server from a laptop.
var errNoCredentials = errors.New("no Google credentials found (Application Default Credentials): run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS")

// credentialsConfigured reports whether ADC can find credentials without the
// network: the environment variable, gcloud's ADC file, or a GCE machine.
func credentialsConfigured() bool {
	if explicitCredentials() || os.Getenv("GCE_METADATA_HOST") != "" {
		return true
	}
	b, _ := os.ReadFile("/sys/class/dmi/id/product_name")
	return strings.Contains(string(b), "Google")
}

// explicitCredentials reports credentials a person configured: the
// environment variable or gcloud's ADC file (not a GCE machine's own).
func explicitCredentials() bool {
	if os.Getenv("GOOGLE_APPLICATION_CREDENTIALS") != "" {
		return true
	}
	dir := os.Getenv("CLOUDSDK_CONFIG")
	if dir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(home, ".config", "gcloud")
		}
	}
	if dir == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, "application_default_credentials.json"))
	return err == nil
}

// isLoopback reports whether an endpoint URL names this machine.
func isLoopback(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// clientOptions builds the options for one API's client: its endpoint,
// its credentials and an HTTP client whose calls the call timeout bounds.
func (p *Provider) clientOptions(ctx context.Context, endpoint string) ([]option.ClientOption, error) {
	var opts []option.ClientOption
	if endpoint != "" {
		opts = append(opts, option.WithEndpoint(endpoint))
	}
	switch {
	case endpoint != "" && isLoopback(endpoint) && !explicitCredentials():
		// A local emulator: no token to fetch (not even from a GCE host's metadata server).
		opts = append(opts, option.WithoutAuthentication())
	case !credentialsConfigured():
		return nil, errNoCredentials
	}
	return deadline.GoogleOptions(ctx, p.callTimeout, opts...)
}

func (p *Provider) computeClient(ctx context.Context) (*compute.Service, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.computeSvc != nil {
		return p.computeSvc, nil
	}
	opts, err := p.clientOptions(ctx, p.endpoints["compute"])
	if err != nil {
		return nil, err
	}
	svc, err := compute.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("compute client: %w", err)
	}
	p.computeSvc = svc
	return svc, nil
}

func (p *Provider) tpuClient(ctx context.Context) (*tpu.Service, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tpuSvc != nil {
		return p.tpuSvc, nil
	}
	opts, err := p.clientOptions(ctx, p.endpoints["tpu"])
	if err != nil {
		return nil, err
	}
	svc, err := tpu.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tpu client: %w", err)
	}
	p.tpuSvc = svc
	return svc, nil
}

func (p *Provider) storageClient(ctx context.Context) (*storage.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gcs != nil {
		return p.gcs, nil
	}
	var opts []option.ClientOption
	var err error
	// Under STORAGE_EMULATOR_HOST the client sets its endpoint itself.
	if os.Getenv("STORAGE_EMULATOR_HOST") != "" {
		opts, err = deadline.GoogleOptions(ctx, p.callTimeout, option.WithoutAuthentication())
	} else {
		opts, err = p.clientOptions(ctx, p.endpoints["storage"])
	}
	if err != nil {
		return nil, err
	}
	c, err := storage.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("storage client: %w", err)
	}
	c.SetRetry(storage.WithErrorFunc(deadline.RetryStorage))
	p.gcs = c
	return c, nil
}

// endpointFor names the endpoint an API is called at, for error messages.
func (p *Provider) endpointFor(api string) string {
	if api == "storage" {
		if h := os.Getenv("STORAGE_EMULATOR_HOST"); h != "" {
			return h
		}
	}
	if ep := p.endpoints[api]; ep != "" {
		return ep
	}
	return map[string]string{
		"compute": "https://compute.googleapis.com/compute/v1/",
		"tpu":     "https://tpu.googleapis.com/",
		"storage": "https://storage.googleapis.com/storage/v1/",
	}[api]
}

// Apply carries out one action on one resource.
func (p *Provider) Apply(ctx context.Context, req providers.ApplyRequest) (*state.Resource, error) {
	if err := req.Validate(CloudName, p.workspace); err != nil {
		return nil, err
	}
	if req.Op == providers.OpRelease {
		return p.release(ctx, req)
	}
	switch req.Type {
	case spec.TypeCluster:
		if isTPURequest(req) {
			return p.applyTPU(ctx, req)
		}
		return p.applyGCE(ctx, req)
	case spec.TypeJobsController:
		return p.applyGCE(ctx, req)
	case spec.TypeBucket:
		return p.applyBucket(ctx, req)
	}
	return nil, fmt.Errorf("%s: the gcp provider does not manage resources of type %q (it manages cluster, bucket and jobs_controller)", req.Address, req.Type)
}

// --- attribute helpers ---------------------------------------------------------

func regionOfZone(zone string) string {
	if i := strings.LastIndex(zone, "-"); i > 0 {
		return zone[:i]
	}
	return zone
}

func lastSegment(u string) string { return u[strings.LastIndex(u, "/")+1:] }

// sameSpelling returns the desired spelling of a value the API normalises
// (case of locations, storage classes), so equal values never show as drift.
func sameSpelling(observed, desired string) string {
	if desired != "" && strings.EqualFold(observed, desired) {
		return desired
	}
	return observed
}
