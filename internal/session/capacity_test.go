package session_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skyplan/skyplan/executor"
	"github.com/skyplan/skyplan/internal/cloudproxy"
	"github.com/skyplan/skyplan/internal/gcpfake"
	"github.com/skyplan/skyplan/internal/session"
	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
)

// fastCapacity: a refused place is tried once, then the next.
var fastCapacity = session.Options{Limits: providers.Limits{CapacityWait: time.Millisecond}}

// cycle plans (lint off: the network is not what is tested) and applies
// once, returning the plan, apply's result and its progress.
func cycle(t *testing.T, cfg *spec.Config) (*planner.Plan, *executor.Result, string) {
	t.Helper()
	ctx := context.Background()
	opts := fastCapacity
	opts.Operation, opts.Lock = "apply", true
	s, err := session.Open(ctx, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, _, err := s.Plan(ctx, session.PlanOptions{SkipLint: true})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Complete() {
		t.Fatalf("plan has gaps: %v", p.Gaps)
	}
	// The executor writes progress a line at a time, under its own lock.
	var progress bytes.Buffer
	res, err := s.Apply(ctx, p, session.ApplyOptions{Parallelism: 4, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	return p, res, progress.String()
}

// mustPlan plans once with lint off, as `skyplan plan --skip-lint` does.
func mustPlan(t *testing.T, cfg *spec.Config) *planner.Plan {
	t.Helper()
	opts := fastCapacity
	opts.Operation = "plan"
	s, err := session.Open(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, _, err := s.Plan(context.Background(), session.PlanOptions{SkipLint: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func gcpFake(t *testing.T) *gcpfake.Server {
	t.Helper()
	fake, err := gcpfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	for k, v := range fake.Env() {
		t.Setenv(k, v)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	return fake
}

const gceSpec = `
skyplan {
  workspace = "cap"
}
cloud "gcp" {
  project = "skyplan-test"
}
cluster "c" {
  cloud         = "gcp"
  instance_type = "%s"
  nodes         = 2
  zones         = ["us-central1-a", "us-central1-b"]
}
`

func instanceNames(fake *gcpfake.Server) []string {
	var out []string
	for _, inst := range fake.Instances() {
		out = append(out, inst.Zone[strings.LastIndex(inst.Zone, "/")+1:]+"/"+inst.Name)
	}
	slices.Sort(out)
	return out
}

// First zone sold out: apply lands the cluster in the second, says so, and
// the next plan has no changes (no replace because it is in the second).
func TestFailoverThenNoChanges(t *testing.T) {
	fake := gcpFake(t)
	fake.ExhaustZone("us-central1-a")
	cfg := writeIn(t, t.TempDir(), strings.Replace(gceSpec, "%s", "n2-standard-4", 1))
	p, res, progress := cycle(t, cfg)
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if c := p.Change("cluster.c"); !strings.Contains(strings.Join(c.Notes, "\n"), "tried in this order on capacity and quota errors: us-central1-a, us-central1-b") {
		t.Errorf("plan notes %q do not show the candidates", c.Notes)
	}
	if !strings.Contains(progress, "cluster.c: us-central1-a: ZONE_RESOURCE_POOL_EXHAUSTED; trying us-central1-b") {
		t.Errorf("progress lacks the refusal:\n%s", progress)
	}
	if got := instanceNames(fake); !slices.Equal(got, []string{"us-central1-b/c-cap-0", "us-central1-b/c-cap-1"}) {
		t.Errorf("instances %v", got)
	}
	if again := mustPlan(t, cfg); again.HasChanges() {
		c := again.Change("cluster.c")
		t.Errorf("plan after failover: %s %s %+v", c.Action, c.Why(), c.Attrs)
	}
}

// A replacement creates the new generation first; when the cloud refuses
// it, the old one keeps running, state still holds it, and the next plan
// proposes the same replacement. When the cloud has room again, the new
// generation replaces the old and the plan after has no changes.
func TestRefusedReplacementLeavesTheOldRunning(t *testing.T) {
	fake := gcpFake(t)
	dir := t.TempDir()
	cfg := writeIn(t, dir, strings.Replace(gceSpec, "%s", "n2-standard-4", 1))
	if _, res, _ := cycle(t, cfg); res.Err() != nil {
		t.Fatal(res.Err())
	}
	before := instanceNames(fake)
	fake.ExhaustZone("us-central1-a")
	fake.ExhaustZone("us-central1-b")
	cfg = writeIn(t, dir, strings.Replace(gceSpec, "%s", "n2-standard-8", 1))
	p, res, progress := cycle(t, cfg)
	c := p.Change("cluster.c")
	if c.Action != planner.Replace || c.ReplaceMode != planner.ReplaceCreateBeforeDestroy || c.Generation != 1 {
		t.Fatalf("plan: %s %q generation %d", c.Action, c.ReplaceMode, c.Generation)
	}
	err := res.Err()
	if err == nil || !strings.Contains(err.Error(), "every placement candidate refused (2 tried)") || !strings.Contains(err.Error(), "generation 0 was not deleted and keeps running") {
		t.Fatalf("apply error = %v", err)
	}
	if got := instanceNames(fake); !slices.Equal(got, before) {
		t.Errorf("instances %v after the refused replacement, want the old ones %v untouched", got, before)
	}
	if !strings.Contains(progress, "creating generation 1 first; generation 0 keeps running until it is up") {
		t.Errorf("progress:\n%s", progress)
	}
	again := mustPlan(t, cfg)
	if c := again.Change("cluster.c"); c.Action != planner.Replace || c.Generation != 1 || c.Prior.Generation != 0 || len(c.Prior.IDs) != 2 {
		t.Fatalf("plan after the refusal: %s generation %d, prior %+v", c.Action, c.Generation, c.Prior)
	}

	fake.ClearFaults()
	_, res, progress = cycle(t, cfg)
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if got := instanceNames(fake); !slices.Equal(got, []string{"us-central1-a/c-cap-g1-0", "us-central1-a/c-cap-g1-1"}) {
		t.Errorf("instances after the replacement %v", got)
	}
	if !strings.Contains(progress, "generation 1 is up; deleting generation 0") {
		t.Errorf("progress:\n%s", progress)
	}
	if again := mustPlan(t, cfg); again.HasChanges() {
		c := again.Change("cluster.c")
		t.Errorf("plan after the replacement: %s %s", c.Action, c.Why())
	}
}

// When the old generation cannot be deleted after the new one is up, the
// next plan finds it by its tags and deletes it.
func TestOldGenerationLeftBehindIsDeletedNextTime(t *testing.T) {
	fake := gcpFake(t)
	dir := t.TempDir()
	if _, res, _ := cycle(t, writeIn(t, dir, strings.Replace(gceSpec, "%s", "n2-standard-4", 1))); res.Err() != nil {
		t.Fatal(res.Err())
	}
	fake.Inject(http.MethodDelete, "/compute/v1/projects/*/zones/*/instances/*", gcpfake.Forbidden())
	cfg := writeIn(t, dir, strings.Replace(gceSpec, "%s", "n2-standard-8", 1))
	_, res, _ := cycle(t, cfg)
	if err := res.Err(); err == nil || !strings.Contains(err.Error(), "deleting generation 0 failed (the next plan deletes it)") {
		t.Fatalf("apply error = %v", err)
	}
	if got := len(instanceNames(fake)); got != 4 {
		t.Fatalf("%d instances, want both generations", got)
	}
	fake.ClearFaults()
	p, res, _ := cycle(t, cfg)
	c := p.Change("cluster.c")
	if c.Action != planner.Update || len(c.Deposed) != 1 || c.Deposed[0].Generation != 0 || c.Generation != 1 {
		t.Fatalf("plan: %s deposed %v generation %d (%s)", c.Action, c.Deposed, c.Generation, c.Why())
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if got := instanceNames(fake); !slices.Equal(got, []string{"us-central1-a/c-cap-g1-0", "us-central1-a/c-cap-g1-1"}) {
		t.Errorf("instances %v, want generation 1 only", got)
	}
	if again := mustPlan(t, cfg); again.HasChanges() {
		t.Errorf("plan after cleanup has changes: %+v", again.Summary)
	}
}

// AWS: the first zone sold out, the cluster lands in the second, and the
// next plan sees no change (EC2 reports zone, subnet and vpc). A
// replacement the cloud refuses leaves it running; once there is room, the
// new generation replaces it.
func TestAWSFailoverAndReplacement(t *testing.T) {
	_, proxy := cloudproxy.MotoForTest(t)
	proxy.AddCapacityRule(cloudproxy.CapacityRule{Zone: "us-east-1a", InstanceType: "t3.micro"})
	const src = `
skyplan {
  workspace = "cap"
}
cloud "aws" {
  regions = ["us-east-1"]
}
cluster "c" {
  cloud         = "aws"
  instance_type = "%s"
  nodes         = 2
  zones         = ["us-east-1a", "us-east-1b"]
}
`
	dir := t.TempDir()
	cfg := writeIn(t, dir, strings.Replace(src, "%s", "t3.micro", 1))
	_, res, progress := cycle(t, cfg)
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress, "cluster.c: us-east-1a: InsufficientInstanceCapacity; trying us-east-1b") {
		t.Errorf("progress:\n%s", progress)
	}
	again := mustPlan(t, cfg)
	c := again.Change("cluster.c")
	if again.HasChanges() || c.Prior.Attrs.String("zone") != "us-east-1b" {
		t.Fatalf("plan after failover: %s %s %+v (zone %q)", c.Action, c.Why(), c.Attrs, c.Prior.Attrs.String("zone"))
	}
	old := c.Prior.IDs

	proxy.AddCapacityRule(cloudproxy.CapacityRule{InstanceType: "t3.small"})
	cfg = writeIn(t, dir, strings.Replace(src, "%s", "t3.small", 1))
	_, res, _ = cycle(t, cfg)
	if err := res.Err(); err == nil || !strings.Contains(err.Error(), "generation 0 was not deleted and keeps running") {
		t.Fatalf("apply error = %v", err)
	}
	if c := mustPlan(t, cfg).Change("cluster.c"); c.Action != planner.Replace || !slices.Equal(c.Prior.IDs, old) {
		t.Fatalf("plan after the refusal: %s, prior %v; want the replacement of %v again", c.Action, c.Prior.IDs, old)
	}

	proxy.ClearFaults()
	if _, res, _ = cycle(t, cfg); res.Err() != nil {
		t.Fatal(res.Err())
	}
	after := mustPlan(t, cfg)
	c = after.Change("cluster.c")
	if after.HasChanges() || c.Prior.Generation != 1 || c.Prior.Attrs.String("instance_type") != "t3.small" || slices.ContainsFunc(c.Prior.IDs, func(id string) bool { return slices.Contains(old, id) }) {
		t.Errorf("plan after the replacement: %s %s, prior generation %d %v", c.Action, c.Why(), c.Prior.Generation, c.Prior.IDs)
	}
}
