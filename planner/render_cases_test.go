package planner_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

var caseUpdateGolden = flag.Bool("update", false, "rewrite planner/testdata/golden files")

// caseSecret appears only in sensitive values; no rendering may print it.
const caseSecret = "s3cr3t"

// caseFixturePlan has one change of every kind, notes, a blocked replace, a
// state-only update, a dependency and sensitive values.
func caseFixturePlan(t *testing.T) *planner.Plan {
	t.Helper()
	jobsLabels := map[string]string{"team": "ml", "env": "prod", "owner": "alice", "cost-center": "42"}
	secretPrior := caseObs("cluster.secret", "aws", caseCopy(caseClusterAttrs, "labels", map[string]string{"token": caseSecret + "-old"}))
	secretPrior.Sensitive = []string{"labels"}
	oldBucket := caseObs("bucket.old", "aws", caseCopy(caseBucketAttrs, "name", "old-bucket", "labels", map[string]string{"key": caseSecret + "-del"}))
	oldBucket.Sensitive = []string{"labels"}
	in := planner.Input{
		Workspace: caseWS,
		SpecHash:  "spec-hash-1",
		Desired: []*spec.Resource{
			caseRes("bucket", "jobs", caseCopy(caseBucketAttrs, "labels", jobsLabels)),
			caseRes("bucket", "flags", caseCopy(caseBucketAttrs, "name", "flags-bucket", "force_destroy", true)),
			caseRes("jobs_controller", "main", caseAWSControllerAttrs, "bucket.jobs"),
			caseRes("cluster", "train", caseCopy(caseClusterAttrs, "nodes", int64(3), "labels", map[string]string{"team": "ml", "env": "prod"})),
			{Type: "cluster", Name: "secret", Attrs: caseCopy(caseClusterAttrs, "labels", map[string]string{"token": caseSecret + "-new"}),
				Sensitive: map[string]bool{"labels": true}},
			caseRes("gpu_label_policy", "p", map[string]any{"cloud": "kubernetes", "label_key": "skypilot.co/accelerator"}),
		},
		Expanded: map[string]planner.Expansion{
			"cluster.train": {Attrs: caseCopy(caseClusterAttrs, "nodes", int64(3), "labels", map[string]string{"team": "ml", "env": "prod"}),
				Notes: []string{"label | env is also set by the cluster's autoscaler"}},
		},
		Prior: casePrior(
			caseObs("bucket.flags", "aws", caseCopy(caseBucketAttrs, "name", "flags-bucket")),
			caseObs("jobs_controller.main", "gcp", caseGCPControllerAttrs),
			caseObs("cluster.train", "aws", caseClusterAttrs),
			secretPrior,
			oldBucket,
		),
		Observed: []*state.Resource{
			caseObs("bucket.flags", "aws", caseCopy(caseBucketAttrs, "name", "flags-bucket", "force_destroy", nil)),
			caseObs("jobs_controller.main", "gcp", caseGCPControllerAttrs),
			caseObs("cluster.train", "aws", caseClusterAttrs),
			caseObs("cluster.secret", "aws", caseCopy(caseClusterAttrs, "labels", map[string]string{"token": caseSecret + "-old"})),
			caseObs("bucket.old", "aws", caseCopy(caseBucketAttrs, "name", "old-bucket", "labels", map[string]string{"key": caseSecret + "-del"})),
			caseObs("gpu_label_policy.p", "kubernetes", map[string]any{"cloud": "kubernetes", "label_key": "skypilot.co/accelerator"}),
		},
		ObservedClouds: map[string]bool{"aws": true, "gcp": true, "kubernetes": true},
	}
	p, err := planner.Make(in)
	if err != nil {
		t.Fatal(err)
	}
	want := planner.Summary{Add: 1, Change: 3, Replace: 1, Destroy: 1}
	if p.Summary != want {
		t.Fatalf("fixture summary = %+v, want %+v", p.Summary, want)
	}
	return p
}

func caseGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *caseUpdateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./planner -run %s -update to create it)", err, t.Name())
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-golden +got); rerun with -update if intended:\n%s", path, d)
	}
}

func TestCaseWriteTextGolden(t *testing.T) {
	p := caseFixturePlan(t)
	var b bytes.Buffer
	if err := planner.WriteText(&b, p, planner.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "\x1b[") {
		t.Error("text without Color contains ANSI escapes")
	}
	caseGolden(t, "plan.txt", b.Bytes())

	var noChanges bytes.Buffer
	empty := caseMake(t, planner.Input{Desired: []*spec.Resource{caseRes("bucket", "b", caseBucketAttrs)},
		Observed: []*state.Resource{caseObs("bucket.b", "aws", caseBucketAttrs)}})
	if err := planner.WriteText(&noChanges, empty, planner.TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	caseGolden(t, "no-changes.txt", noChanges.Bytes())
}

func TestCaseWriteTextColor(t *testing.T) {
	p := caseFixturePlan(t)
	var plain, color bytes.Buffer
	if err := planner.WriteText(&plain, p, planner.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := planner.WriteText(&color, p, planner.TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[1m", "\x1b[0m"} {
		if !strings.Contains(color.String(), code) {
			t.Errorf("colored text lacks %q", code)
		}
	}
	stripped := regexp.MustCompile(`\x1b\[[0-9;]*m`).ReplaceAllString(color.String(), "")
	if stripped != plain.String() {
		t.Errorf("colored text differs from plain text beyond escape codes:\n%s", cmp.Diff(plain.String(), stripped))
	}
}

func TestCaseSensitiveNeverRendered(t *testing.T) {
	p := caseFixturePlan(t)
	// The plan itself holds the values (apply needs them).
	if c := p.Change("cluster.secret"); c.Action != planner.Update || !c.Attrs[0].Sensitive {
		t.Fatalf("fixture: cluster.secret = %s %+v", c.Action, c.Attrs)
	}
	var text, js, md bytes.Buffer
	if err := planner.WriteText(&text, p, planner.TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if err := planner.WriteJSON(&js, p); err != nil {
		t.Fatal(err)
	}
	if err := planner.WriteMarkdown(&md, p); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"text": text.String(), "json": js.String(), "markdown": md.String()} {
		if strings.Contains(out, caseSecret) {
			t.Errorf("%s output contains the sensitive value:\n%s", name, out)
		}
		if !strings.Contains(out, "(sensitive value)") {
			t.Errorf("%s output does not mark the sensitive value", name)
		}
	}
	// Redaction must not modify the plan that apply will use.
	if got := p.Change("cluster.secret").After["labels"].(map[string]string)["token"]; got != caseSecret+"-new" {
		t.Errorf("rendering changed the plan's value to %q", got)
	}
}

func TestCaseWriteJSON(t *testing.T) {
	p := caseFixturePlan(t)
	var b bytes.Buffer
	if err := planner.WriteJSON(&b, p); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if raw["format_version"] != "1" {
		t.Errorf("format_version = %v", raw["format_version"])
	}
	var back planner.Plan
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Summary != p.Summary || back.Lineage != "lineage-1" || back.Serial != 7 || back.SpecHash != "spec-hash-1" || back.Workspace != caseWS {
		t.Errorf("decoded header = %+v", back)
	}
	var got, want []string
	for i, c := range back.Changes {
		got = append(got, c.Action.String()+" "+c.Address+" "+strings.Join(c.DependsOn, ","))
		want = append(want, p.Changes[i].Action.String()+" "+p.Changes[i].Address+" "+strings.Join(p.Changes[i].DependsOn, ","))
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("decoded changes (-want +got):\n%s", d)
	}
	if ctl := back.Change("jobs_controller.main"); ctl == nil || ctl.Blocked == "" || ctl.Action != planner.Replace {
		t.Errorf("controller change lost its blocked replace: %+v", ctl)
	}
	changes := raw["changes"].([]any)
	if len(changes) != len(p.Changes) {
		t.Errorf("JSON has %d changes, plan has %d (no-ops must be included)", len(changes), len(p.Changes))
	}
}

func TestCaseWriteMarkdown(t *testing.T) {
	p := caseFixturePlan(t)
	var b bytes.Buffer
	if err := planner.WriteMarkdown(&b, p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "\n**Plan:** 1 to add, 3 to change, 1 to replace, 1 to destroy.\n") {
		t.Errorf("markdown lacks the summary line:\n%s", out)
	}
	rows := regexp.MustCompile(`(?m)^\| \d+ \| .* \|$`).FindAllString(out, -1)
	var nonNoop int
	for _, c := range p.Changes {
		if c.Action != planner.NoOp {
			nonNoop++
			if !strings.Contains(out, "`"+c.Address+"`") {
				t.Errorf("no table row for %s", c.Address)
			}
		}
	}
	if len(rows) != nonNoop {
		t.Errorf("%d table rows, want %d:\n%s", len(rows), nonNoop, strings.Join(rows, "\n"))
	}
	for _, r := range rows {
		// A '|' inside a cell must be escaped or the row splits into more columns.
		if n := len(regexp.MustCompile(`[^\\]\|`).FindAllString(r, -1)); n != 5 {
			t.Errorf("row has %d unescaped cell separators, want 5: %s", n+1, r)
		}
	}
	if strings.Contains(out, "gpu_label_policy.p") {
		t.Error("no-op change appears in markdown")
	}
	caseGolden(t, "plan.md", b.Bytes())

	var empty bytes.Buffer
	if err := planner.WriteMarkdown(&empty, &planner.Plan{Workspace: caseWS}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(empty.String(), "**No changes.**") {
		t.Errorf("empty plan markdown = %q", empty.String())
	}
}

func TestCasePlanFileRoundTrip(t *testing.T) {
	p := caseFixturePlan(t)
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := planner.WriteFile(path, p); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("plan file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	back, err := planner.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(p, back, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("round trip (-wrote +read):\n%s", d)
	}
	// Saved plans keep sensitive values: apply needs them.
	if got := back.Change("cluster.secret").After["labels"].(map[string]string)["token"]; got != caseSecret+"-new" {
		t.Errorf("saved plan lost the sensitive value: %q", got)
	}

	dir := t.TempDir()
	notPlan := filepath.Join(dir, "state.json")
	os.WriteFile(notPlan, []byte(`{"version": 1, "lineage": "x"}`), 0o600)
	if _, err := planner.ReadFile(notPlan); err == nil || !strings.Contains(err.Error(), "is not a skyplan plan file") {
		t.Errorf("reading a non-plan: %v", err)
	}
	future := filepath.Join(dir, "future.json")
	os.WriteFile(future, []byte(`{"kind": "skyplan-plan", "file_version": 4, "plan": {}}`), 0o600)
	if _, err := planner.ReadFile(future); err == nil || !strings.Contains(err.Error(), "plan file version 4") {
		t.Errorf("reading a newer plan file version: %v", err)
	}
	// A damaged or edited plan is refused, never applied: flip one value.
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := filepath.Join(dir, "edited.json")
	os.WriteFile(edited, []byte(strings.Replace(string(good), `"nodes"`, `"nodez"`, 1)), 0o600)
	if string(good) == strings.Replace(string(good), `"nodes"`, `"nodez"`, 1) {
		t.Fatal("test plan has no nodes attribute to edit")
	}
	if _, err := planner.ReadFile(edited); err == nil || !strings.Contains(err.Error(), "checksum does not match") {
		t.Errorf("reading an edited plan: %v", err)
	}
	truncated := filepath.Join(dir, "truncated.json")
	os.WriteFile(truncated, good[:len(good)/2], 0o600)
	if _, err := planner.ReadFile(truncated); err == nil {
		t.Error("reading a truncated plan succeeded")
	}
	// An incomplete plan is never saved.
	incomplete := *p
	incomplete.Gaps = []planner.Gap{{Cloud: "aws", Reason: "observing aws failed"}}
	if err := planner.WriteFile(filepath.Join(dir, "incomplete.json"), &incomplete); err == nil {
		t.Error("an incomplete plan was saved")
	}
	if _, err := planner.ReadFile(filepath.Join(dir, "absent.json")); err == nil {
		t.Error("reading a missing file succeeded")
	}
}

func TestCaseCheckCurrent(t *testing.T) {
	st := casePrior(caseObs("bucket.b", "aws", caseBucketAttrs))
	p := caseMake(t, planner.Input{SpecHash: "h", Prior: st, Desired: []*spec.Resource{caseRes("bucket", "b", caseBucketAttrs)}})
	if err := p.CheckCurrent(st, "h"); err != nil {
		t.Errorf("unchanged state and spec refused: %v", err)
	}
	otherLineage := *st
	otherLineage.Lineage = "lineage-2"
	bumped := *st
	bumped.Serial++
	cases := []struct {
		name string
		st   *state.State
		hash string
		want string
	}{
		{"changed lineage", &otherLineage, "h", "lineage"},
		{"changed serial", &bumped, "h", "serial 7 → 8"},
		{"changed spec hash", st, "h2", "spec or its variables changed"},
	}
	for _, tc := range cases {
		err := p.CheckCurrent(tc.st, tc.hash)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "run skyplan plan again") {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	// A plan made on empty state applies to a fresh state with another lineage.
	fresh := caseMake(t, planner.Input{SpecHash: "h", Desired: []*spec.Resource{caseRes("bucket", "b", caseBucketAttrs)}})
	if err := fresh.CheckCurrent(state.New(caseWS), "h"); err != nil {
		t.Errorf("plan on empty state refused on empty state: %v", err)
	}
	written := state.New(caseWS)
	written.Serial = 1
	if err := fresh.CheckCurrent(written, "h"); err == nil {
		t.Error("plan on empty state accepted after the state was written")
	}
}

func TestCaseSensitiveInPriorStateOnly(t *testing.T) {
	// The spec no longer marks labels sensitive, but state recorded the old
	// value as sensitive: the old value must still not be printed.
	pr := caseObs("cluster.c", "aws", caseCopy(caseClusterAttrs, "labels", map[string]string{"token": caseSecret + "-old"}))
	pr.Sensitive = []string{"labels"}
	p := caseMake(t, planner.Input{
		Desired: []*spec.Resource{caseRes("cluster", "c", caseCopy(caseClusterAttrs, "labels", map[string]string{"token": "public"}))},
		Prior:   casePrior(pr), Observed: []*state.Resource{caseObs("cluster.c", "aws", pr.Attrs)},
	})
	c := caseOnly(t, p, "cluster.c")
	if len(c.Attrs) != 1 || !c.Attrs[0].Sensitive {
		t.Fatalf("attrs = %+v, want labels marked sensitive", c.Attrs)
	}
	if len(c.Sensitive) != 0 {
		t.Errorf("Change.Sensitive = %v: the new value is not sensitive and state should stop marking it", c.Sensitive)
	}
	var text, js, md bytes.Buffer
	_ = planner.WriteText(&text, p, planner.TextOptions{})
	_ = planner.WriteJSON(&js, p)
	_ = planner.WriteMarkdown(&md, p)
	for name, out := range map[string]string{"text": text.String(), "json": js.String(), "markdown": md.String()} {
		if strings.Contains(out, caseSecret) {
			t.Errorf("%s output contains the formerly sensitive value:\n%s", name, out)
		}
	}
}
