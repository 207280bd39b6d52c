package deadline_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/skyplan/skyplan/internal/deadline"
	"github.com/skyplan/skyplan/internal/emulator"
)

// An endpoint that accepts and never answers fails within the timeout,
// naming the endpoint.
func TestUnansweredRequestTimesOutNamingEndpoint(t *testing.T) {
	u := emulator.UnresponsiveForTest(t)
	client := deadline.Client(200 * time.Millisecond)
	_, err := client.Get(u.URL + "/x")
	var te *deadline.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("got %v, want a *TimeoutError", err)
	}
	if want := "endpoint " + u.URL + " did not answer within 200ms"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

// A body that stalls after the headers is bounded too, and a body that
// keeps flowing is not cut by the timeout.
func TestBodyReadsAreBoundedBySilence(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		for range 5 {
			io.WriteString(w, "chunk ")
			w.(http.Flusher).Flush()
			time.Sleep(60 * time.Millisecond) // 300ms in all, each pause under the timeout
		}
		if r.URL.Path == "/stall" {
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	client := deadline.Client(150 * time.Millisecond)
	resp, err := client.Get(srv.URL + "/flow")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || strings.Count(string(b), "chunk") != 5 {
		t.Fatalf("flowing body: %q, %v", b, err)
	}
	resp, err = client.Get(srv.URL + "/stall")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !deadline.IsTimeout(err) {
		t.Fatalf("stalled body: got %v, want a timeout", err)
	}
}

// WithCallTimeout lends one call a longer timeout (long polls).
func TestWithCallTimeoutOverrides(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "done")
	}))
	defer srv.Close()
	client := deadline.Client(100 * time.Millisecond)
	if _, err := client.Get(srv.URL); !deadline.IsTimeout(err) {
		t.Fatalf("plain call: got %v, want a timeout", err)
	}
	req, _ := http.NewRequestWithContext(deadline.WithCallTimeout(context.Background(), 2*time.Second), "GET", srv.URL, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("long-poll call: %v", err)
	}
	resp.Body.Close()
}

// The AWS SDK does not retry a timed-out call (one attempt, about one
// timeout), but does retry 5xx answers up to AWSMaxAttempts.
func TestAWSRetries(t *testing.T) {
	u := emulator.UnresponsiveForTest(t)
	ec2At := func(endpoint string) *ec2.Client {
		cfg, err := deadline.LoadAWSConfig(context.Background(), 300*time.Millisecond, config.WithRegion("us-east-1"),
			config.WithBaseEndpoint(endpoint),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("k", "s", "")))
		if err != nil {
			t.Fatal(err)
		}
		return ec2.NewFromConfig(cfg)
	}
	start := time.Now()
	_, err := ec2At(u.URL).DescribeAvailabilityZones(context.Background(), &ec2.DescribeAvailabilityZonesInput{})
	if !deadline.IsTimeout(err) {
		t.Fatalf("got %v, want a timeout", err)
	}
	if n := len(u.Accepted); n != 1 {
		t.Errorf("the hanging endpoint got %d connections, want 1 (a timeout is not retried)", n)
	}
	t.Logf("failed after %s", time.Since(start))

	calls := 0
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls < 3 {
			w.WriteHeader(503)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<DescribeAvailabilityZonesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><availabilityZoneInfo><item><zoneName>us-east-1a</zoneName></item></availabilityZoneInfo></DescribeAvailabilityZonesResponse>`)
	}))
	defer flaky.Close()
	out, err := ec2At(flaky.URL).DescribeAvailabilityZones(context.Background(), &ec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		t.Fatalf("after two 503s: %v", err)
	}
	if len(out.AvailabilityZones) != 1 || aws.ToString(out.AvailabilityZones[0].ZoneName) != "us-east-1a" || calls != 3 {
		t.Errorf("got %d zones after %d calls", len(out.AvailabilityZones), calls)
	}
}
