package executor_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/executor"
	"github.com/skyplan/skyplan/internal/emulator"
	"github.com/skyplan/skyplan/internal/gcpfake"
	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/providers"
	_ "github.com/skyplan/skyplan/providers/aws"
	_ "github.com/skyplan/skyplan/providers/gcp"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

const specSrc = `
skyplan {
  workspace = "%s"
}
cloud "aws" {
  regions = ["us-east-1"]
}
cluster "a" {
  cloud         = "aws"
  instance_type = "t3.micro"
}
cluster "b" {
  cloud         = "aws"
  instance_type = "t3.micro"
}
cluster "c" {
  cloud         = "aws"
  instance_type = "t3.micro"
  nodes         = 2
}
`

// harness plans and applies the spec against moto the way the CLI does.
type harness struct {
	t         *testing.T
	cfg       *spec.Config
	prov      providers.Provider
	backend   *state.Local
	workspace string
}

func newHarness(t *testing.T, workspace string) *harness {
	cfg, diags := spec.LoadSources(map[string][]byte{"main.hcl": []byte(fmt.Sprintf(specSrc, workspace))}, spec.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	prov, err := providers.New(context.Background(), providers.Config{Cloud: cfg.Clouds["aws"], Workspace: workspace})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, cfg: cfg, prov: prov, backend: state.NewLocal(filepath.Join(t.TempDir(), "state.json")), workspace: workspace}
}

func (h *harness) plan() (*planner.Plan, *state.State) {
	h.t.Helper()
	ctx := context.Background()
	st, err := h.backend.Load(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	if st == nil {
		st = state.New(h.workspace)
	}
	var hints []providers.ResourceHint
	for _, r := range h.cfg.Resources {
		hints = append(hints, providers.ResourceHint{Address: r.Address(), Type: r.Type, Attrs: r.Attrs})
	}
	observed, err := h.prov.Observe(ctx, providers.ObserveRequest{Workspace: h.workspace, Resources: hints})
	if err != nil {
		h.t.Fatal(err)
	}
	p, err := planner.Make(planner.Input{Workspace: h.workspace, SpecHash: h.cfg.Hash, Desired: h.cfg.Resources,
		Observed: observed, ObservedClouds: map[string]bool{"aws": true}, Prior: st})
	if err != nil {
		h.t.Fatal(err)
	}
	return p, st
}

func (h *harness) liveInstances() int {
	h.t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	if err != nil {
		h.t.Fatal(err)
	}
	out, err := ec2.NewFromConfig(cfg).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:skyplan-workspace"), Values: []string{h.workspace}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running"}},
	}})
	if err != nil {
		h.t.Fatal(err)
	}
	n := 0
	for _, r := range out.Reservations {
		n += len(r.Instances)
	}
	return n
}

// stopAfter closes stop once the progress output shows n completed actions.
type stopAfter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	n    int
	stop chan struct{}
	once sync.Once
}

func (s *stopAfter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	if strings.Count(s.buf.String(), "complete after") >= s.n {
		s.once.Do(func() { close(s.stop) })
	}
	return len(p), nil
}

func TestInterruptedApplyKeepsStateAndConverges(t *testing.T) {
	emulator.MotoForTest(t)
	h := newHarness(t, "interrupt")
	p, st := h.plan()
	if p.Summary.Add != 3 {
		t.Fatalf("first plan: %+v, want 3 to add", p.Summary)
	}
	stop := &stopAfter{n: 1, stop: make(chan struct{})}
	ex := &executor.Executor{Providers: map[string]providers.Provider{"aws": h.prov}, Backend: h.backend, State: st,
		Parallelism: 1, Progress: stop, Stop: stop.stop}
	res := mustApply(t, ex, context.Background(), p)
	if !res.Interrupted || len(res.Done) != 1 || len(res.Skipped) != 2 || len(res.Failed) != 0 {
		t.Fatalf("interrupted apply: done=%v skipped=%v failed=%v interrupted=%v", res.Done, res.Skipped, res.Failed, res.Interrupted)
	}
	saved, err := h.backend.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(saved.Resources) != 1 || saved.Resources[0].Address != res.Done[0] || saved.Serial == 0 {
		t.Fatalf("state after interrupt: serial %d, resources %v; want exactly %s", saved.Serial, addresses(saved), res.Done[0])
	}
	if res.Err() == nil || !strings.Contains(res.Err().Error(), "interrupted") {
		t.Fatalf("Err() = %v, want an interrupted error", res.Err())
	}

	// The next apply finishes the job without duplicating what exists.
	p, st = h.plan()
	if p.Summary.Add != 2 || p.Change(res.Done[0]).Action != planner.NoOp {
		t.Fatalf("plan after interrupt: %+v", p.Summary)
	}
	ex = &executor.Executor{Providers: map[string]providers.Provider{"aws": h.prov}, Backend: h.backend, State: st, Parallelism: 4}
	if err := mustApply(t, ex, context.Background(), p).Err(); err != nil {
		t.Fatal(err)
	}
	if n := h.liveInstances(); n != 4 {
		t.Fatalf("live instances after converging = %d, want 4 (1+1+2)", n)
	}
	if p, _ := h.plan(); p.HasChanges() {
		t.Fatalf("plan after converging has changes: %+v", p.Summary)
	}
}

func TestHardCancelThenConverge(t *testing.T) {
	emulator.MotoForTest(t)
	h := newHarness(t, "hardcancel")
	p, st := h.plan()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // every provider call sees a cancelled context
	ex := &executor.Executor{Providers: map[string]providers.Provider{"aws": h.prov}, Backend: h.backend, State: st, Parallelism: 2}
	res := mustApply(t, ex, ctx, p)
	if len(res.Done) == 3 {
		t.Fatalf("a cancelled apply completed everything")
	}
	p, st = h.plan()
	ex = &executor.Executor{Providers: map[string]providers.Provider{"aws": h.prov}, Backend: h.backend, State: st, Parallelism: 2}
	if err := mustApply(t, ex, context.Background(), p).Err(); err != nil {
		t.Fatal(err)
	}
	if n := h.liveInstances(); n != 4 {
		t.Fatalf("live instances = %d, want 4", n)
	}
}

func TestDependentsWaitAndFailuresSkipThem(t *testing.T) {
	emulator.MotoForTest(t)
	src := `
skyplan {
  workspace = "deps"
}
cloud "aws" {
  regions = ["us-east-1"]
}
bucket "b" {
  cloud = "aws"
  name  = "Invalid_Bucket_Name"
}
cluster "c" {
  cloud         = "aws"
  instance_type = "t3.micro"
  labels        = { bucket = bucket.b.name }
}
`
	prov, p := planFromScratch(t, src, "deps", "aws")
	if got := p.Change("cluster.c").DependsOn; len(got) != 1 || got[0] != "bucket.b" {
		t.Fatalf("cluster.c DependsOn = %v", got)
	}
	st := state.New("deps")
	ex := &executor.Executor{Providers: map[string]providers.Provider{"aws": prov}, State: st}
	res := mustApply(t, ex, context.Background(), p)
	if res.Failed["bucket.b"] == nil {
		t.Fatalf("invalid bucket name did not fail: %+v", res)
	}
	if len(res.Skipped) != 1 || res.Skipped[0] != "cluster.c" || res.Interrupted {
		t.Fatalf("dependent of a failed action: skipped=%v interrupted=%v", res.Skipped, res.Interrupted)
	}
	if st.Resource("cluster.c") != nil {
		t.Fatalf("cluster.c was created although its dependency failed")
	}
}

func addresses(st *state.State) []string {
	var out []string
	for _, r := range st.Resources {
		out = append(out, r.Address)
	}
	return out
}

// With parallelism 1 apply follows the plan line by line, so the printed plan
// is also the order things happen in.
func TestSerialApplyFollowsPlanOrder(t *testing.T) {
	emulator.MotoForTest(t)
	src := `
skyplan {
  workspace = "order"
}
cloud "aws" {
  regions = ["us-east-1"]
}
`
	for _, name := range []string{"f", "e", "d", "c", "b", "a"} {
		src += fmt.Sprintf("bucket %q {\n  cloud = \"aws\"\n  name  = \"skyplan-order-%s\"\n}\n", name, name)
	}
	src += "cluster \"train\" {\n  cloud         = \"aws\"\n  instance_type = \"t3.micro\"\n  labels        = { data = bucket.f.name }\n}\n"
	prov, p := planFromScratch(t, src, "order", "aws")
	var planned []string
	for _, c := range p.Changes {
		planned = append(planned, c.Address)
	}
	var progress bytes.Buffer
	ex := &executor.Executor{Providers: map[string]providers.Provider{"aws": prov}, State: state.New("order"), Parallelism: 1, Progress: &progress}
	if err := mustApply(t, ex, context.Background(), p).Err(); err != nil {
		t.Fatal(err)
	}
	var started []string
	for _, line := range strings.Split(progress.String(), "\n") {
		if addr, ok := strings.CutSuffix(line, ": Creating..."); ok {
			started = append(started, addr)
		}
	}
	if d := cmp.Diff(planned, started); d != "" {
		t.Errorf("start order differs from plan order (-plan +started):\n%s", d)
	}
}

// planFromScratch loads a one-cloud spec and plans it against empty state
// (nothing observed), as a first apply would.
func planFromScratch(t *testing.T, src, workspace, cloud string) (providers.Provider, *planner.Plan) {
	t.Helper()
	cfg, diags := spec.LoadSources(map[string][]byte{"main.hcl": []byte(src)}, spec.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	prov, err := providers.New(context.Background(), providers.Config{Cloud: cfg.Clouds[cloud], Workspace: workspace})
	if err != nil {
		t.Fatal(err)
	}
	p, err := planner.Make(planner.Input{Workspace: workspace, Desired: cfg.Resources, Prior: state.New(workspace), ObservedClouds: map[string]bool{cloud: true}})
	if err != nil {
		t.Fatal(err)
	}
	return prov, p
}

// syncBuffer is a progress writer the test may read while apply writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A long action says it still runs, and stops saying so once it is done.
// The GCE fake holds the instance insert until a heartbeat line is out, so
// the action is long by construction, not by timing.
func TestLongActionsReportTheyStillRun(t *testing.T) {
	fake, prov, p := slowGCECluster(t, "beat", 0)
	progress := &syncBuffer{}
	const still = "cluster.slow: Still creating... ["
	fake.OnRequest("POST", "/compute/v1/projects/*/zones/*/instances", func(*http.Request) *gcpfake.Fault {
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if strings.Contains(progress.String(), still) {
				break
			}
		}
		return nil
	})
	ex := &executor.Executor{Providers: map[string]providers.Provider{"gcp": prov}, State: state.New("beat"), Progress: progress, Heartbeat: time.Millisecond}
	if err := mustApply(t, ex, context.Background(), p).Err(); err != nil {
		t.Fatal(err)
	}
	out := progress.String()
	first, done := strings.Index(out, still), strings.Index(out, "cluster.slow: Creation complete after")
	if first < 0 || done < first {
		t.Fatalf("want a heartbeat line before completion:\n%s", out)
	}
	if strings.Contains(out[done:], "Still") {
		t.Errorf("heartbeat after completion:\n%s", out)
	}
}

// slowGCECluster starts a GCE fake whose operations finish after polls
// polls (0: at once) and plans one GCE cluster.slow on it.
func slowGCECluster(t *testing.T, workspace string, polls int) (*gcpfake.Server, providers.Provider, *planner.Plan) {
	t.Helper()
	fake, err := gcpfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	fake.OperationPolls = polls
	for k, v := range fake.Env() {
		t.Setenv(k, v)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	src := fmt.Sprintf(`
skyplan {
  workspace = %q
}
cloud "gcp" {
  project = "skyplan-test"
}
cluster "slow" {
  cloud         = "gcp"
  zone          = "us-central1-a"
  instance_type = "n2-standard-4"
}
`, workspace)
	prov, p := planFromScratch(t, src, workspace, "gcp")
	return fake, prov, p
}

// mustApply runs the executor, failing the test if it refuses the plan.
func mustApply(t *testing.T, ex *executor.Executor, ctx context.Context, p *planner.Plan) *executor.Result {
	t.Helper()
	res, err := ex.Apply(ctx, p)
	if err != nil {
		t.Fatalf("apply refused the plan: %v", err)
	}
	return res
}
