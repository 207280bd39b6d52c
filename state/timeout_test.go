package state

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/skyplan/skyplan/internal/emulator"
)

// A state backend that accepts and never answers fails within the call
// timeout, naming its endpoint, on every path (read, lock).
func TestHangingBackendsFailWithinTheCallTimeout(t *testing.T) {
	u := emulator.UnresponsiveForTest(t)
	want := "endpoint " + u.URL + " did not answer within 300ms"
	opts := RemoteOptions{CallTimeout: 300 * time.Millisecond}
	t.Setenv("AWS_ENDPOINT_URL", u.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("STORAGE_EMULATOR_HOST", u.URL)
	ctx := context.Background()
	s3b, err := NewS3(ctx, "state", "k.json", "us-east-1", opts)
	if err != nil {
		t.Fatal(err)
	}
	gcsb, err := NewGCS(ctx, "state", "p", opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []Backend{s3b, gcsb} {
		start := time.Now()
		if _, err := b.Load(ctx); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), b.Describe()) {
			t.Errorf("%s: Load: %v; want %q", b.Describe(), err, want)
		}
		if _, err := b.Lock(ctx, LockInfo{ID: "x"}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Lock: %v; want %q", b.Describe(), err, want)
		}
		t.Logf("%s: both failed after %s", b.Describe(), time.Since(start))
	}
}
