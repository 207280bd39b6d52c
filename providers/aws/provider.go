// Package aws is skyplan's AWS provider: clusters are groups of EC2
// instances, buckets are S3 buckets. Every object carries the ownership tags,
// so Observe finds them with one tag-filtered, paginated list per region.
//
// Configuration comes from the SDK's own chain (environment, shared config,
// AWS_ENDPOINT_URL, the cloud block's `profile`). S3 uses path-style
// addressing only when an endpoint override is set (emulators such as moto);
// real S3 keeps virtual-hosted style, which new buckets require.
package aws

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/skyplan/skyplan/internal/deadline"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// CloudName is the cloud this provider serves.
const CloudName = "aws"

// fallbackRegion is used when neither the cloud block nor the SDK names one.
const fallbackRegion = "us-east-1"

func init() { providers.Register(CloudName, New) }

var (
	_ providers.Provider         = (*Provider)(nil)
	_ providers.NetworkInspector = (*Provider)(nil)
)

// Provider talks to EC2 and S3. It is safe for concurrent use.
type Provider struct {
	cloud     *spec.Cloud
	workspace string

	// extraLoadOptions lets tests add SDK options (e.g. a call-counting middleware).
	extraLoadOptions []func(*config.LoadOptions) error
	// callTimeout bounds one HTTP request attempt; waitTimeout one waiter.
	callTimeout time.Duration
	waitTimeout time.Duration
	// capacityWait bounds retrying a place that refused a launch.
	capacityWait time.Duration

	cfgOnce sync.Once
	cfg     awssdk.Config
	cfgErr  error

	mu      sync.Mutex
	ec2s    map[string]*ec2.Client
	s3s     map[string]*s3.Client
	profile string

	// Shared by the run's creates (shared.go, runwait.go).
	images       memo[imageChoice]
	subnets      memo[ec2types.Subnet]
	networks     memo[*providers.NetworkFacts]
	listPageSize int32 // DescribeInstances MaxResults of observation; 0: 1,000
	listMu       sync.Mutex
	firstPages   map[string]firstPage
	listings     map[string]*listing
	waits        map[string]*runningWatch // region → its batched waits (under mu)
}

// New builds the provider from its cloud block. It makes no network calls;
// configuration is loaded on first use so Check can report its errors.
func New(_ context.Context, cfg providers.Config) (providers.Provider, error) {
	cloud := cfg.Cloud
	if cloud == nil {
		cloud = &spec.Cloud{Name: CloudName, Attrs: map[string]any{}}
	}
	if cloud.Name != CloudName {
		return nil, fmt.Errorf("aws provider built for cloud %q", cloud.Name)
	}
	for _, r := range cloud.StringList("regions") {
		if r == "" {
			return nil, fmt.Errorf(`cloud "aws": regions must not contain an empty string`)
		}
	}
	limits := cfg.Limits.WithDefaults()
	return &Provider{
		cloud:        cloud,
		workspace:    cfg.Workspace,
		profile:      cloud.String("profile"),
		callTimeout:  limits.CallTimeout,
		waitTimeout:  limits.WaitTimeout,
		capacityWait: limits.CapacityWait,
		ec2s:         map[string]*ec2.Client{},
		s3s:          map[string]*s3.Client{},
		firstPages:   map[string]firstPage{},
		listings:     map[string]*listing{},
		waits:        map[string]*runningWatch{},
	}, nil
}

// Name returns "aws".
func (p *Provider) Name() string { return CloudName }

func (p *Provider) awsConfig(ctx context.Context) (awssdk.Config, error) {
	p.cfgOnce.Do(func() {
		opts := []func(*config.LoadOptions) error{}
		if p.profile != "" {
			opts = append(opts, config.WithSharedConfigProfile(p.profile))
		}
		opts = append(opts, p.extraLoadOptions...)
		p.cfg, p.cfgErr = deadline.LoadAWSConfig(ctx, p.callTimeout, opts...)
		if p.cfgErr != nil {
			p.cfgErr = fmt.Errorf("loading AWS configuration%s: %w", p.profileNote(), p.cfgErr)
		}
	})
	return p.cfg, p.cfgErr
}

func (p *Provider) profileNote() string {
	if p.profile == "" {
		return ""
	}
	return fmt.Sprintf(" (profile %q)", p.profile)
}

// defaultRegion is the cloud block's first region, else the SDK's, else us-east-1.
func (p *Provider) defaultRegion(ctx context.Context) string {
	if rs := p.cloud.StringList("regions"); len(rs) > 0 {
		return rs[0]
	}
	if cfg, err := p.awsConfig(ctx); err == nil && cfg.Region != "" {
		return cfg.Region
	}
	return fallbackRegion
}

func (p *Provider) ec2Client(ctx context.Context, region string) (*ec2.Client, error) {
	cfg, err := p.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.ec2s[region]; ok {
		return c, nil
	}
	c := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region = region }, withoutCapacityRetries)
	p.ec2s[region] = c
	return c, nil
}

func (p *Provider) s3Client(ctx context.Context, region string) (*s3.Client, error) {
	cfg, err := p.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.s3s[region]; ok {
		return c, nil
	}
	// Emulators serve every bucket under one host, so they need path style.
	pathStyle := cfg.BaseEndpoint != nil || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.Region = region
		o.UsePathStyle = pathStyle
		// Emulators send no checksums; the SDK would log a DEBUG line per read.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	p.s3s[region] = c
	return c, nil
}

// endpointName says where requests go, for messages.
func (p *Provider) endpointName(ctx context.Context, service, region string) string {
	if cfg, err := p.awsConfig(ctx); err == nil && cfg.BaseEndpoint != nil {
		return *cfg.BaseEndpoint
	}
	if service == "s3" {
		return "s3." + region + ".amazonaws.com"
	}
	return service + "." + region + ".amazonaws.com"
}

// Apply creates, updates or deletes one cluster or bucket.
func (p *Provider) Apply(ctx context.Context, req providers.ApplyRequest) (*state.Resource, error) {
	if err := req.Validate(CloudName, p.workspace); err != nil {
		return nil, err
	}
	if req.Op != providers.OpCreate {
		p.forgetListed(req) // what was observed of it may change now
	}
	if req.Op == providers.OpRelease {
		return p.release(ctx, req)
	}
	switch req.Type {
	case spec.TypeCluster, spec.TypeJobsController:
		return p.applyCluster(ctx, req)
	case spec.TypeBucket:
		return p.applyBucket(ctx, req)
	}
	return nil, fmt.Errorf("%s: the aws provider does not manage resources of type %q", req.Address, req.Type)
}

// reservedTag reports tag keys skyplan or AWS own, which labels may not use.
func reservedTag(k string) bool {
	switch k {
	case providers.TagManaged, providers.TagWorkspace, providers.TagAddress, providers.TagState, providers.TagGeneration, tagNodeIndex, "Name", tagControllerBucket, tagControllerJobClouds:
		return true
	}
	return strings.HasPrefix(strings.ToLower(k), "aws:")
}

// userLabels drops ownership/bookkeeping tags, leaving the spec's labels.
func userLabels(tags map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range tags {
		if !reservedTag(k) {
			out[k] = v
		}
	}
	return out
}
