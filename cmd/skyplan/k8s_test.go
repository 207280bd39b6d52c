package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/skyplan/skyplan/internal/k8sfake"
	k8s "github.com/skyplan/skyplan/providers/kubernetes"
	corev1 "k8s.io/api/core/v1"
)

var smiFixtures = filepath.Join("..", "..", "providers", "kubernetes", "testdata", "nvidia-smi")

type k8sEnv struct {
	srv *k8sfake.Server
	env []string
}

func startK8s(t *testing.T, nodes ...*corev1.Node) *k8sEnv {
	t.Helper()
	srv, err := k8sfake.Start(nodes...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := srv.WriteKubeconfig(kc, "fake"); err != nil {
		t.Fatal(err)
	}
	return &k8sEnv{srv: srv, env: []string{"KUBECONFIG=" + kc, "HOME=" + t.TempDir(), "PATH=" + t.TempDir(), "NO_COLOR=1"}}
}

func runWith(env []string, stdin io.Reader, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Run(args, stdin, &stdout, &stderr, env)
	return code, stdout.String(), stderr.String()
}

func TestK8sDetectGPUFromFixtures(t *testing.T) {
	env := []string{"PATH=" + t.TempDir()}
	for file, want := range map[string]string{"nvidia-smi-query-h100.csv": "H100\n", "nvidia-smi-query-h200.csv": "H200\n"} {
		code, out, errOut := runWith(env, nil, "k8s", "detect-gpu", "--file", filepath.Join(smiFixtures, file))
		if code != 0 || out != want {
			t.Errorf("%s: exit %d, stdout %q (want %q), stderr %q", file, code, out, want, errOut)
		}
	}
	code, out, _ := runWith(env, nil, "k8s", "detect-gpu", "-f", filepath.Join(smiFixtures, "nvidia-smi-query-h100.csv"), "--format", "label")
	if code != 0 || out != "h100\n" {
		t.Errorf("--format label: exit %d, %q", code, out)
	}
	b, err := os.ReadFile(filepath.Join(smiFixtures, "nvidia-smi-query-h200.csv"))
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ = runWith(env, bytes.NewReader(b), "k8s", "detect-gpu", "--file", "-", "-format=json")
	var got k8s.GPUDetection
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("json from stdin: exit %d, %q", code, out)
	}
	if got != (k8s.GPUDetection{Accelerator: "H200", LabelValue: "h200", Count: 1, MemoryMiB: 143771, GPUName: "NVIDIA H200"}) {
		t.Errorf("json = %+v", got)
	}
}

// fakeNvidiaSMI installs an nvidia-smi that checks its arguments and prints out.
func fakeNvidiaSMI(t *testing.T, out string, exit int) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "out.txt"), []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	// Shell builtins only: PATH holds nothing but this directory.
	script := "#!/bin/sh\n" +
		`[ "$1" = "--query-gpu=name,memory.total" ] && [ "$2" = "--format=csv,noheader" ] || { echo "bad args: $*" >&2; exit 3; }` + "\n" +
		`while IFS= read -r line; do echo "$line"; done < "` + filepath.Join(dir, "out.txt") + `"` + "\n" +
		fmt.Sprintf("exit %d\n", exit)
	if err := os.WriteFile(filepath.Join(dir, "nvidia-smi"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestK8sDetectGPURunsNvidiaSMI(t *testing.T) {
	line := "NVIDIA H100 80GB HBM3, 81559 MiB\n" // the real fixture's GPU line
	dir := fakeNvidiaSMI(t, strings.Repeat(line, 8), 0)
	code, out, errOut := runWith([]string{"PATH=" + dir}, nil, "k8s", "detect-gpu", "--format", "json")
	if code != 0 || !strings.Contains(out, `"count": 8`) || !strings.Contains(out, `"accelerator": "H100"`) {
		t.Errorf("exit %d, stdout %s, stderr %s", code, out, errOut)
	}

	dir = fakeNvidiaSMI(t, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", 9)
	code, _, errOut = runWith([]string{"PATH=" + dir}, nil, "k8s", "detect-gpu")
	if code != 1 || !strings.Contains(errOut, "couldn't communicate with the NVIDIA driver") {
		t.Errorf("failing nvidia-smi: exit %d, stderr %q", code, errOut)
	}

	dir = fakeNvidiaSMI(t, line+"NVIDIA H200, 143771 MiB\n", 0)
	code, _, errOut = runWith([]string{"PATH=" + dir}, nil, "k8s", "detect-gpu")
	if code != 1 || !strings.Contains(errOut, "mixed GPU models on this node (H100 ×1, H200 ×1)") {
		t.Errorf("mixed GPUs: exit %d, stderr %q", code, errOut)
	}
}

func TestK8sDetectGPUErrors(t *testing.T) {
	env := []string{"PATH=" + t.TempDir()}
	code, _, errOut := runWith(env, nil, "k8s", "detect-gpu")
	if code != 1 || !strings.Contains(errOut, "nvidia-smi not found in PATH") || !strings.Contains(errOut, "--query-gpu=name,memory.total --format=csv,noheader") {
		t.Errorf("missing nvidia-smi: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runWith(env, nil, "k8s", "detect-gpu", "--file", filepath.Join(smiFixtures, "nvidia-smi-L-h100.txt"))
	if code != 1 || !strings.Contains(errOut, "is not nvidia-smi query output") {
		t.Errorf("-L output: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runWith(env, nil, "k8s", "detect-gpu", "--file", "/nonexistent/smi.csv")
	if code != 1 || !strings.Contains(errOut, "reading nvidia-smi output") {
		t.Errorf("missing file: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runWith(env, nil, "k8s", "detect-gpu", "--format", "yaml")
	if code != 1 || !strings.Contains(errOut, "--format") {
		t.Errorf("bad format: exit %d, stderr %q", code, errOut)
	}
}

func TestK8sLabelGPUs(t *testing.T) {
	nodes := k8sfake.SimulatedCluster(12)
	nodes[3].Labels[k8s.DefaultLabelKey] = "H100" // eks-p5-0003, set by a person
	nodes[4].Labels["team"] = "research"
	e := startK8s(t, nodes...)

	code, out, errOut := runWith(e.env, strings.NewReader(""), "k8s", "label-gpus", "--context", "fake", "--dry-run")
	if code != 0 {
		t.Fatalf("dry-run: exit %d, stderr %s", code, errOut)
	}
	for _, re := range []string{
		`(?m)^Cluster https://127\.0\.0\.1:\d+ \(fake\): 12 node\(s\), 11 with GPUs\.$`,
		`(?m)^  \+  eks-p4d-0002 +a100 +from instance type p4d\.24xlarge$`,
		`(?m)^  \+  gke-t4-0005 +t4 +from label cloud\.google\.com/gke-accelerator=nvidia-tesla-t4$`,
		`(?m)^  \+  gfd-a100-80gb-0007 +a100-80gb +from label nvidia\.com/gpu\.product=NVIDIA-A100-SXM4-80GB$`,
		`(?m)^  !  eks-p5-0003 +H100 \(kept\) +conflict: set by someone else; detected h100`,
		`(?m)^  \?  mystery-0001 +8 GPU\(s\), custom\.gpu-box$`,
		`(?m)^9 to add, 0 to change; 0 already labelled, 1 conflict\(s\), 1 undetermined\.$`,
		`(?m)^Dry run: no node was changed\.$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("dry-run output lacks %s:\n%s", re, out)
		}
	}
	if strings.Contains(out, "cpu-0000") {
		t.Errorf("CPU node listed:\n%s", out)
	}
	if calls := e.srv.Calls(); calls["patch nodes"] != 0 {
		t.Fatalf("dry-run patched %d nodes", calls["patch nodes"])
	}

	code, _, errOut = runWith(e.env, strings.NewReader("yes\n"), "k8s", "label-gpus")
	if code != 1 || !strings.Contains(errOut, "refusing to change 9 node(s) without confirmation: stdin is not a terminal; re-run with --yes") {
		t.Fatalf("no --yes, no TTY: exit %d, stderr %q", code, errOut)
	}
	if e.srv.Calls()["patch nodes"] != 0 {
		t.Fatal("refused run patched nodes")
	}

	code, out, errOut = runWith(e.env, nil, "k8s", "label-gpus", "--yes", "--parallelism", "4")
	if code != 0 || !strings.Contains(out, "Labelled 9 node(s) in ") {
		t.Fatalf("--yes: exit %d, stdout %s, stderr %s", code, out, errOut)
	}
	for _, n := range e.srv.Nodes() {
		v := n.Labels[k8s.DefaultLabelKey]
		switch {
		case n.Name == "eks-p5-0003":
			if v != "H100" {
				t.Errorf("person's label overwritten: %q", v)
			}
		case n.Name == "cpu-0000" || n.Name == "mystery-0001":
			if v != "" {
				t.Errorf("%s labelled %q", n.Name, v)
			}
		case v == "":
			t.Errorf("%s not labelled", n.Name)
		}
	}

	code, out, _ = runWith(e.env, nil, "k8s", "label-gpus", "--yes")
	if code != 0 || !strings.Contains(out, "Nothing to do.") || !strings.Contains(out, "0 to add, 0 to change; 9 already labelled") {
		t.Errorf("rerun: exit %d, %s", code, out)
	}

	// An override labels the undetermined node; --overwrite the conflict.
	code, out, errOut = runWith(e.env, nil, "k8s", "label-gpus", "--yes", "--overwrite", "--override", "custom.gpu-box=l40s")
	if code != 0 || !strings.Contains(out, "Labelled 2 node(s)") {
		t.Fatalf("override+overwrite: exit %d, %s %s", code, out, errOut)
	}
	if v := e.srv.Node("mystery-0001").Labels[k8s.DefaultLabelKey]; v != "l40s" {
		t.Errorf("override: mystery-0001 = %q", v)
	}

	// --remove takes away only what label-gpus set, restoring the replaced value.
	code, out, errOut = runWith(e.env, nil, "k8s", "label-gpus", "--remove", "--yes")
	if code != 0 || !strings.Contains(out, "11 to remove.") || !regexp.MustCompile(`(?m)^  -  eks-p5-0003 +h100 +restored to H100$`).MatchString(out) {
		t.Fatalf("--remove: exit %d, %s %s", code, out, errOut)
	}
	for _, n := range e.srv.Nodes() {
		v, has := n.Labels[k8s.DefaultLabelKey]
		if n.Name == "eks-p5-0003" && v != "H100" {
			t.Errorf("replaced label not restored: %q", v)
		} else if n.Name != "eks-p5-0003" && has {
			t.Errorf("%s keeps %s", n.Name, v)
		}
		if _, has := n.Annotations[k8s.OwnershipAnnotation]; has {
			t.Errorf("%s keeps the ownership annotation", n.Name)
		}
	}
	if v := e.srv.Node("eks-g5-0004").Labels["team"]; v != "research" {
		t.Errorf("unrelated label changed: %q", v)
	}
}

func TestK8sLabelGPUsSelectorAndKey(t *testing.T) {
	e := startK8s(t, k8sfake.SimulatedCluster(12)...)
	code, out, errOut := runWith(e.env, nil, "k8s", "label-gpus", "--yes", "-l", "eks.amazonaws.com/nodegroup=p5", "--label-key", "example.com/gpu")
	if code != 0 || !strings.Contains(out, "Labelled 2 node(s)") {
		t.Fatalf("exit %d, %s %s", code, out, errOut)
	}
	for _, n := range e.srv.Nodes() {
		want := ""
		if strings.HasPrefix(n.Name, "eks-p5-") {
			want = "h100"
		}
		if got := n.Labels["example.com/gpu"]; got != want {
			t.Errorf("%s: example.com/gpu=%q, want %q", n.Name, got, want)
		}
	}
}

func TestK8sLabelGPUsErrors(t *testing.T) {
	e := startK8s(t, k8sfake.SimulatedCluster(4)...)
	tests := []struct {
		env  []string
		args []string
		want string
	}{
		{e.env, []string{"--label-key", "bad key"}, `--label-key "bad key" is not a valid Kubernetes label key`},
		{e.env, []string{"--selector", "a b c"}, `--selector "a b c"`},
		{e.env, []string{"--override", "x=not valid!"}, `--override["x"] = "not valid!" is not a valid label value`},
		{e.env, []string{"--context", "prod"}, `context "prod" does not exist`},
		{e.env, []string{"--parallelism", "0"}, "--parallelism must be at least 1"},
		{[]string{"KUBECONFIG=" + filepath.Join(t.TempDir(), "none"), "HOME=" + t.TempDir()}, nil, "kubeconfig"},
	}
	for _, tt := range tests {
		code, _, errOut := runWith(tt.env, nil, append([]string{"k8s", "label-gpus", "--dry-run"}, tt.args...)...)
		if code != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tt.args, code, errOut, tt.want)
		}
	}
	e.srv.SetAccess("patch", "nodes", false)
	code, out, errOut := runWith(e.env, nil, "k8s", "label-gpus", "--yes")
	if code != 1 || !strings.Contains(errOut, "node(s) not changed") || !strings.Contains(errOut, "forbidden") || !strings.Contains(out, "Labelled 0 node(s)") {
		t.Errorf("patch denied: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestGPULabelPolicyPlanApplyDestroy runs the declarative path end to end:
// plan shows the per-node labels and the conflict, apply sets them, a second
// plan has no changes, destroy removes only skyplan's labels.
func TestGPULabelPolicyPlanApplyDestroy(t *testing.T) {
	nodes := k8sfake.SimulatedCluster(12)
	nodes[3].Labels[k8s.DefaultLabelKey] = "H100" // eks-p5-0003, set by a person
	e := startK8s(t, nodes...)
	t.Setenv("KUBECONFIG", strings.TrimPrefix(e.env[0], "KUBECONFIG=")) // the provider reads the process's
	dir := t.TempDir()
	spec := `
cloud "kubernetes" {
  context = "fake"
}
gpu_label_policy "eks" {
  cloud     = "kubernetes"
  overrides = { "custom.gpu-box" = "l40s" }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(wantCode int, args ...string) string {
		t.Helper()
		code, out, errOut := runWith(e.env, nil, append([]string{"-C", dir}, args...)...)
		if code != wantCode {
			t.Fatalf("%v: exit %d, want %d\n%s\n%s", args, code, wantCode, out, errOut)
		}
		return out
	}
	out := run(2, "plan", "--detailed-exitcode")
	for _, want := range []string{`"eks-p4d-0002" = "a100"`, `"mystery-0001" = "l40s"`, "conflict: node eks-p5-0003 has skypilot.co/accelerator=H100 (not set by skyplan)"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	run(0, "apply", "--auto-approve")
	if v := e.srv.Node("mystery-0001").Labels[k8s.DefaultLabelKey]; v != "l40s" {
		t.Errorf("override not applied: %q", v)
	}
	run(0, "plan", "--detailed-exitcode")

	// A person changes one of skyplan's labels: the plan shows that node only.
	if err := e.srv.SetNodeLabel("eks-g5-0004", k8s.DefaultLabelKey, "l4"); err != nil {
		t.Fatal(err)
	}
	out = run(2, "plan", "--detailed-exitcode")
	if !strings.Contains(out, "eks-g5-0004") || strings.Contains(out, "eks-p4d-0002") {
		t.Errorf("drift plan should name only eks-g5-0004:\n%s", out)
	}
	run(0, "apply", "--auto-approve")
	run(0, "plan", "--detailed-exitcode")

	run(0, "destroy", "--auto-approve")
	for _, n := range e.srv.Nodes() {
		v, has := n.Labels[k8s.DefaultLabelKey]
		if (n.Name == "eks-p5-0003") != has || (has && v != "H100") {
			t.Errorf("after destroy %s has %s=%q", n.Name, k8s.DefaultLabelKey, v)
		}
	}
}
