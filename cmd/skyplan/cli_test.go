package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skyplan/skyplan/state"
)

func runCLI(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(append([]string{"-C", dir}, args...), strings.NewReader(""), &stdout, &stderr, os.Environ())
	return code, stdout.String(), stderr.String()
}

const lockSpec = `
skyplan {
  workspace = "locktest"
}
cloud "aws" {
  regions = ["us-east-1"]
}
cluster "c" {
  cloud         = "aws"
  instance_type = "t3.micro"
}
`

func TestLockedStateNamesHolderAndForceUnlock(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(lockSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	b := state.NewLocal(filepath.Join(dir, ".skyplan", "state.json"))
	unlock, err := b.Lock(context.Background(), state.LockInfo{ID: "lock-123", Operation: "apply", Who: "ci@runner-7 (pid 42)", Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"plan"}, {"apply", "--auto-approve"}, {"destroy", "--auto-approve"}} {
		code, _, stderr := runCLI(t, dir, cmd...)
		if code != ExitError {
			t.Fatalf("%v while locked: exit %d, want 1", cmd, code)
		}
		for _, want := range []string{"state is locked", "apply by ci@runner-7 (pid 42)", "lock ID lock-123", "skyplan force-unlock lock-123"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%v: stderr %q does not contain %q", cmd, stderr, want)
			}
		}
	}
	// force-unlock refuses while the holder is alive, and a wrong ID always.
	if code, _, stderr := runCLI(t, dir, "force-unlock", "wrong-id"); code != ExitError || !strings.Contains(stderr, "does not match") {
		t.Fatalf("force-unlock wrong id: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, dir, "force-unlock", "lock-123"); code != ExitError || !strings.Contains(stderr, "still running") {
		t.Fatalf("force-unlock of a live lock: exit %d, %q", code, stderr)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, dir, "force-unlock", "lock-123"); code != ExitError || !strings.Contains(stderr, "is not locked") {
		t.Fatalf("force-unlock with no lock: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, ".skyplan", "state.json")); !os.IsNotExist(err) {
		t.Fatalf("a refused run wrote state: %v", err)
	}
}

func TestNormalizeArgs(t *testing.T) {
	got := normalizeArgs([]string{"plan", "-var", "a=1", "-var-file=x.json", "-out", "p.bin", "-C", "dir", "-detailed-exitcode", "--format", "json"})
	want := []string{"plan", "--var", "a=1", "--var-file=x.json", "--out", "p.bin", "-C", "dir", "--detailed-exitcode", "--format", "json"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("normalizeArgs = %v, want %v", got, want)
	}
}

func TestNormalizeArgsTerraformSpellings(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plan -destroy -target=cluster.a -target cluster.b", "plan --destroy --target=cluster.a --target cluster.b"},
		{"plan -json", "plan --format=json"},
		{"show -json p.bin", "show --format=json p.bin"},
		{"-chdir=infra apply -auto-approve -parallelism=3", "--chdir=infra apply --auto-approve --parallelism=3"},
		{"fmt -check", "fmt --check"},
		{"plan -help", "plan --help"},
		// Short flags and skyplan's own are left alone, and so is all after "--".
		{"plan -C dir --skip-lint -- -target", "plan -C dir --skip-lint -- -target"},
		{"lint -offline", "lint -offline"},
	} {
		if got := strings.Join(normalizeArgs(strings.Fields(c.in)), " "); got != c.want {
			t.Errorf("normalizeArgs(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
