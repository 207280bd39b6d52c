package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skyplan/skyplan/internal/cloudproxy"
)

// The lint gate refuses before any change: us-west-2's default VPC in moto
// has no route to the internet, so apply says why and sends no mutating call.
func TestLiveLintErrorRefusesApplyBeforeAnyWrite(t *testing.T) {
	_, proxy := cloudproxy.MotoForTest(t)
	dir := t.TempDir()
	spec := `
skyplan {
  workspace = "gate"
}
cloud "aws" {
  regions = ["us-west-2"]
}
bucket "b" {
  cloud = "aws"
  name  = "gate-test-bucket"
}
cluster "c" {
  cloud         = "aws"
  instance_type = "t3.micro"
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	proxy.ResetCounts()
	code, stdout, stderr := runCLI(t, dir, "apply", "--auto-approve")
	if code != ExitError || !strings.Contains(stderr, "apply refused, nothing was changed: lint found 1 error") {
		t.Fatalf("apply: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "error[SP-AWS-001]") {
		t.Errorf("the plan does not show the finding:\n%s", stdout)
	}
	snap := proxy.Snapshot()
	if snap.Mutating != 0 {
		t.Errorf("apply refused, yet %d mutating calls were sent: %v", snap.Mutating, snap.Calls)
	}
	// --skip-lint overrides, and the plan says so.
	code, stdout, _ = runCLI(t, dir, "plan", "--skip-lint")
	if code != ExitOK || !strings.Contains(stdout, "lint was skipped (--skip-lint)") {
		t.Errorf("plan --skip-lint: exit %d\n%s", code, stdout)
	}
}
