package session_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/skyplan/skyplan/internal/emulator"
	"github.com/skyplan/skyplan/internal/session"
	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
)

// writeSpec puts one spec file in a fresh directory and loads it.
func writeSpec(t *testing.T, src string) *spec.Config {
	t.Helper()
	return writeIn(t, t.TempDir(), src)
}

// writeIn writes main.hcl into dir (kept across loads, with its state) and loads it.
func writeIn(t *testing.T, dir, src string) *spec.Config {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := spec.Load(spec.Options{Dir: dir})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

// run plans and applies once, as `skyplan apply --auto-approve` does.
func run(t *testing.T, cfg *spec.Config) (*planner.Plan, *session.Session) {
	t.Helper()
	ctx := context.Background()
	s, err := session.Open(ctx, cfg, session.Options{Operation: "apply", Lock: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, _, err := s.Plan(ctx, session.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Complete() || p.LintErrors() > 0 {
		t.Fatalf("plan: gaps %v, findings %v", p.Gaps, p.Findings)
	}
	res, err := s.Apply(ctx, p, session.ApplyOptions{Parallelism: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	return p, s
}

// Providers return the whole resource and the executor records it as it is:
// after apply restarts a node stopped outside skyplan, state does not keep the
// desired `stopped_nodes = []` that Expand asked for (decision 20), and the
// next plan has no changes.
func TestApplyAfterStoppedNodeRecordsOnlyWhatIsObserved(t *testing.T) {
	moto := emulator.MotoForTest(t)
	if err := moto.ConnectDefaultVPC(context.Background(), "us-east-1"); err != nil {
		t.Fatal(err)
	}
	cfg := writeSpec(t, `
skyplan {
  workspace = "merge"
}
cloud "aws" {
  regions = ["us-east-1"]
}
cluster "c" {
  cloud         = "aws"
  instance_type = "t3.micro"
  nodes         = 2
}
`)
	_, s := run(t, cfg)
	ids := s.State.Resource("cluster.c").IDs
	if len(ids) != 2 {
		t.Fatalf("created %v, want 2 nodes", ids)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	client := ec2.NewFromConfig(awsCfg)
	if _, err := client.StopInstances(context.Background(), &ec2.StopInstancesInput{InstanceIds: ids[:1]}); err != nil {
		t.Fatal(err)
	}

	p, s := run(t, cfg)
	c := p.Change("cluster.c")
	if c.Action != planner.Update || !strings.Contains(strings.Join(c.Notes, "\n"), "stopped outside skyplan") {
		t.Fatalf("plan for a stopped node: %s %v", c.Action, c.Notes)
	}
	if _, ok := c.After[providers.AttrStoppedNodes]; !ok {
		t.Fatalf("the plan's desired attributes do not ask for stopped_nodes = []: %v", c.After)
	}
	saved, err := s.Backend.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := saved.Resource("cluster.c").Attrs[providers.AttrStoppedNodes]; ok {
		t.Errorf("state records stopped_nodes = %v after apply started the node; only an observation may set it", v)
	}
	out, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: ids[:1]})
	if err != nil {
		t.Fatal(err)
	}
	if st := out.Reservations[0].Instances[0].State.Name; st != ec2types.InstanceStateNameRunning && st != ec2types.InstanceStateNamePending {
		t.Errorf("node 0 is %s after apply, want it started again", st)
	}
	again, s2, _ := planOnly(t, cfg)
	defer s2.Close()
	if again.HasChanges() {
		t.Errorf("plan after apply has changes: %+v", again.Summary)
	}
}

func planOnly(t *testing.T, cfg *spec.Config) (*planner.Plan, *session.Session, *session.Refresh) {
	t.Helper()
	s, err := session.Open(context.Background(), cfg, session.Options{Operation: "plan"})
	if err != nil {
		t.Fatal(err)
	}
	p, ref, err := s.Plan(context.Background(), session.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p, s, ref
}
