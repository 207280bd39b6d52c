// Package crashtest tries to break skyplan's crash and fault safety from
// outside: it runs the real binary against moto_server and the in-repo GCP
// fakes, each behind a cloudproxy, kills apply with SIGKILL at seeded points
// or injects cloud faults, runs apply again, and counts what exists with
// its own clients (straight to the emulators): duplicates, owned objects
// the state file does not record (orphans), and what destroy leaves.
package crashtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skyplan/skyplan/internal/cloudproxy"
	"github.com/skyplan/skyplan/internal/emulator"
	"github.com/skyplan/skyplan/internal/gcpfake"
)

// Harness runs skyplan against the emulators through proxies. It runs one
// skyplan process at a time.
type Harness struct {
	Bin  string
	Work string
	Moto *emulator.Moto
	GCE  *gcpfake.Server
	GCS  *gcpfake.GCS
	// Proxies sit in front of moto (AWS), the GCE/TPU fake and the GCS fake.
	AWS, Google, Storage *cloudproxy.Proxy

	aws *awsCounter

	// mutating counts the current run's mutating calls over every proxy;
	// onMutating, when set, sees each after the upstream processed it.
	mutating   atomic.Int64
	mu         sync.Mutex
	onMutating func(n int64, c cloudproxy.Call)
}

// Build builds cmd/skyplan of the module at root into dir.
func Build(root, dir string) (string, error) {
	bin := filepath.Join(dir, "skyplan")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/skyplan")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building skyplan: %w\n%s", err, out)
	}
	return bin, nil
}

// Start starts the GCP fakes and a proxy in front of each emulator, for
// the binary bin; moto's default VPC in AWSRegion must be connected. work
// is a scratch directory.
func Start(bin string, moto *emulator.Moto, work string) (*Harness, error) {
	h := &Harness{Bin: bin, Work: work, Moto: moto, aws: newAWSCounter(moto.Endpoint)}
	var err error
	if h.GCE, err = gcpfake.Start(); err != nil {
		return nil, err
	}
	if h.GCS, err = gcpfake.StartGCS(); err != nil {
		h.Close()
		return nil, err
	}
	for _, p := range []struct {
		to     **cloudproxy.Proxy
		target string
	}{{&h.AWS, moto.Endpoint}, {&h.Google, h.GCE.URL}, {&h.Storage, h.GCS.URL}} {
		if *p.to, err = cloudproxy.Start(p.target); err != nil {
			h.Close()
			return nil, err
		}
		(*p.to).OnCall(h.sawCall)
	}
	return h, nil
}

// Close stops the proxies and the GCP fakes (not moto).
func (h *Harness) Close() {
	for _, p := range h.Proxies() {
		p.Close()
	}
	if h.GCS != nil {
		h.GCS.Close()
	}
	if h.GCE != nil {
		h.GCE.Close()
	}
}

// Proxies are the proxies started so far.
func (h *Harness) Proxies() []*cloudproxy.Proxy {
	var out []*cloudproxy.Proxy
	for _, p := range []*cloudproxy.Proxy{h.AWS, h.Google, h.Storage} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

func (h *Harness) sawCall(c cloudproxy.Call) {
	if c.MutatingSeq == 0 || c.Injected != "" && c.Injected != "dropped" {
		return // only calls the upstream acted on
	}
	n := h.mutating.Add(1)
	h.mu.Lock()
	fn := h.onMutating
	h.mu.Unlock()
	if fn != nil {
		fn(n, c)
	}
}

// SetLatency delays every request through every proxy.
func (h *Harness) SetLatency(d time.Duration) {
	for _, p := range h.Proxies() {
		p.SetLatency(d)
	}
}

// ClearFaults removes every proxy's faults.
func (h *Harness) ClearFaults() {
	for _, p := range h.Proxies() {
		p.ClearFaults()
	}
}

// env is skyplan's whole environment: the proxies as endpoints, moto's
// credentials, no Google credentials, a scratch HOME, nothing of the caller's.
func (h *Harness) env() []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Join(h.Work, "home"), "NO_COLOR=1",
		"GOOGLE_APPLICATION_CREDENTIALS=", "CLOUDSDK_CONFIG=" + filepath.Join(h.Work, "gcloud"),
		"SKYPLAN_GCP_COMPUTE_ENDPOINT=" + h.Google.URL + "/compute/v1/",
		"SKYPLAN_GCP_TPU_ENDPOINT=" + h.Google.URL + "/",
		"STORAGE_EMULATOR_HOST=" + strings.TrimPrefix(h.Storage.URL, "http://")}
	for k, v := range h.Moto.Env() {
		if k == "AWS_ENDPOINT_URL" {
			v = h.AWS.URL
		}
		env = append(env, k+"="+v)
	}
	return env
}

// Result is one skyplan process.
type Result struct {
	Args   []string
	Code   int
	Killed bool
	// Mutating counts the mutating calls the clouds acted on.
	Mutating int64
	Wall     time.Duration
	Stdout   string
	Stderr   string
}

// String names the run and shows the end of its output.
func (r Result) String() string {
	return fmt.Sprintf("skyplan %s: exit %d (killed %v, %d mutating calls, %s)\nstdout (end):\n%s\nstderr:\n%s",
		strings.Join(r.Args, " "), r.Code, r.Killed, r.Mutating, r.Wall.Round(time.Millisecond), tail(r.Stdout, 3000), tail(r.Stderr, 3000))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// Kill says when a run is killed with SIGKILL: right after the cloud acted
// on mutating call AfterMutating (counted over every proxy) or on the
// first call of operation AfterOp ("s3:CreateBucket"), before skyplan
// hears the answer; or after Delay. The zero Kill never kills.
type Kill struct {
	AfterMutating int64
	AfterOp       string
	Delay         time.Duration
}

func (k Kill) String() string {
	switch {
	case k.AfterMutating > 0:
		return fmt.Sprintf("after mutating call #%d", k.AfterMutating)
	case k.AfterOp != "":
		return "after " + k.AfterOp
	case k.Delay > 0:
		return fmt.Sprintf("after %s", k.Delay.Round(time.Millisecond))
	}
	return "never"
}

func (k Kill) hits(n int64, c cloudproxy.Call) bool {
	return (k.AfterMutating > 0 && n == k.AfterMutating) || (k.AfterOp != "" && c.Op.String() == k.AfterOp)
}

// Run runs skyplan with args in spec's directory, killing it as kill says.
// limit bounds the run (it tells "ended" from "hung").
func (h *Harness) Run(ctx context.Context, s *Spec, kill Kill, limit time.Duration, args ...string) (Result, error) {
	cmd := exec.Command(h.Bin, args...)
	cmd.Dir = s.Dir
	cmd.Env = h.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	h.mutating.Store(0)
	var killed atomic.Bool
	exited := make(chan struct{})
	killNow := func() {
		if killed.CompareAndSwap(false, true) {
			cmd.Process.Kill()
			// A hook holds the answer until the process is gone, so skyplan
			// never learns what the cloud did.
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
			}
		}
	}
	if kill.AfterMutating > 0 || kill.AfterOp != "" {
		h.setOnMutating(func(n int64, c cloudproxy.Call) {
			if kill.hits(n, c) {
				killNow()
			}
		})
		defer h.setOnMutating(nil)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, err
	}
	go func() {
		cmd.Wait()
		close(exited)
	}()
	var timer <-chan time.Time
	if kill.Delay > 0 {
		timer = time.After(kill.Delay)
	}
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	select {
	case <-exited:
	case <-timer:
		killNow()
		<-exited
	case <-ctx.Done():
		cmd.Process.Kill()
		<-exited
		return Result{}, ctx.Err()
	case <-deadline.C:
		cmd.Process.Kill()
		<-exited
		return Result{}, fmt.Errorf("skyplan %s still ran after %s:\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), limit, tail(stdout.String(), 3000), tail(stderr.String(), 3000))
	}
	return Result{Args: args, Code: cmd.ProcessState.ExitCode(), Killed: killed.Load(), Mutating: h.mutating.Load(),
		Wall: time.Since(start), Stdout: stdout.String(), Stderr: stderr.String()}, nil
}

func (h *Harness) setOnMutating(fn func(int64, cloudproxy.Call)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.onMutating = fn
}
