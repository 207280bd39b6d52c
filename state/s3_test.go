package state

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/skyplan/skyplan/internal/emulator"
)

func newS3Backend(t *testing.T) *S3 {
	t.Helper()
	emulator.MotoForTest(t)
	ctx := context.Background()
	b, err := NewS3(ctx, "state-bucket", "skyplan/prod.json", "us-east-1", RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("state-bucket")}); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestS3BackendRoundTripAndConditionalSave(t *testing.T) {
	b := newS3Backend(t)
	ctx := context.Background()
	if st, err := b.Load(ctx); err != nil || st != nil {
		t.Fatalf("Load of missing state = %v, %v; want nil, nil", st, err)
	}
	st := New("prod")
	st.Set(&Resource{Address: "bucket.b", Type: "bucket", Cloud: "aws", IDs: []string{"b"}, Attrs: map[string]any{"versioning": true}})
	if err := b.Save(ctx, st); err != nil {
		t.Fatal(err)
	}
	got, err := b.Load(ctx)
	if err != nil || got.Lineage != st.Lineage || got.Resource("bucket.b") == nil {
		t.Fatalf("Load after Save = %+v, %v", got, err)
	}
	// Another writer saves in between: our next save must be refused.
	other, _ := NewS3(ctx, "state-bucket", "skyplan/prod.json", "us-east-1", RemoteOptions{})
	if _, err := other.Load(ctx); err != nil {
		t.Fatal(err)
	}
	st.Serial++
	if err := other.Save(ctx, st); err != nil {
		t.Fatal(err)
	}
	st.Serial++
	if err := b.Save(ctx, st); err == nil || !strings.Contains(err.Error(), "changed by another run") {
		t.Fatalf("Save over a newer state: err = %v, want refusal", err)
	}
}

func TestS3BackendLock(t *testing.T) {
	b := newS3Backend(t)
	ctx := context.Background()
	unlock, err := b.Lock(ctx, LockInfo{ID: "one", Operation: "apply", Who: "alice", Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Lock(ctx, LockInfo{ID: "two", Operation: "plan", Who: "bob"})
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.ID != "one" || !strings.Contains(err.Error(), "apply by alice") {
		t.Fatalf("second Lock: %v; want LockedError naming alice's apply", err)
	}
	if err := b.ForceUnlock(ctx, "two"); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("ForceUnlock with the wrong ID: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := b.ForceUnlock(ctx, "one"); !errors.Is(err, ErrNoLock) {
		t.Fatalf("ForceUnlock after unlock: %v, want ErrNoLock", err)
	}
	unlock, err = b.Lock(ctx, LockInfo{ID: "three", Created: time.Now()})
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestS3LockLiveness(t *testing.T) {
	newS3Backend(t) // the bucket
	open := func() *S3 {
		b, err := NewS3(context.Background(), "state-bucket", "skyplan/prod.json", "us-east-1", fastLocks)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	testLockLiveness(t, func() (Backend, func(), func()) {
		b := open()
		crash := func() { b.lease.stop() }
		drop := func() {
			if _, err := b.client.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(b.lockKey())}); err != nil {
				t.Fatal(err)
			}
		}
		return b, crash, drop
	})
}

// A missing state bucket must never read as "no state yet": a plan would
// then propose creating everything again.
func TestS3BackendMissingBucketIsAnError(t *testing.T) {
	emulator.MotoForTest(t)
	b, err := NewS3(context.Background(), "no-such-state-bucket", "prod.json", "us-east-1", RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := b.Load(context.Background())
	if err == nil {
		t.Fatalf("Load from a missing bucket = %v, nil; want an error", st)
	}
	if !strings.Contains(err.Error(), `state bucket "no-such-state-bucket" does not exist`) || strings.Contains(err.Error(), "RequestID") {
		t.Errorf("error = %q", err)
	}
}
