package aws

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/skyplan/skyplan/internal/cloudproxy"
	"github.com/skyplan/skyplan/internal/emulator"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
)

func statusOf(t *testing.T, got []providers.CapabilityStatus, c spec.Capability) providers.CapabilityStatus {
	t.Helper()
	for _, s := range got {
		if s.Capability == c {
			return s
		}
	}
	t.Fatalf("no status for %s in %+v", c, got)
	return providers.CapabilityStatus{}
}

func TestCheckOK(t *testing.T) {
	needMoto(t)
	got := newProvider(t, "ws", nil).Check(testCtx(t))
	if len(got) != 2 {
		t.Fatalf("statuses = %+v; want compute and storage", got)
	}
	for _, c := range []spec.Capability{spec.CapCompute, spec.CapStorage} {
		if s := statusOf(t, got, c); !s.OK || s.Reason == "" {
			t.Errorf("%s: %+v; want OK with the call that proved it", c, s)
		}
	}
}

func TestCheckOnlyDeclaredCapabilities(t *testing.T) {
	needMoto(t)
	got := newProvider(t, "ws", map[string]any{"capabilities": []string{"storage"}}).Check(testCtx(t))
	if len(got) != 1 || got[0].Capability != spec.CapStorage || !got[0].OK {
		t.Fatalf("statuses = %+v; want storage only, OK", got)
	}
}

func TestCheckEndpointUnreachable(t *testing.T) {
	needMoto(t)
	port, err := emulator.FreePort() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	got := newProvider(t, "ws", nil).Check(testCtx(t))
	for _, c := range []spec.Capability{spec.CapCompute, spec.CapStorage} {
		s := statusOf(t, got, c)
		if s.OK || !s.Unverified || !strings.Contains(s.Reason, endpoint) || !strings.Contains(s.Reason, "unreachable") {
			t.Errorf("%s: %+v; want an unverified failure naming %s as unreachable", c, s, endpoint)
		}
	}
}

func TestCheckNoCredentials(t *testing.T) {
	needMoto(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	got := newProvider(t, "ws", nil).Check(testCtx(t))
	for _, s := range got {
		if s.OK || !strings.Contains(s.Reason, "no AWS credentials found") {
			t.Errorf("%s: %+v; want 'no AWS credentials found'", s.Capability, s)
		}
	}
}

func TestCheckMissingProfile(t *testing.T) {
	needMoto(t)
	got := newProvider(t, "ws", map[string]any{"profile": "does-not-exist"}).Check(testCtx(t))
	for _, s := range got {
		if s.OK || !strings.Contains(s.Reason, `profile "does-not-exist"`) {
			t.Errorf("%s: %+v; want a failure naming the profile", s.Capability, s)
		}
	}
}

func TestCheckNeverPrintsSecrets(t *testing.T) {
	needMoto(t)
	const secret = "sEcReT-value-that-must-not-leak"
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	port, _ := emulator.FreePort()
	t.Setenv("AWS_ENDPOINT_URL", fmt.Sprintf("http://127.0.0.1:%d", port))
	for _, s := range newProvider(t, "ws", nil).Check(testCtx(t)) {
		if strings.Contains(s.Reason, secret) || strings.Contains(s.Reason, "testing") {
			t.Errorf("%s reason leaks credentials: %q", s.Capability, s.Reason)
		}
	}
}

// An endpoint that accepts and never answers fails Check and Observe within
// about one call timeout, naming the endpoint; the timed-out calls are not
// retried.
func TestHangingEndpointFailsWithinTheCallTimeout(t *testing.T) {
	needMoto(t)
	u := emulator.UnresponsiveForTest(t)
	t.Setenv("AWS_ENDPOINT_URL", u.URL)
	p := newProvider(t, "ws", nil)
	p.callTimeout = 300 * time.Millisecond
	want := "endpoint " + u.URL + " did not answer within 300ms"
	for _, s := range p.Check(testCtx(t)) {
		if s.OK || !strings.Contains(s.Reason, want) {
			t.Errorf("%s: %+v; want %q", s.Capability, s, want)
		}
	}
	if n := len(u.Accepted); n != 2 {
		t.Errorf("Check made %d connections, want 2 (one per capability, no retry of a timeout)", n)
	}
	_, err := p.Observe(testCtx(t), providers.ObserveRequest{Workspace: "ws", Resources: []providers.ResourceHint{
		{Address: "cluster.c", Type: spec.TypeCluster, Attrs: map[string]any{"region": "us-east-1"}}}})
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Observe: %v; want %q", err, want)
	}
}

// A 500 answer is retried, in checks too: two in a row leave a capability usable.
func TestCheckRetriesServerErrors(t *testing.T) {
	needMoto(t)
	target, err := url.Parse(moto.Env()["AWS_ENDPOINT_URL"])
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var failed atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failed.Add(1) <= 4 { // the first two calls of each of the two checks, at worst
			http.Error(w, "injected", http.StatusInternalServerError)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	for _, s := range newProvider(t, "ws", nil).Check(testCtx(t)) {
		if !s.OK {
			t.Errorf("%s after injected 500s: %+v; want OK", s.Capability, s)
		}
	}
}

// A check that gets no verdict (5xx or throttling after every retry, no
// answer) is Unverified, not a denial; an AccessDenied answer is a denial.
func TestCheckTellsNoVerdictFromDenial(t *testing.T) {
	fast := config.WithRetryer(func() awssdk.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts, o.Backoff = 3, retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		})
	})
	denied := cloudproxy.APIError{Status: http.StatusForbidden, Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."}
	for _, tt := range []struct {
		fault      cloudproxy.APIError
		unverified bool
	}{{cloudproxy.EC2InternalError, true}, {cloudproxy.EC2Unavailable, true}, {cloudproxy.EC2RequestLimitExceeded, true}, {denied, false}} {
		t.Run(tt.fault.Code, func(t *testing.T) {
			needMoto(t)
			px := cloudproxy.ForTest(t, moto.Endpoint)
			px.AddFault(cloudproxy.Fault{Ops: []string{"ec2:DescribeInstances"}, Error: &tt.fault, Fraction: 1})
			got := newProvider(t, "ws", nil, config.WithBaseEndpoint(px.URL), fast).Check(testCtx(t))
			if s := statusOf(t, got, spec.CapCompute); s.OK || s.Unverified != tt.unverified || !strings.Contains(s.Reason, tt.fault.Code) {
				t.Errorf("compute: %+v; want a failure naming %s, Unverified %v", s, tt.fault.Code, tt.unverified)
			}
			if s := statusOf(t, got, spec.CapStorage); !s.OK {
				t.Errorf("storage: %+v; want OK", s)
			}
		})
	}
}
