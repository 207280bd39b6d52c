package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Remote locks (S3, GCS) have no OS to release them when their holder dies,
// so the holder proves it is alive: it rewrites its lock object every
// LockRenewEvery with the time in LockInfo.Renewed, and force-unlock
// refuses a lock renewed within LockTTL.
const (
	DefaultLockRenewEvery = 10 * time.Second
	DefaultLockTTL        = 60 * time.Second
)

// RemoteOptions tune the S3 and GCS backends; zero values take the defaults.
type RemoteOptions struct {
	// CallTimeout bounds one request to the backend (deadline.DefaultCallTimeout).
	CallTimeout time.Duration
	// LockRenewEvery is how often a holder renews its lock; LockTTL is how
	// long after its last renewal a lock counts as abandoned.
	LockRenewEvery time.Duration
	LockTTL        time.Duration
}

func (o RemoteOptions) withDefaults() RemoteOptions {
	if o.LockRenewEvery <= 0 {
		o.LockRenewEvery = DefaultLockRenewEvery
	}
	if o.LockTTL <= 0 {
		o.LockTTL = DefaultLockTTL
	}
	return o
}

// errLockGone is what a renewal returns when the lock object is no longer
// the one this holder wrote (force-unlocked, or taken by another run).
var errLockGone = errors.New("lock object replaced or removed")

// lease renews a held lock until stopped.
type lease struct {
	stopOnce sync.Once
	stopped  chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	lost     error
}

// startLease calls renew every interval until stop. A renewal that finds
// the lock gone ends the lease as lost; other failures (the network) are
// tried again at the next tick.
func startLease(every time.Duration, describe string, renew func(ctx context.Context, now time.Time) error) *lease {
	l := &lease{stopped: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		defer func() {
			if r := recover(); r != nil { // no exit code 2 from a renewal's bug
				l.mu.Lock()
				l.lost = fmt.Errorf("renewing the lock on %s: internal error: %v; please report it", describe, r)
				l.mu.Unlock()
			}
		}()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-l.stopped:
				return
			case now := <-tick.C:
				if err := renew(context.Background(), now); errors.Is(err, errLockGone) {
					l.mu.Lock()
					l.lost = fmt.Errorf("the lock on %s was removed while this run held it (force-unlock by someone else?); refusing to write state: run plan again to see where things stand", describe)
					l.mu.Unlock()
					return
				}
			}
		}
	}()
	return l
}

// stop ends renewals and waits until none is in flight.
func (l *lease) stop() {
	if l == nil {
		return
	}
	l.stopOnce.Do(func() { close(l.stopped) })
	<-l.done
}

// release is the unlock of a held lock: stop renewing, then remove the
// lock object unless it was lost (then it may be another run's).
func (l *lease) release(remove func() error) func() error {
	return func() error {
		l.stop()
		if err := l.Lost(); err != nil {
			return err
		}
		return remove()
	}
}

// Lost says why the lock was lost, or nil.
func (l *lease) Lost() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// lastSign is when the holder last proved it was alive.
func (i LockInfo) lastSign() time.Time {
	if i.Renewed.After(i.Created) {
		return i.Renewed
	}
	return i.Created
}

// refuseLiveHolder is force-unlock's check: a lock renewed within ttl has a
// holder that is still running, and removing it would let two runs apply at
// once. Clocks of holder and caller are compared; the TTL is far above the
// skew of machines that keep time.
func refuseLiveHolder(holder LockInfo, ttl time.Duration, backend string) error {
	age := time.Since(holder.lastSign())
	if age >= ttl {
		return nil
	}
	return fmt.Errorf("lock %s on %s is held by %s (%s since %s) and was renewed %s ago: that run is still alive. Stop it, or let it finish; a holder that died stops renewing, and its lock can be force-unlocked once unrenewed for %s (in %s)",
		holder.ID, backend, holder.Who, holder.Operation, holder.Created.UTC().Format(time.RFC3339),
		age.Round(time.Second), ttl, (ttl - age).Round(time.Second))
}
