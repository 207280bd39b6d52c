package gcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/googleapis/gax-go/v2"
	"github.com/googleapis/gax-go/v2/apierror"
	compute "google.golang.org/api/compute/v1"
	"google.golang.org/api/googleapi"
	tpu "google.golang.org/api/tpu/v2"

	"github.com/skyplan/skyplan/internal/deadline"
	"github.com/skyplan/skyplan/providers"
)

// retry runs call, retrying answers 429 and 5xx with backoff (gax's own
// retryer), the 403s with which Compute Engine says a rate quota was
// exceeded, and calls that lost their connection before the answer, at most
// maxRetries times. Every call retried here names its object, so repeating
// one whose answer was lost makes nothing twice: a create of a taken name
// answers 409, which the creates adopt when the object is theirs. A call
// that timed out or whose connection was refused is not retried.
func (p *Provider) retry(ctx context.Context, call func(ctx context.Context) error) error {
	return gax.Invoke(ctx, func(ctx context.Context, _ gax.CallSettings) error { return call(ctx) },
		gax.WithRetry(func() gax.Retryer {
			return &limitedRetryer{inner: gax.OnHTTPCodes(p.backoff, 429, 500, 502, 503, 504), left: p.maxRetries, backoff: p.backoff}
		}))
}

type limitedRetryer struct {
	inner   gax.Retryer
	left    int
	backoff gax.Backoff // for rate-limit 403s and lost connections, which inner does not retry
}

func (r *limitedRetryer) Retry(err error) (time.Duration, bool) {
	if r.left <= 0 {
		return 0, false
	}
	r.left--
	if rateLimited(err) || lostConnection(err) {
		return r.backoff.Pause(), true
	}
	return r.inner.Retry(err)
}

// rateLimited reports a 403 for too many requests (a rate quota, which
// passes), not for a resource quota or a permission (which do not).
func rateLimited(err error) bool {
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != http.StatusForbidden {
		return false
	}
	for _, e := range gerr.Errors {
		if e.Reason == "rateLimitExceeded" || e.Reason == "userRateLimitExceeded" {
			return true
		}
	}
	return false
}

// lostConnection reports a call whose connection broke after it was sent:
// the server may have acted on it, and did not answer.
func lostConnection(err error) bool {
	if deadline.IsTimeout(err) {
		return false
	}
	for _, e := range []error{syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE, io.EOF, io.ErrUnexpectedEOF} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func httpCode(err error) int {
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		return gerr.Code
	}
	return 0
}

func isNotFound(err error) bool { return httpCode(err) == http.StatusNotFound }
func isConflict(err error) bool { return httpCode(err) == http.StatusConflict }

// describe turns an API or transport error into a reason a person can act on.
func describe(err error, endpoint string) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, errNoCredentials) {
		return err.Error()
	}
	var te *deadline.TimeoutError
	if errors.As(err, &te) {
		return te.Error()
	}
	var ae *apierror.APIError
	if errors.As(err, &ae) && ae.Reason() == "SERVICE_DISABLED" {
		return fmt.Sprintf("API disabled (SERVICE_DISABLED): %s", apiMessage(err))
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		switch gerr.Code {
		case http.StatusUnauthorized:
			return fmt.Sprintf("credentials rejected (401): %s", apiMessage(err))
		case http.StatusForbidden:
			for _, e := range gerr.Errors {
				if e.Reason == "accessNotConfigured" {
					return fmt.Sprintf("API disabled (SERVICE_DISABLED): %s", apiMessage(err))
				}
			}
			return fmt.Sprintf("permission denied (403): %s", apiMessage(err))
		case http.StatusNotFound:
			return fmt.Sprintf("not found (404): %s", apiMessage(err))
		case http.StatusTooManyRequests:
			return fmt.Sprintf("rate limited (429): %s", apiMessage(err))
		}
		return fmt.Sprintf("HTTP %d: %s", gerr.Code, apiMessage(err))
	}
	var uerr *url.Error
	var nerr net.Error
	if errors.As(err, &uerr) || errors.As(err, &nerr) {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Sprintf("endpoint %s did not answer in time", endpoint)
		}
		return fmt.Sprintf("endpoint %s unreachable: %v", endpoint, rootCause(err))
	}
	return err.Error()
}

func apiMessage(err error) string {
	var gerr *googleapi.Error
	if errors.As(err, &gerr) && gerr.Message != "" {
		return gerr.Message
	}
	return err.Error()
}

func rootCause(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

// apiError wraps a failed call with what it was about: the resource address,
// the object and where it lives.
func (p *Provider) apiError(address, action, api string, err error) error {
	return &describedError{msg: fmt.Sprintf("%s: %s (project %s): %s", address, action, p.project, describe(err, p.endpointFor(api))), err: err}
}

// describedError reads as its human message and unwraps to the API error.
type describedError struct {
	msg string
	err error
}

func (e *describedError) Error() string { return e.msg }
func (e *describedError) Unwrap() error { return e.err }

// operationHints tell what to do about well-known operation errors.
var operationHints = map[string]string{
	"QUOTA_EXCEEDED":                            "raise the quota (IAM & Admin → Quotas) or choose another region (regions = [...] fails over)",
	"ZONE_RESOURCE_POOL_EXHAUSTED":              "the zone has no capacity for this machine type now; retry later or choose another zone (zones = [...] fails over)",
	"ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS": "the zone has no capacity for this machine type now; retry later or choose another zone (zones = [...] fails over)",
	"RESOURCE_ALREADY_EXISTS":                   "an object of that name already exists",
	"RESOURCE_EXHAUSTED":                        "raise the TPU quota or choose another zone where this TPU type is offered (zones = [...] fails over)",
}

// OperationError is a long-running operation that ended in an error.
type OperationError struct {
	Code    string
	Message string
}

func (e *OperationError) Error() string {
	msg := e.Code + ": " + e.Message
	if h := operationHints[e.Code]; h != "" {
		msg += " (" + h + ")"
	}
	return msg
}

// zoneOpWaitAnswer is how long zoneOperations.wait may hold a call open
// before it answers (the API's own bound is two minutes).
const zoneOpWaitAnswer = 2 * time.Minute

// waitZoneOp polls a zonal operation with zoneOperations.wait until it is
// DONE, within the wait timeout and the run's StopWaiting, and returns its
// error, if any, as an *OperationError.
func (p *Provider) waitZoneOp(ctx context.Context, svc *compute.Service, zone string, op *compute.Operation) error {
	w, ctx := providers.BeginWait(ctx, p.opTimeout)
	defer w.End()
	// A long poll: the call timeout counts from when the API should answer.
	pollCtx := deadline.WithCallTimeout(ctx, zoneOpWaitAnswer+p.callTimeout)
	bo := p.backoff
	for op.Status != "DONE" {
		err := p.retry(pollCtx, func(ctx context.Context) error {
			next, err := svc.ZoneOperations.Wait(p.project, zone, op.Name).Context(ctx).Do()
			if err == nil {
				op = next
			}
			return err
		})
		if err == nil && op.Status != "DONE" {
			err = gax.Sleep(ctx, bo.Pause())
		}
		if err != nil {
			return w.Err("waiting for operation "+op.Name, &describedError{msg: describe(err, p.endpointFor("compute")), err: err})
		}
	}
	if op.Error != nil && len(op.Error.Errors) > 0 {
		var parts []string
		for _, e := range op.Error.Errors[1:] {
			parts = append(parts, e.Code+": "+e.Message)
		}
		first := op.Error.Errors[0]
		msg := first.Message
		if len(parts) > 0 {
			msg += "; " + strings.Join(parts, "; ")
		}
		return &OperationError{Code: first.Code, Message: msg}
	}
	return nil
}

// rpcCodes names google.rpc.Code values in TPU operation errors.
var rpcCodes = map[int64]string{
	1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
	6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION",
	10: "ABORTED", 13: "INTERNAL", 14: "UNAVAILABLE", 16: "UNAUTHENTICATED",
}

// waitTPUOp polls a TPU long-running operation until done.
func (p *Provider) waitTPUOp(ctx context.Context, svc *tpu.Service, op *tpu.Operation) error {
	w, ctx := providers.BeginWait(ctx, p.opTimeout)
	defer w.End()
	bo := p.backoff
	for !op.Done {
		err := gax.Sleep(ctx, bo.Pause())
		if err == nil {
			err = p.retry(ctx, func(ctx context.Context) error {
				next, err := svc.Projects.Locations.Operations.Get(op.Name).Context(ctx).Do()
				if err == nil {
					op = next
				}
				return err
			})
		}
		if err != nil {
			return w.Err("waiting for operation "+op.Name, &describedError{msg: describe(err, p.endpointFor("tpu")), err: err})
		}
	}
	if op.Error != nil {
		code := rpcCodes[op.Error.Code]
		if code == "" {
			code = fmt.Sprintf("code %d", op.Error.Code)
		}
		return &OperationError{Code: code, Message: op.Error.Message}
	}
	return nil
}
