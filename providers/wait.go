package providers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/skyplan/skyplan/internal/deadline"
)

// Limits bound how long a provider waits on its cloud.
type Limits struct {
	// CallTimeout bounds one HTTP request attempt: connecting, the answer's
	// headers, each pause while its body is read.
	CallTimeout time.Duration
	// WaitTimeout bounds one long wait: instances running or gone, an
	// operation done.
	WaitTimeout time.Duration
	// CapacityWait bounds retrying a place that refused a launch for
	// capacity or quota before the next candidate is tried.
	CapacityWait time.Duration
}

// DefaultWaitTimeout bounds a long wait when nothing else is set.
const DefaultWaitTimeout = 20 * time.Minute

// WithDefaults fills unset limits with the defaults.
func (l Limits) WithDefaults() Limits {
	if l.CallTimeout <= 0 {
		l.CallTimeout = deadline.DefaultCallTimeout
	}
	if l.WaitTimeout <= 0 {
		l.WaitTimeout = DefaultWaitTimeout
	}
	if l.CapacityWait <= 0 {
		l.CapacityWait = DefaultCapacityWait
	}
	return l
}

// ErrStoppedWaiting ends a wait that the run's first interrupt stopped.
var ErrStoppedWaiting = errors.New("interrupted")

var errWaitTimeout = errors.New("wait timeout")

type stopWaitingKey struct{}

// WithStopWaiting returns ctx carrying stop. When stop closes, providers
// stop waiting for long operations (see BeginWait) and return what exists
// so far with an error wrapping ErrStoppedWaiting; a call already sent is
// not abandoned. The executor passes its Stop channel this way, so every
// provider call of an apply sees it without a parameter of its own.
func WithStopWaiting(ctx context.Context, stop <-chan struct{}) context.Context {
	if stop == nil {
		return ctx
	}
	return context.WithValue(ctx, stopWaitingKey{}, stop)
}

// Wait is one bounded wait of a provider: polling for RUNNING, DONE, gone.
type Wait struct {
	ctx     context.Context
	stop    context.CancelCauseFunc
	expire  context.CancelFunc
	start   time.Time
	timeout time.Duration
}

// BeginWait starts a wait of at most timeout that also ends when the run's
// StopWaiting channel (WithStopWaiting) closes. Poll with the returned
// context; call End when done and Err to explain a failure.
func BeginWait(ctx context.Context, timeout time.Duration) (*Wait, context.Context) {
	if timeout <= 0 {
		timeout = DefaultWaitTimeout
	}
	w := &Wait{start: time.Now(), timeout: timeout}
	stoppable, stop := context.WithCancelCause(ctx)
	w.ctx, w.expire = context.WithTimeoutCause(stoppable, timeout, errWaitTimeout)
	w.stop = stop
	if ch, _ := ctx.Value(stopWaitingKey{}).(<-chan struct{}); ch != nil {
		go func() {
			select {
			case <-ch:
				stop(ErrStoppedWaiting)
			case <-w.ctx.Done():
			}
		}()
	}
	return w, w.ctx
}

// End releases the wait.
func (w *Wait) End() {
	w.expire()
	w.stop(context.Canceled)
}

// Elapsed is the time waited so far.
func (w *Wait) Elapsed() time.Duration { return time.Since(w.start).Round(time.Second) }

// Err explains a wait that ended with err (nil: nil), with the time really
// waited: stopped by an interrupt (wrapping ErrStoppedWaiting), past the
// wait timeout, cancelled, or failed. what names the wait ("" when the
// caller names it around the error).
func (w *Wait) Err(what string, err error) error {
	if err == nil {
		return nil
	}
	if what != "" {
		what += ": "
	}
	elapsed := w.Elapsed()
	cause := context.Cause(w.ctx)
	switch {
	case errors.Is(cause, ErrStoppedWaiting):
		return fmt.Errorf("%sstopped waiting after %s: %w; the request was sent, so the next plan or apply checks its result", what, elapsed, ErrStoppedWaiting)
	case errors.Is(cause, errWaitTimeout):
		return fmt.Errorf("%snot done after %s (the wait timeout, --wait-timeout %s)", what, elapsed, w.timeout)
	case cause != nil:
		return fmt.Errorf("%sabandoned after %s: %v", what, elapsed, cause)
	}
	return fmt.Errorf("%sfailed after %s: %w", what, elapsed, err)
}
