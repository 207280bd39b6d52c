package providers_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/skyplan/skyplan/providers"
)

func TestWaitEndsOnStopWaiting(t *testing.T) {
	stop := make(chan struct{})
	ctx := providers.WithStopWaiting(context.Background(), stop)
	w, wctx := providers.BeginWait(ctx, time.Hour)
	defer w.End()
	close(stop)
	<-wctx.Done()
	err := w.Err("waiting for i-1 to run", wctx.Err())
	if !errors.Is(err, providers.ErrStoppedWaiting) {
		t.Fatalf("got %v, want ErrStoppedWaiting", err)
	}
	if !strings.HasPrefix(err.Error(), "waiting for i-1 to run: stopped waiting after 0s: interrupted;") {
		t.Errorf("message: %v", err)
	}
	if ctx.Err() != nil {
		t.Error("stopping a wait cancelled the run's context")
	}
}

func TestWaitTimeoutReportsTheTimeReallyWaited(t *testing.T) {
	w, wctx := providers.BeginWait(context.Background(), 1100*time.Millisecond)
	defer w.End()
	<-wctx.Done()
	err := w.Err("waiting for op-1", wctx.Err())
	if errors.Is(err, providers.ErrStoppedWaiting) {
		t.Fatalf("a timeout reads as an interrupt: %v", err)
	}
	if want := "waiting for op-1: not done after 1s (the wait timeout, --wait-timeout 1.1s)"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestWaitPassesOtherErrorsThrough(t *testing.T) {
	w, _ := providers.BeginWait(context.Background(), time.Hour)
	defer w.End()
	api := errors.New("AccessDenied")
	err := w.Err("waiting for op-2", api)
	if !errors.Is(err, api) || err.Error() != "waiting for op-2: failed after 0s: AccessDenied" {
		t.Errorf("got %v", err)
	}
	if err := w.Err("", api); err.Error() != "failed after 0s: AccessDenied" {
		t.Errorf("unnamed: %v", err)
	}
	if w.Err("x", nil) != nil {
		t.Error("no error must stay nil")
	}
}

// A wait begun after the interrupt (the action was already running) ends at once.
func TestWaitBegunAfterStopEndsAtOnce(t *testing.T) {
	stop := make(chan struct{})
	close(stop)
	w, wctx := providers.BeginWait(providers.WithStopWaiting(context.Background(), stop), time.Hour)
	defer w.End()
	select {
	case <-wctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the wait did not end")
	}
}
