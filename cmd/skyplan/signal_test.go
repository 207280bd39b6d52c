package main

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skyplan/skyplan/internal/emulator"
	"github.com/skyplan/skyplan/internal/gcpfake"
)

const hangSpec = `
skyplan {
  workspace = "hang"
}
cloud "aws" {
  regions = ["us-east-1"]
}
bucket "b" {
  cloud = "aws"
  name  = "skyplan-hang-test"
}
`

// skyplanAgainst prepares `skyplan ARGS` (the test binary, which
// testscript.Main puts on PATH under that name) in a spec directory, with
// AWS pointed at endpoint.
func skyplanAgainst(t *testing.T, endpoint string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(hangSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("skyplan", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+endpoint, "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing",
		"AWS_PROFILE=", "AWS_ENDPOINT_URL_S3=", "AWS_ENDPOINT_URL_EC2=", "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

// waitExit waits for cmd, killing it (and failing) if it outlives limit:
// the bound tells "ended" from "hung", it measures no speed.
func waitExit(t *testing.T, cmd *exec.Cmd, limit time.Duration, stderr *bytes.Buffer) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("skyplan %v still ran after %s; stderr:\n%s", cmd.Args[1:], limit, stderr)
		return -1
	}
}

// plan and check against an endpoint that accepts and never answers fail
// after one call timeout, naming the endpoint, without retrying the calls.
func TestHangingEndpointFailsPlanAndCheck(t *testing.T) {
	for _, args := range [][]string{{"plan"}, {"check"}} {
		t.Run(args[0], func(t *testing.T) {
			u := emulator.UnresponsiveForTest(t)
			cmd, stdout, stderr := skyplanAgainst(t, u.URL, append(args, "--call-timeout", "1s")...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if code := waitExit(t, cmd, time.Minute, stderr); code != ExitError {
				t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
			}
			want := "endpoint " + u.URL + " did not answer within 1s"
			if !strings.Contains(stdout.String()+stderr.String(), want) {
				t.Errorf("output does not say %q:\n%s%s", want, stdout, stderr)
			}
			if n := len(u.Accepted); n > 2 {
				t.Errorf("%d connections to the hanging endpoint; want one per capability check, no retries", n)
			}
		})
	}
}

// The first SIGINT or SIGTERM ends a plan stuck on a cloud call at once
// (the call timeout here is 10 minutes), with exit 1.
func TestSignalEndsPlanAtOnce(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			u := emulator.UnresponsiveForTest(t)
			cmd, _, stderr := skyplanAgainst(t, u.URL, "plan", "--call-timeout", "10m")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-u.Accepted: // plan is in a cloud call now
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				t.Fatalf("plan never called the endpoint; stderr:\n%s", stderr)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := waitExit(t, cmd, 30*time.Second, stderr); code != ExitError {
				t.Fatalf("exit %d after %s, want 1; stderr:\n%s", code, sig, stderr)
			}
			if !strings.Contains(stderr.String(), "Interrupt received") || !strings.HasSuffix(stderr.String(), "Error: interrupted\n") {
				t.Errorf("stderr after %s:\n%s", sig, stderr)
			}
		})
	}
}

// A panic anywhere in a command ends with exit 1 and one line, never with
// Go's exit code 2 and a goroutine dump.
func TestPanicIsAnInternalError(t *testing.T) {
	err := runSafely(func() error { panic("assignment to entry in nil map") })
	var ie *internalError
	if !errors.As(err, &ie) || !strings.HasPrefix(err.Error(), "internal error: assignment to entry in nil map; please report it") {
		t.Fatalf("runSafely = %v", err)
	}
	if err := runSafely(func() error { return nil }); err != nil {
		t.Fatalf("runSafely without a panic = %v", err)
	}
}

// SIGTERM (what CI sends on cancel) during an apply that waits on a GCE
// operation ends the wait at once: the action says it stopped waiting,
// state is saved, and apply exits 1. The fake never finishes the
// operation, so only the signal can end the wait.
func TestSignalStopsApplyWaiting(t *testing.T) {
	fake, err := gcpfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	fake.OperationPolls = 1 << 30
	waiting := make(chan struct{})
	var once sync.Once
	fake.OnRequest("POST", "/compute/v1/projects/*/zones/*/operations/*/wait", func(*http.Request) *gcpfake.Fault {
		once.Do(func() { close(waiting) })
		return nil
	})
	dir := t.TempDir()
	spec := `
skyplan {
  workspace = "sigterm"
}
cloud "gcp" {
  project = "skyplan-demo"
}
cluster "slow" {
  cloud         = "gcp"
  zone          = "us-central1-a"
  instance_type = "n2-standard-4"
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("skyplan", "-C", dir, "apply", "--auto-approve", "--skip-lint")
	cmd.Env = append(os.Environ(), "GOOGLE_APPLICATION_CREDENTIALS=", "CLOUDSDK_CONFIG="+t.TempDir(), "NO_COLOR=1")
	for k, v := range fake.Env() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waiting:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("apply never waited on the operation; stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd, 30*time.Second, &stderr); code != ExitError {
		t.Fatalf("exit %d, want 1; stdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	out := stdout.String() + stderr.String()
	for _, want := range []string{"Interrupt received", "stopped waiting after", "Apply stopped. State saved to local file"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".skyplan", "state.json")); err != nil {
		t.Errorf("no state saved: %v", err)
	}
}
