package deadline

import (
	"context"
	"errors"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
)

// AWSMaxAttempts is how often an AWS call is tried: enough for throttling,
// 5xx answers and reset connections to pass (10% injected faults converge).
const AWSMaxAttempts = 8

// LoadAWSConfig is config.LoadDefaultConfig with every call of the SDK's
// clients bounded by timeout, and retries of what is worth retrying.
// A call that timed out or whose connection was refused is not retried: the
// endpoint is down or hangs, and saying so at once beats minutes of retries.
// The retry token bucket is off: with many calls in parallel it would turn
// a burst of throttling into failures. opts come last, so they win.
func LoadAWSConfig(ctx context.Context, timeout time.Duration, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	// The SDK's own client (the config loader adds AWS_CA_BUNDLE to it),
	// with its own timeouts for what runs while loading (credentials).
	sdkClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = timeout }).
		WithTransportOptions(func(tr *http.Transport) {
			tr.TLSHandshakeTimeout = timeout
			tr.ResponseHeaderTimeout = timeout
		})
	all := append([]func(*config.LoadOptions) error{
		config.WithHTTPClient(sdkClient),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = AWSMaxAttempts
				o.RateLimiter = ratelimit.None
				o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(endpointDown)}, o.Retryables...)
			})
		}),
	}, opts...)
	cfg, err := config.LoadDefaultConfig(ctx, all...)
	if err != nil {
		return cfg, err
	}
	// Service calls go through the watchdog, which names the endpoint; the
	// transport's own timers are cleared so they never fire first.
	if loaded, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok {
		inner := loaded.
			WithDialerOptions(func(d *net.Dialer) { d.Timeout = 0 }).
			WithTransportOptions(func(tr *http.Transport) {
				tr.TLSHandshakeTimeout = 0
				tr.ResponseHeaderTimeout = 0
			})
		cfg.HTTPClient = doer{Transport(roundTripFunc(inner.Do), timeout)}
	}
	return cfg, nil
}

// endpointDown vetoes retries of calls that timed out or were refused.
func endpointDown(err error) aws.Ternary {
	var timeout interface{ Timeout() bool }
	if (errors.As(err, &timeout) && timeout.Timeout()) || errors.Is(err, syscall.ECONNREFUSED) {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// doer is the aws.HTTPClient over a RoundTripper.
type doer struct{ rt http.RoundTripper }

func (d doer) Do(r *http.Request) (*http.Response, error) { return d.rt.RoundTrip(r) }
