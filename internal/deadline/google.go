package deadline

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"
)

// cloudPlatformScope covers Compute Engine, Cloud TPU and Cloud Storage.
const cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// GoogleOptions returns opts plus an HTTP client whose calls are bounded by
// timeout, authenticated as opts say (credentials, or none with
// option.WithoutAuthentication). Pass the result to a Google client
// constructor (compute.NewService, storage.NewClient, ...).
func GoogleOptions(ctx context.Context, timeout time.Duration, opts ...option.ClientOption) ([]option.ClientOption, error) {
	// The transport (and its token source) outlives the call that builds it.
	ctx = context.WithoutCancel(ctx)
	rt, err := htransport.NewTransport(ctx, Transport(nil, timeout), append([]option.ClientOption{option.WithScopes(cloudPlatformScope)}, opts...)...)
	if err != nil {
		return nil, err
	}
	return append(opts, option.WithHTTPClient(&http.Client{Transport: rt})), nil
}

// RetryStorage is the storage client's retry rule (storage.WithErrorFunc)
// without retries of a refused connection, an unknown host or a call that
// got no answer within the call timeout: a wrong endpoint, an emulator that
// is down or one that hangs. Saying so at once beats minutes of retries.
func RetryStorage(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return false
	}
	if IsTimeout(err) {
		return false
	}
	return storage.ShouldRetry(err) && !strings.Contains(err.Error(), "connection refused")
}
