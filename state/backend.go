package state

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Reader loads the latest state; a backend with no state yet returns (nil, nil).
type Reader interface {
	Load(ctx context.Context) (*State, error)
}

// Writer persists a state snapshot atomically.
type Writer interface {
	Save(ctx context.Context, s *State) error
}

// Locker guards state against concurrent plan/apply.
type Locker interface {
	// Lock acquires the lock or returns a *LockedError naming the holder.
	Lock(ctx context.Context, info LockInfo) (unlock func() error, err error)
	// ForceUnlock removes a lock left behind by a crashed run.
	ForceUnlock(ctx context.Context, id string) error
}

// Backend is a full state backend.
type Backend interface {
	Reader
	Writer
	Locker
	// Describe names the backend for messages ("local file .skyplan/state.json").
	Describe() string
}

// LockInfo says who holds a lock, for the error other runs see.
type LockInfo struct {
	ID        string    `json:"id"`
	Operation string    `json:"operation"`
	Who       string    `json:"who"`
	Created   time.Time `json:"created"`
	// Renewed is when a remote lock's holder last rewrote it, to show it
	// is alive (S3, GCS); zero for local locks, which the OS releases.
	Renewed time.Time `json:"renewed,omitzero"`
}

// LockedError is returned when another run holds the lock.
type LockedError struct {
	Holder  LockInfo
	Backend string
}

func (e *LockedError) Error() string {
	h := e.Holder
	if h.ID == "" {
		return fmt.Sprintf("state is locked (%s) by another process", e.Backend)
	}
	renewed := ""
	if !h.Renewed.IsZero() {
		renewed = fmt.Sprintf(", last renewed %s ago", time.Since(h.Renewed).Round(time.Second))
	}
	return fmt.Sprintf("state is locked (%s): %s by %s since %s%s (lock ID %s); if that run is gone, use: skyplan force-unlock %s",
		e.Backend, h.Operation, h.Who, h.Created.UTC().Format(time.RFC3339), renewed, h.ID, h.ID)
}

// ErrNoLock is returned by ForceUnlock when nothing is locked.
var ErrNoLock = errors.New("state is not locked")
