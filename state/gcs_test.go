package state

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/skyplan/skyplan/internal/emulator"
)

func newGCSBackend(t *testing.T) *GCS {
	t.Helper()
	port, err := emulator.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	// PublicHost must match for the XML download path the Go client reads with.
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: uint16(port),
		PublicHost: fmt.Sprintf("127.0.0.1:%d", port)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "state-bucket"})
	t.Setenv("STORAGE_EMULATOR_HOST", srv.URL())
	b, err := NewGCS(context.Background(), "state-bucket", "skyplan/prod", RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGCSBackendRoundTripAndConditionalSave(t *testing.T) {
	b := newGCSBackend(t)
	ctx := context.Background()
	if st, err := b.Load(ctx); err != nil || st != nil {
		t.Fatalf("Load of missing state = %v, %v", st, err)
	}
	st := New("prod")
	if err := b.Save(ctx, st); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Load(ctx); err != nil || got.Lineage != st.Lineage {
		t.Fatalf("Load after Save = %+v, %v", got, err)
	}
	other, _ := NewGCS(ctx, "state-bucket", "skyplan/prod", RemoteOptions{})
	if _, err := other.Load(ctx); err != nil {
		t.Fatal(err)
	}
	st.Serial++
	if err := other.Save(ctx, st); err != nil {
		t.Fatal(err)
	}
	st.Serial++
	if err := b.Save(ctx, st); err == nil || !strings.Contains(err.Error(), "changed by another run") {
		t.Fatalf("Save over a newer state: %v, want refusal", err)
	}
}

func TestGCSBackendLock(t *testing.T) {
	b := newGCSBackend(t)
	ctx := context.Background()
	unlock, err := b.Lock(ctx, LockInfo{ID: "one", Operation: "apply", Who: "alice", Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Lock(ctx, LockInfo{ID: "two"})
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.ID != "one" {
		t.Fatalf("second Lock: %v; want LockedError naming lock one", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := b.ForceUnlock(ctx, "one"); !errors.Is(err, ErrNoLock) {
		t.Fatalf("ForceUnlock after unlock: %v", err)
	}
}

// GCS answers a read from a missing bucket as a missing object; Load must
// still tell the two apart, or a misspelt bucket plans as an empty state.
func TestGCSBackendMissingBucketIsAnError(t *testing.T) {
	newGCSBackend(t)
	b, err := NewGCS(context.Background(), "no-such-state-bucket", "skyplan/prod", RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := b.Load(context.Background())
	if err == nil {
		t.Fatalf("Load from a missing bucket = %v, nil; want an error", st)
	}
	if !strings.Contains(err.Error(), `state bucket "no-such-state-bucket" does not exist`) {
		t.Errorf("error = %q", err)
	}
}

func TestGCSLockLiveness(t *testing.T) {
	newGCSBackend(t) // the emulator and its bucket
	testLockLiveness(t, func() (Backend, func(), func()) {
		b, err := NewGCS(context.Background(), "state-bucket", "skyplan/prod", fastLocks)
		if err != nil {
			t.Fatal(err)
		}
		crash := func() { b.lease.stop() }
		drop := func() {
			if err := b.client.Bucket(b.Bucket).Object(b.lockObject()).Delete(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		return b, crash, drop
	})
}
