package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gofrs/flock"
)

// Local keeps state in a file, locked with an OS file lock so a crashed run
// never leaves a stale lock behind; the holder's details sit beside it.
type Local struct {
	Path string
	lock *flock.Flock
}

var _ Backend = (*Local)(nil)

// NewLocal returns a local backend for path.
func NewLocal(path string) *Local { return &Local{Path: path} }

func (l *Local) Describe() string { return "local file " + l.Path }

func (l *Local) lockPath() string { return l.Path + ".lock" }
func (l *Local) infoPath() string { return l.Path + ".lock.info" }

// Load reads the state file; a missing file is no state yet.
func (l *Local) Load(ctx context.Context) (*State, error) {
	b, err := os.ReadFile(l.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.Path, err)
	}
	return s, nil
}

// Save writes to a temp file in the same directory, syncs, then renames, so a
// crash leaves either the old or the new state, never half of one.
func (l *Local) Save(ctx context.Context, s *State) error {
	b, err := Marshal(s)
	if err != nil {
		return err
	}
	return WriteFileAtomic(l.Path, b)
}

// WriteFileAtomic writes data to path with mode 0600 through temp + rename.
func WriteFileAtomic(path string, data []byte) error { return WriteFileAtomicMode(path, data, 0o600) }

// WriteFileAtomicMode writes data to path with the given mode through
// temp + rename (fmt keeps each file's mode).
func WriteFileAtomicMode(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Lock takes an exclusive, non-blocking OS lock.
func (l *Local) Lock(ctx context.Context, info LockInfo) (func() error, error) {
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o700); err != nil {
		return nil, err
	}
	fl := flock.New(l.lockPath())
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", l.lockPath(), err)
	}
	if !ok {
		holder := LockInfo{}
		if b, err := os.ReadFile(l.infoPath()); err == nil {
			_ = json.Unmarshal(b, &holder)
		}
		return nil, &LockedError{Holder: holder, Backend: l.Describe()}
	}
	b, _ := json.Marshal(info)
	if err := WriteFileAtomic(l.infoPath(), b); err != nil {
		fl.Unlock()
		return nil, err
	}
	l.lock = fl
	return func() error {
		os.Remove(l.infoPath())
		return fl.Unlock()
	}, nil
}

// ForceUnlock only clears the holder details: the OS releases the file lock
// itself when the holding process exits, so a live holder keeps its lock.
func (l *Local) ForceUnlock(ctx context.Context, id string) error {
	b, err := os.ReadFile(l.infoPath())
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNoLock
	}
	var holder LockInfo
	if err := json.Unmarshal(b, &holder); err == nil && holder.ID != id {
		return fmt.Errorf("lock ID %q does not match the current lock %q", id, holder.ID)
	}
	fl := flock.New(l.lockPath())
	ok, err := fl.TryLock()
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("the process holding lock %s is still running; stop it first (the OS releases a local lock when its holder exits)", id)
	}
	defer fl.Unlock()
	return os.Remove(l.infoPath())
}
