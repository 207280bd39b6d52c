// Package deadline bounds every HTTP call skyplan makes to a cloud or a
// state backend: one per-call timeout covers dialling, TLS, waiting for the
// response headers and each pause while reading the body, so an endpoint
// that accepts and never answers fails within it, naming the endpoint.
// The AWS, Google and Kubernetes clients all take the transport built here.
package deadline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// DefaultCallTimeout bounds one HTTP request attempt when nothing else is set.
const DefaultCallTimeout = 30 * time.Second

// TimeoutError is a request that got no answer within the call timeout.
type TimeoutError struct {
	Endpoint string // scheme://host
	After    time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("endpoint %s did not answer within %s", e.Endpoint, e.After)
}

// Timeout makes the error a net.Error-style timeout for generic checks.
func (e *TimeoutError) Timeout() bool { return true }

// IsTimeout reports whether err is (or wraps) a call that timed out here.
func IsTimeout(err error) bool {
	var te *TimeoutError
	return errors.As(err, &te)
}

type callTimeoutKey struct{}

// WithCallTimeout gives the requests made with ctx their own call timeout:
// long polls (GCE's zoneOperations.wait answers after up to two minutes)
// need more than an ordinary call.
func WithCallTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, callTimeoutKey{}, d)
}

// Transport wraps base so that every request gets at most timeout to be
// answered (dial, TLS, headers) and every read of its body at most timeout
// of silence. timeout <= 0 means DefaultCallTimeout; a nil base means a
// clone of http.DefaultTransport.
func Transport(base http.RoundTripper, timeout time.Duration) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	return &transport{base: base, timeout: timeout}
}

// Client is an *http.Client over Transport(nil, timeout).
func Client(timeout time.Duration) *http.Client {
	return &http.Client{Transport: Transport(nil, timeout)}
}

type transport struct {
	base    http.RoundTripper
	timeout time.Duration
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	timeout := t.timeout
	if d, ok := req.Context().Value(callTimeoutKey{}).(time.Duration); ok && d > 0 {
		timeout = d
	}
	ctx, cancel := context.WithCancel(req.Context())
	w := &watchdog{cancel: cancel, timeout: timeout}
	w.timer = time.AfterFunc(timeout, w.fire)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		w.stop()
		cancel()
		if w.fired() {
			return nil, &TimeoutError{Endpoint: req.URL.Scheme + "://" + req.URL.Host, After: timeout}
		}
		return nil, err
	}
	// The headers came: from now on the timeout bounds each silence while
	// the body is read, and closing the body ends the request's context.
	w.timer.Reset(timeout)
	resp.Body = &watchedBody{ReadCloser: resp.Body, w: w, endpoint: req.URL.Scheme + "://" + req.URL.Host}
	return resp, nil
}

// watchdog cancels a request after timeout of silence.
type watchdog struct {
	cancel  context.CancelFunc
	timeout time.Duration
	timer   *time.Timer
	mu      sync.Mutex
	expired bool
}

func (w *watchdog) fire() {
	w.mu.Lock()
	w.expired = true
	w.mu.Unlock()
	w.cancel()
}

func (w *watchdog) fired() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.expired
}

func (w *watchdog) stop() { w.timer.Stop() }

type watchedBody struct {
	io.ReadCloser
	w        *watchdog
	endpoint string
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.w.fired() {
		return n, &TimeoutError{Endpoint: b.endpoint, After: b.w.timeout}
	}
	if n > 0 && !b.w.fired() {
		b.w.timer.Reset(b.w.timeout)
	}
	return n, err
}

func (b *watchedBody) Close() error {
	b.w.stop()
	err := b.ReadCloser.Close()
	b.w.cancel()
	return err
}
