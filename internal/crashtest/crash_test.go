package crashtest

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skyplan/skyplan/internal/cloudproxy"
	"github.com/skyplan/skyplan/internal/testenv"
)

// long runs the full seed counts (also under CI=true).
var long = flag.Bool("long", false, "run every seed of the crash and fault harness (CI=true does too)")

// seeds is how many seeded runs a harness test makes: all under -long or
// CI=true, one in -short mode, a few otherwise.
func seeds(full, normal int) int {
	switch {
	case *long || testenv.InCI():
		return full
	case testing.Short():
		return 1
	}
	return normal
}

// runLimit bounds one skyplan run: it tells a hang from a slow run.
const runLimit = 3 * time.Minute

// mustRun runs skyplan and fails the test on a harness error or an exit
// code not in codes.
func mustRun(t *testing.T, h *Harness, s *Spec, kill Kill, codes []int, args ...string) Result {
	t.Helper()
	r, err := h.Run(context.Background(), s, kill, runLimit, args...)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range codes {
		if r.Code == c {
			return r
		}
	}
	t.Fatalf("want exit %v; %s", codes, r)
	return r
}

// mustCount counts a spec's objects.
func mustCount(t *testing.T, h *Harness, s *Spec) Count {
	t.Helper()
	c, err := h.Count(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// converged checks what must hold once an apply succeeded: every declared
// node and bucket exists once, recorded and owned, nothing pending, and
// plan finds nothing to do.
func converged(t *testing.T, h *Harness, s *Spec) Count {
	t.Helper()
	c := mustCount(t, h, s)
	if !c.Clean() || c.Nodes != s.Nodes() || c.Buckets != len(s.Buckets) {
		t.Errorf("after apply: %s; want %d node(s), %d bucket(s), nothing duplicated, orphaned, pending or unowned", c, s.Nodes(), len(s.Buckets))
	}
	if r := mustRun(t, h, s, Kill{}, []int{0, 1, 2}, "plan", "--detailed-exitcode"); r.Code != 0 {
		t.Errorf("plan after apply: want exit 0 (no changes); %s", r)
	}
	return c
}

// destroyed destroys the spec and checks that nothing of it is left.
func destroyed(t *testing.T, h *Harness, s *Spec) {
	t.Helper()
	mustRun(t, h, s, Kill{}, []int{0}, "destroy", "--auto-approve")
	if c := mustCount(t, h, s); !c.Empty() {
		t.Errorf("after destroy: %s; want nothing left", c)
	}
}

// clean is what a run without faults or kills did.
type clean struct {
	mutating int64
	wall     time.Duration
}

// reference applies a spec once without faults, then destroys it, and
// reports both runs.
func reference(t *testing.T, h *Harness, on Cloud) (apply, destroy clean) {
	t.Helper()
	s := newSpec(t, h, on, "ref")
	a := mustRun(t, h, s, Kill{}, []int{0}, "apply", "--auto-approve")
	converged(t, h, s)
	d := mustRun(t, h, s, Kill{}, []int{0}, "destroy", "--auto-approve")
	if c := mustCount(t, h, s); !c.Empty() {
		t.Fatalf("after destroy: %s; want nothing left", c)
	}
	return clean{a.Mutating, a.Wall}, clean{d.Mutating, d.Wall}
}

// newSpec writes a spec in a workspace of its own.
func newSpec(t *testing.T, h *Harness, on Cloud, parts ...any) *Spec {
	t.Helper()
	s, err := h.NewSpec(name(parts...), on)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// killPoint draws a kill from seed: right after mutating call k of the
// clean run's, or after a delay within its wall time (which includes
// starting, planning and saving state).
func killPoint(seed uint64, run clean) Kill {
	rng := rand.New(rand.NewPCG(seed, 0xc7a5))
	if rng.IntN(2) == 0 {
		return Kill{AfterMutating: 1 + rng.Int64N(run.mutating)}
	}
	return Kill{Delay: 20*time.Millisecond + time.Duration(rng.Int64N(int64(run.wall)*9/10))}
}

// SIGKILL at seeded points of an apply of seven resources on AWS and GCP
// (through 20 ms of proxy latency, so kills land inside calls), then apply
// again: nothing duplicated, nothing orphaned, plan clean, destroy leaves
// nothing.
func TestKilledApplyIsCompleted(t *testing.T) {
	h := start(t)
	h.SetLatency(20 * time.Millisecond)
	ref, _ := reference(t, h, OnAWS|OnGCP)
	t.Logf("clean apply: %d mutating calls in %s", ref.mutating, ref.wall.Round(time.Millisecond))
	killed := 0
	for seed := range uint64(seeds(20, 3)) {
		kill := killPoint(seed, ref)
		s := newSpec(t, h, OnAWS|OnGCP, "kill", seed)
		first := mustRun(t, h, s, kill, []int{0, 1, -1}, "apply", "--auto-approve")
		left := mustCount(t, h, s)
		second := mustRun(t, h, s, Kill{}, []int{0}, "apply", "--auto-approve")
		after := converged(t, h, s)
		if first.Killed {
			killed++
		}
		t.Logf("seed %2d: kill %s: killed %v after %d mutating call(s), leaving %s; next apply: %d mutating call(s), %q; then %s",
			seed, kill, first.Killed, first.Mutating, left, second.Mutating, summary(second), after)
		destroyed(t, h, s)
		if t.Failed() {
			t.Fatalf("seed %d failed; killed run:\n%s\nnext run:\n%s", seed, first, second)
		}
	}
	t.Logf("%d run(s) killed; each completed by one more apply with 0 duplicates and 0 orphans", killed)
}

// SIGKILL at seeded points of an in-place scale-up and then scale-down of
// every cluster (an update: no intent, state already records the resource),
// then apply again: the nodes the killed run made or removed are what
// state records, with no duplicate.
func TestKilledScaleIsCompleted(t *testing.T) {
	h := start(t)
	h.SetLatency(20 * time.Millisecond)
	for seed := range uint64(seeds(4, 2)) {
		s := newSpec(t, h, OnAWS|OnGCP, "kscale", seed)
		mustRun(t, h, s, Kill{}, []int{0}, "apply", "--auto-approve")
		rng := rand.New(rand.NewPCG(seed, 0x5ca1e))
		for _, step := range []struct {
			name  string
			nodes map[string]int
		}{
			{"up", map[string]int{"cluster.train": 3, "cluster.eval": 2, "cluster.gpu": 3, "cluster.tpu": 2}},
			{"down", map[string]int{"cluster.train": 1, "cluster.eval": 1, "cluster.gpu": 1, "cluster.tpu": 1}},
		} {
			maps.Copy(s.Clusters, step.nodes)
			if err := s.Write(); err != nil {
				t.Fatal(err)
			}
			kill := Kill{AfterMutating: 1 + rng.Int64N(int64(len(step.nodes)))}
			first := mustRun(t, h, s, kill, []int{0, 1, -1}, "apply", "--auto-approve")
			left := mustCount(t, h, s)
			mustRun(t, h, s, Kill{}, []int{0}, "apply", "--auto-approve")
			after := converged(t, h, s)
			t.Logf("seed %d: scale %s killed %s (killed %v), leaving %s; the next apply: %s", seed, step.name, kill, first.Killed, left, after)
			if t.Failed() {
				t.Fatalf("seed %d, scale %s; killed run:\n%s", seed, step.name, first)
			}
		}
		destroyed(t, h, s)
	}
}

// SIGKILL at seeded points of a destroy, then destroy again: nothing left,
// and the state file empty.
func TestKilledDestroyIsCompleted(t *testing.T) {
	h := start(t)
	h.SetLatency(20 * time.Millisecond)
	killed := 0
	_, ref := reference(t, h, OnAWS|OnGCP)
	for seed := range uint64(seeds(10, 2)) {
		s := newSpec(t, h, OnAWS|OnGCP, "kdestroy", seed)
		mustRun(t, h, s, Kill{}, []int{0}, "apply", "--auto-approve")
		kill := killPoint(seed, ref)
		first := mustRun(t, h, s, kill, []int{0, 1, -1}, "destroy", "--auto-approve")
		left := mustCount(t, h, s)
		destroyed(t, h, s)
		st, err := s.LoadState(context.Background())
		if err != nil || len(st.Resources) != 0 {
			t.Errorf("state after destroy: %v resources, %v", st.Resources, err)
		}
		t.Logf("seed %d: destroy killed %s (killed %v), leaving %s; the next destroy removed the rest", seed, kill, first.Killed, left)
		if first.Killed {
			killed++
		}
		if t.Failed() {
			t.Fatalf("seed %d; killed run:\n%s", seed, first)
		}
	}
	t.Logf("%d destroy run(s) killed; each completed by one more destroy", killed)
}

// An apply killed between creating a bucket and tagging it is completed by
// the next apply, which adopts and tags the bucket; and a destroy after
// such a kill deletes it. The bucket is made untagged as for credentials
// without s3:TagResource: the tagged create is refused, the untagged one
// goes through, and the kill follows it.
func TestInterruptedBucketCreateIsCompleted(t *testing.T) {
	h := start(t)
	noTagging := cloudproxy.APIError{Status: http.StatusForbidden, Code: "AccessDenied", Message: "not authorized to perform: s3:TagResource"}
	for _, next := range []string{"apply", "destroy"} {
		t.Run(next, func(t *testing.T) {
			s := newSpec(t, h, OnAWS, "bucketkill", next)
			h.AWS.ClearFaults()
			h.AWS.AddFault(cloudproxy.Fault{Ops: []string{"s3:CreateBucket"}, Error: &noTagging, Fraction: 1, Times: 1})
			defer h.AWS.ClearFaults()
			first := mustRun(t, h, s, Kill{AfterOp: "s3:CreateBucket"}, []int{-1}, "apply", "--auto-approve", "--parallelism", "1")
			left := mustCount(t, h, s)
			if left.Buckets != 1 || len(left.Unowned) != 1 {
				t.Fatalf("after the kill: %s; want one untagged bucket\n%s", left, first)
			}
			if next == "destroy" {
				destroyed(t, h, s)
				return
			}
			mustRun(t, h, s, Kill{}, []int{0}, "apply", "--auto-approve")
			converged(t, h, s)
			destroyed(t, h, s)
		})
	}
}

// injected counts the faults the proxies injected, by kind.
type injected struct {
	mu     sync.Mutex
	byKind map[string]int
}

func countInjected(h *Harness) *injected {
	in := &injected{byKind: map[string]int{}}
	for _, p := range h.Proxies() {
		p.OnCall(func(c cloudproxy.Call) {
			if c.Injected != "" && c.Injected != "replayed" {
				in.mu.Lock()
				in.byKind[c.Injected]++
				in.mu.Unlock()
			}
		})
	}
	return in
}

func (in *injected) total() (n int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, v := range in.byKind {
		n += v
	}
	return n
}

func (in *injected) String() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return fmt.Sprint(in.byKind)
}

// Errors the Google APIs answer when unwell.
var (
	googleBackendError = cloudproxy.APIError{Status: http.StatusInternalServerError, Code: "backendError", Message: "Internal error. Please try again."}
	googleUnavailable  = cloudproxy.APIError{Status: http.StatusServiceUnavailable, Code: "backendError", Message: "The service is currently unavailable."}
	googleRateLimited  = cloudproxy.APIError{Status: http.StatusTooManyRequests, Code: "rateLimitExceeded", Message: "Rate Limit Exceeded"}
)

// faulty makes about 10% of every proxy's requests fail with a 500, a 503
// or throttling (not forwarded), and loses the answer of 5% of the rest
// after the cloud acted on them.
func faulty(h *Harness, seed uint64) {
	errs := map[*cloudproxy.Proxy][]cloudproxy.APIError{
		h.AWS:     {cloudproxy.EC2InternalError, cloudproxy.EC2Unavailable, cloudproxy.EC2RequestLimitExceeded},
		h.Google:  {googleBackendError, googleUnavailable, googleRateLimited},
		h.Storage: {googleBackendError, googleUnavailable, googleRateLimited},
	}
	for i, p := range h.Proxies() {
		p.ClearFaults()
		p.SetSeed(seed*10 + uint64(i))
		for _, e := range errs[p] {
			p.AddFault(cloudproxy.Fault{Fraction: 0.1 / 3, Error: &e})
		}
		p.AddFault(cloudproxy.Fault{Fraction: 0.05, Drop: true})
	}
}

// until runs skyplan until it exits 0, at most tries times, and returns
// how many runs it took.
func until(t *testing.T, h *Harness, s *Spec, tries int, args ...string) int {
	t.Helper()
	for i := 1; i <= tries; i++ {
		r := mustRun(t, h, s, Kill{}, []int{0, 1}, args...)
		if r.Code == 0 {
			return i
		}
		t.Logf("run %d of skyplan %s failed:\n%s", i, strings.Join(args, " "), tail(r.Stdout+r.Stderr, 2000))
	}
	t.Fatalf("skyplan %s did not succeed in %d runs", strings.Join(args, " "), tries)
	return tries
}

// underFaults applies the spec under faulty(seed) until it succeeds, checks
// it converged (faults off), destroys it under faults until that succeeds,
// checks nothing is left, and returns the runs each took and the count
// after apply.
func underFaults(t *testing.T, h *Harness, s *Spec, seed uint64) (applies, destroys int, after Count) {
	t.Helper()
	faulty(h, seed)
	applies = until(t, h, s, 4, "apply", "--auto-approve")
	h.ClearFaults()
	after = converged(t, h, s)
	faulty(h, seed+100)
	destroys = until(t, h, s, 4, "destroy", "--auto-approve")
	h.ClearFaults()
	if left := mustCount(t, h, s); !left.Empty() {
		t.Errorf("after destroy: %s; want nothing left", left)
	}
	return applies, destroys, after
}

// With 10% of requests failing (5xx, throttling) and 5% of answers lost
// after the cloud acted, apply and destroy converge without a duplicate.
func TestFaultsConvergeWithoutDuplicates(t *testing.T) {
	h := start(t)
	h.SetLatency(5 * time.Millisecond)
	in := countInjected(h)
	reruns := 0
	n := seeds(5, 2)
	for seed := range uint64(n) {
		s := newSpec(t, h, OnAWS|OnGCP, "fault", seed)
		before := in.total()
		applies, destroys, c := underFaults(t, h, s, seed+1)
		reruns += applies - 1 + destroys - 1
		t.Logf("seed %d: %d fault(s) injected; apply took %d run(s), destroy %d; after apply: %s", seed, in.total()-before, applies, destroys, c)
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("%d seed(s): injected %s; %d re-run(s) needed", n, in, reruns)
}

// SIGKILL at seeded points of an apply while 10% of requests fail and 5%
// of answers are lost, then apply again under the same faults until it
// succeeds: nothing duplicated or orphaned, and destroy (faults still on)
// leaves nothing.
func TestKilledApplyUnderFaultsIsCompleted(t *testing.T) {
	h := start(t)
	h.SetLatency(10 * time.Millisecond)
	ref, _ := reference(t, h, OnAWS|OnGCP)
	in := countInjected(h)
	reruns := 0
	n := seeds(5, 1)
	for seed := range uint64(n) {
		kill := killPoint(seed+1000, ref)
		s := newSpec(t, h, OnAWS|OnGCP, "kfault", seed)
		faulty(h, seed+500)
		first := mustRun(t, h, s, kill, []int{0, 1, -1}, "apply", "--auto-approve")
		applies, destroys, after := underFaults(t, h, s, seed+700)
		reruns += applies - 1 + destroys - 1
		t.Logf("seed %d: kill %s (killed %v); then apply took %d run(s), destroy %d; after apply: %s", seed, kill, first.Killed, applies, destroys, after)
		if t.Failed() {
			t.Fatalf("seed %d; killed run:\n%s", seed, first)
		}
	}
	t.Logf("%d seed(s): injected %s; %d re-run(s) needed beyond the one after each kill", n, in, reruns)
}

// Half the creates on every cloud lose their answer after the cloud acted:
// apply still succeeds in one run, with no duplicate and every object recorded.
func TestLostCreateAnswersMakeNoDuplicates(t *testing.T) {
	h := start(t)
	in := countInjected(h)
	creates := []string{"ec2:RunInstances", "s3:CreateBucket", "compute:instances.insert", "tpu:nodes.create", "http:POST /storage/v1/b"}
	for seed := range uint64(seeds(4, 2)) {
		s := newSpec(t, h, OnAWS|OnGCP, "lost", seed)
		for i, p := range h.Proxies() {
			p.ClearFaults()
			p.SetSeed(seed*10 + uint64(i))
			p.AddFault(cloudproxy.Fault{Ops: creates, Fraction: 0.5, Drop: true})
		}
		before := in.total()
		r := mustRun(t, h, s, Kill{}, []int{0}, "apply", "--auto-approve")
		h.ClearFaults()
		c := converged(t, h, s)
		t.Logf("seed %d: %d create answer(s) lost; apply: %q; %s", seed, in.total()-before, summary(r), c)
		destroyed(t, h, s)
		if t.Failed() {
			t.Fatalf("seed %d:\n%s", seed, r)
		}
	}
}

// summary is the last line of a run's standard output.
func summary(r Result) string {
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
