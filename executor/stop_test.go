package executor_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/skyplan/skyplan/executor"
	"github.com/skyplan/skyplan/internal/emulator"
	"github.com/skyplan/skyplan/internal/gcpfake"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/state"
)

// The first interrupt makes a running action stop waiting for its cloud
// operation: the action ends at once with an error saying so, and state is
// saved. The GCE fake never finishes the operation, so without the stop the
// wait would last the whole wait timeout.
func TestStopEndsRunningWaits(t *testing.T) {
	fake, prov, p := slowGCECluster(t, "stopwait", 1<<30)
	stop := make(chan struct{})
	var once sync.Once
	fake.OnRequest("POST", "/compute/v1/projects/*/zones/*/operations/*/wait", func(*http.Request) *gcpfake.Fault {
		once.Do(func() { close(stop) }) // the action is waiting now
		return nil
	})
	backend := state.NewLocal(t.TempDir() + "/state.json")
	ex := &executor.Executor{Providers: map[string]providers.Provider{"gcp": prov}, Backend: backend, State: state.New("stopwait"), Stop: stop, Heartbeat: -1}
	done := make(chan *executor.Result, 1)
	go func() { done <- mustApply(t, ex, context.Background(), p) }()
	var res *executor.Result
	select {
	case res = <-done:
	case <-time.After(time.Minute):
		t.Fatal("apply still waits a minute after the interrupt")
	}
	err := res.Failed["cluster.slow"]
	if !errors.Is(err, providers.ErrStoppedWaiting) || !strings.Contains(err.Error(), "stopped waiting after") {
		t.Fatalf("the waiting action ended with %v; want it to say it stopped waiting", err)
	}
	if res.SaveErr != nil {
		t.Fatalf("state not saved: %v", res.SaveErr)
	}
	if saved, err := backend.Load(context.Background()); err != nil || saved == nil || saved.Serial == 0 {
		t.Fatalf("state after the stop: %+v, %v", saved, err)
	}
}

// panicky stands in for a provider bug: a real provider whose Apply panics.
type panicky struct{ providers.Provider }

func (panicky) Apply(context.Context, providers.ApplyRequest) (*state.Resource, error) {
	panic("index out of range [3] with length 3")
}

// A provider that panics fails its action (an internal error) instead of
// crashing the run; the other actions go on and state is saved.
func TestProviderPanicFailsOnlyItsAction(t *testing.T) {
	emulator.MotoForTest(t)
	h := newHarness(t, "panic")
	p, st := h.plan()
	ex := &executor.Executor{Providers: map[string]providers.Provider{"aws": panicky{h.prov}}, Backend: h.backend, State: st, Parallelism: 2}
	res := mustApply(t, ex, context.Background(), p)
	if len(res.Failed) != 3 {
		t.Fatalf("failed = %v, want all 3 actions failed", res.Failed)
	}
	for addr, err := range res.Failed {
		if !strings.Contains(err.Error(), "internal error: index out of range") {
			t.Errorf("%s: %v; want an internal error", addr, err)
		}
	}
}

// Result.SaveErr tells whether the last state save succeeded: here another
// run wrote the S3 state after this one read it, so every save is refused.
func TestSaveErrReportsARefusedSave(t *testing.T) {
	emulator.MotoForTest(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("refused-state")}); err != nil {
		t.Fatal(err)
	}
	mine, err := state.NewS3(ctx, "refused-state", "s.json", "us-east-1", state.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := state.NewS3(ctx, "refused-state", "s.json", "us-east-1", state.RemoteOptions{})
	if _, err := mine.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.Save(ctx, state.New("refused")); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, "refused")
	p, st := h.plan()
	ex := &executor.Executor{Providers: map[string]providers.Provider{"aws": h.prov}, Backend: mine, State: st, Parallelism: 1}
	res := mustApply(t, ex, ctx, p)
	if res.SaveErr == nil || !strings.Contains(res.SaveErr.Error(), "changed by another run") {
		t.Fatalf("SaveErr = %v; want the refusal", res.SaveErr)
	}
}
