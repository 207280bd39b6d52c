package state

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// fastLocks renew every 100ms and expire 600ms after the last renewal.
var fastLocks = RemoteOptions{CallTimeout: 5 * time.Second, LockRenewEvery: 100 * time.Millisecond, LockTTL: 600 * time.Millisecond}

// testLockLiveness runs the remote-lock story on one bucket: open returns a
// new backend on it, a function that kills its lock's renewals as a crash
// would (the lock object stays), and one that deletes the lock object
// behind its holder's back.
func testLockLiveness(t *testing.T, open func() (b Backend, crash, drop func())) {
	ctx := context.Background()
	holder, _, _ := open()
	other, _, _ := open()

	// A live holder keeps its lock past the TTL by renewing it, and
	// force-unlock refuses it, naming the holder and the renewal's age.
	unlock, err := holder.Lock(ctx, LockInfo{ID: "live", Operation: "apply", Who: "alice", Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(fastLocks.LockTTL + 300*time.Millisecond)
	err = other.ForceUnlock(ctx, "live")
	if err == nil || !strings.Contains(err.Error(), "alice") || !strings.Contains(err.Error(), "still alive") || !strings.Contains(err.Error(), "renewed 0s ago") {
		t.Fatalf("force-unlock of a live, renewing holder: %v; want a refusal naming alice and the renewal", err)
	}
	var le *LockedError
	if _, err := other.Lock(ctx, LockInfo{ID: "second"}); !errors.As(err, &le) || le.Holder.Renewed.IsZero() || !strings.Contains(err.Error(), "last renewed") {
		t.Fatalf("Lock while held: %v; want a LockedError with the last renewal", err)
	}
	if err := unlock(); err != nil {
		t.Fatalf("unlock: %v", err)
	}

	// A holder that died stops renewing: refused at first, removable after the TTL.
	dead, crash, _ := open()
	if _, err := dead.Lock(ctx, LockInfo{ID: "dead", Operation: "apply", Who: "bob", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	crash()
	if err := other.ForceUnlock(ctx, "dead"); err == nil || !strings.Contains(err.Error(), "bob") {
		t.Fatalf("force-unlock right after the holder died: %v; want a refusal until the TTL", err)
	}
	time.Sleep(fastLocks.LockTTL + 100*time.Millisecond)
	if err := other.ForceUnlock(ctx, "dead"); err != nil {
		t.Fatalf("force-unlock of an abandoned lock: %v", err)
	}
	relock, err := other.Lock(ctx, LockInfo{ID: "after", Created: time.Now()})
	if err != nil {
		t.Fatalf("Lock after force-unlock: %v", err)
	}
	if err := relock(); err != nil {
		t.Fatal(err)
	}

	// A holder whose lock was removed behind its back notices at its next
	// renewal and refuses to write state.
	robbed, _, drop := open()
	unlock, err = robbed.Lock(ctx, LockInfo{ID: "robbed", Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	drop()
	time.Sleep(3 * fastLocks.LockRenewEvery)
	if err := robbed.Save(ctx, New("prod")); err == nil || !strings.Contains(err.Error(), "was removed while this run held it") {
		t.Fatalf("Save after losing the lock: %v; want a refusal", err)
	}
	if err := unlock(); err == nil {
		t.Fatal("unlock of a lost lock reported success")
	}
}
