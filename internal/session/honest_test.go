package session_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skyplan/skyplan/internal/cloudproxy"
	"github.com/skyplan/skyplan/planner"
)

const honestSpec = `
skyplan {
  workspace = "%s"
}
cloud "aws" {
  regions = ["us-west-2"]
}
bucket "b" {
  cloud = "aws"
  name  = "honest-%s-bucket"
}
cluster "c" {
  cloud         = "aws"
  instance_type = "t3.micro"
}
`

// A cloud that cannot be observed never yields "No changes": the plan says
// it is incomplete in every format, and it is not saved.
func TestUnobservedCloudIsNeverNoChanges(t *testing.T) {
	_, proxy := cloudproxy.MotoForTest(t)
	cfg := writeSpec(t, strings.ReplaceAll(honestSpec, "%s", "gap"))
	proxy.AddFault(cloudproxy.Fault{Ops: []string{"ec2:DescribeInstances"}, Fraction: 1, Error: &cloudproxy.EC2InternalError})
	p := mustPlan(t, cfg)
	// The compute check is the observation's first page: its failure is a
	// gap that names the call, and never a denial.
	if p.Complete() || len(p.Gaps) == 0 || !strings.Contains(p.Gaps[0].Reason, "failed") || !strings.Contains(p.Gaps[0].Reason, "DescribeInstances") ||
		strings.Contains(p.Gaps[0].Reason, "not usable") {
		t.Fatalf("gaps = %+v, want a failure naming DescribeInstances", p.Gaps)
	}
	var text, js, md bytes.Buffer
	if err := planner.WriteText(&text, p, planner.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := planner.WriteJSON(&js, p); err != nil {
		t.Fatal(err)
	}
	if err := planner.WriteMarkdown(&md, p); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"text": text.String(), "json": js.String(), "markdown": md.String()} {
		if strings.Contains(out, "No changes.") || strings.Contains(out, "The clouds match the spec") {
			t.Errorf("%s output claims no changes:\n%s", name, out)
		}
		if !strings.Contains(strings.ToLower(out), "incomplete") && !strings.Contains(out, `"complete": false`) {
			t.Errorf("%s output does not say the plan is incomplete:\n%s", name, out)
		}
	}
	if err := planner.WriteFile(filepath.Join(t.TempDir(), "p.bin"), p); err == nil {
		t.Error("an incomplete plan was saved")
	}
}
