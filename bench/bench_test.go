package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/internal/emulator"
	"github.com/skyplan/skyplan/internal/testenv"
)

// expectedCallsToday are the exact API calls skyplan makes today in the
// small cases of TestCallCounts, per operation. When a change makes
// skyplan call less (or more), update these numbers in the same commit and
// say why.
//
// A plan's compute check is the first page (1,000 instances) of its
// observation, so a plan over up to 1,000 instances makes one EC2 call and
// 1,001 make two. A plan that launches something inspects the default VPC
// for the network lint (SP-AWS-001): DescribeVpcs, DescribeSubnets,
// DescribeRouteTables, DescribeInternetGateways, once per run.
var expectedCallsToday = map[string]map[string]int{
	"validate, 20": {},
	"plan, nothing exists, 20": {
		"ec2:DescribeInstances": 1,
		"ec2:DescribeVpcs":      1, "ec2:DescribeSubnets": 1, "ec2:DescribeRouteTables": 1, "ec2:DescribeInternetGateways": 1,
	},
	"plan, all exist, 20":   {"ec2:DescribeInstances": 1},
	"plan, all exist, 1001": {"ec2:DescribeInstances": 2},
	// Parallelism 1 keeps the count exact (at higher parallelism how many
	// waits share a poll depends on timing). The plan's observation serves
	// each create's look before launching, the image is looked up once (two
	// searches: the emulators have no 22.04 image), and per create: launch,
	// then the wait, whose answer is the read-back.
	"apply, all created, 5, P=1": {
		"ec2:DescribeInstances": 1 + 5, "ec2:DescribeImages": 2, "ec2:RunInstances": 5,
		"ec2:DescribeVpcs": 1, "ec2:DescribeSubnets": 1, "ec2:DescribeRouteTables": 1, "ec2:DescribeInternetGateways": 1,
	},
}

// TestMain lets the test binary serve as the harness's launcher.
func TestMain(m *testing.M) {
	launchIfAsked()
	os.Exit(m.Run())
}

// startTestHarness builds skyplan and starts moto behind the proxy.
func startTestHarness(t *testing.T) *harness {
	t.Helper()
	if testing.Short() {
		t.Skip("builds skyplan and runs moto_server")
	}
	work := t.TempDir()
	bin := filepath.Join(work, "skyplan")
	if err := buildSkyplan("..", bin); err != nil {
		t.Fatal(err)
	}
	h, err := startHarness(bin, work)
	var ni emulator.ErrNotInstalled
	if errors.As(err, &ni) {
		testenv.Missing(t, "moto_server", err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.close)
	return h
}

// TestCallCounts runs the cases on moto and, where the EC2 fake serves
// them, on the fake too: both must see the same calls, which is what makes
// the fake's numbers in docs/PERFORMANCE.md comparable to moto's.
func TestCallCounts(t *testing.T) {
	h := startTestHarness(t)
	ctx := context.Background()
	// Moto precreates 1,001 instances too slowly: that case runs on the fake.
	cases := []struct {
		measure        func(on emulatorKind) (row, error)
		onMoto, onFake bool
	}{
		{func(emulatorKind) (row, error) { return h.validate(ctx, 20) }, true, false},
		{func(emulatorKind) (row, error) { return h.planNothingObserved(ctx, 20) }, true, false},
		{func(on emulatorKind) (row, error) { return h.planExisting(ctx, on, 20, 0) }, true, true},
		{func(on emulatorKind) (row, error) { return h.planExisting(ctx, on, 1001, 0) }, false, true},
		{func(on emulatorKind) (row, error) { return h.applyCreates(ctx, on, 5, 1, 0) }, true, true},
	}
	for _, on := range []emulatorKind{onMoto, onFake} {
		want, got := map[string]map[string]int{}, map[string]map[string]int{}
		for _, c := range cases {
			if (on == onFake && !c.onFake) || (on == onMoto && !c.onMoto) {
				continue
			}
			r, err := c.measure(on)
			if err != nil {
				t.Fatal(err)
			}
			if r.Note != "" {
				t.Errorf("%s: %s", r.label(), r.Note)
			}
			got[r.key()], want[r.key()] = r.Calls, expectedCallsToday[r.key()]
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: skyplan's API calls changed (-expectedCallsToday +got):\n%s", on, diff)
		}
	}
	// Every expectation was measured.
	if len(expectedCallsToday) != len(cases) {
		t.Errorf("expectedCallsToday has %d cases, the test runs %d", len(expectedCallsToday), len(cases))
	}
}

// TestQuickRun is the -quick smoke run: every scenario, the table and the
// markdown report.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds skyplan and runs moto_server")
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		testenv.Missing(t, "moto_server", err.Error())
	}
	out := filepath.Join(t.TempDir(), "PERFORMANCE.md")
	o := options{root: "..", out: out, latency: 10 * time.Millisecond,
		sizes: []int{20}, existing: []int{20}, existingFake: []int{20}, applyN: 4, parallelism: []int{2}, applyOn: []emulatorKind{onFake}}
	if err := runBench(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, want := range []string{
		"## Targets", "| P1 | EC2 calls for plan over 1,000 existing instances ≤ 3 | not measured in this run |",
		"| validate | P4 | - | 20 |", "| plan, all exist | P1, P2 | moto | 20 |", "| plan, all exist | - | EC2 fake | 20 |",
		"| apply, all created | P3 | EC2 fake | 4 | 2 | 10 ms |",
		"- plan, all exist, 20, moto: ec2:DescribeInstances 1",
		"(critical path: 9 calls for the first create, 2 per further wave)",
		"## How it is measured",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
}

func TestIdealApply(t *testing.T) {
	tests := []struct {
		path criticalPath
		n, p int
		want time.Duration
	}{
		// The first create's 9 calls, then 19 more waves of 10 at 2 calls each.
		{criticalPath{9, 2}, 200, 10, (9 + 19*2) * 50 * time.Millisecond},
		{criticalPath{9, 2}, 200, 50, (9 + 3*2) * 50 * time.Millisecond},
		// A last, partial wave counts as a whole one.
		{criticalPath{9, 2}, 10, 4, (9 + 2*2) * 50 * time.Millisecond},
		{criticalPath{9, 2}, 1, 10, 9 * 50 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := tt.path.ideal(tt.n, tt.p, 50*time.Millisecond); got != tt.want {
			t.Errorf("%+v.ideal(%d, %d) = %s, want %s", tt.path, tt.n, tt.p, got, tt.want)
		}
	}
}
