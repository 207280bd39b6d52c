// Package session is one run of skyplan against a spec: the spec loaded
// (by the caller, who prints its diagnostics), the state read and, for
// commands that change anything, locked, and the providers built. Every
// command that talks to clouds goes through it — plan, apply, destroy,
// lint, state rebuild — so the data path is the same for all:
//
//	spec → check credentials → observe → expand → plan → (lint gate) → apply → state
//
// The CLI keeps flags, prompts and printing; the session holds no I/O but
// the clouds and the state backend.
package session

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/skyplan/skyplan/providers"
	// Every built-in provider (and its rulebook) is registered for sessions.
	_ "github.com/skyplan/skyplan/providers/all"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// Options says how to open a session.
type Options struct {
	// Operation names the run in the lock ("plan", "apply", ...).
	Operation string
	// Lock takes the state lock for the session's lifetime.
	Lock bool
	// Clouds are the clouds to build providers for; nil: the clouds the spec
	// or the state uses.
	Clouds []string
	// StateOptional reads an unreadable state as empty (lint: it only uses
	// state for hints, and must run where the state is out of reach).
	StateOptional bool
	// NoState does not read the state at all (check: credentials only).
	NoState bool
	// Limits bound every call to a cloud or the state backend, and every
	// long wait (zero: the defaults).
	Limits providers.Limits
}

// Session is one locked (or read-only) run.
type Session struct {
	Config    *spec.Config
	Backend   state.Backend
	State     *state.State
	Providers *providers.Set

	unlock func() error
}

// Open reads the state (taking the lock first when asked) and builds the
// providers; it makes no cloud call.
func Open(ctx context.Context, cfg *spec.Config, opts Options) (*Session, error) {
	b, err := Backend(ctx, cfg, opts.Limits)
	if err != nil {
		return nil, err
	}
	s := &Session{Config: cfg, Backend: b, unlock: func() error { return nil }}
	if opts.Lock {
		unlock, err := lock(ctx, b, opts.Operation)
		if err != nil {
			return nil, err
		}
		s.unlock = unlock
	}
	if opts.NoState {
		s.State = state.New(cfg.Workspace)
	} else if s.State, err = LoadState(ctx, b, cfg.Workspace); err != nil {
		if !opts.StateOptional {
			s.Close()
			return nil, err
		}
		s.State = state.New(cfg.Workspace)
	}
	clouds := opts.Clouds
	if clouds == nil {
		clouds = CloudsInUse(cfg, s.State)
	}
	if s.Providers, err = providers.NewSet(ctx, cfg, clouds, opts.Limits); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the state lock, if held.
func (s *Session) Close() error { return s.unlock() }

// Backend builds the state backend the spec names; a local path is
// relative to the spec directory. limits.CallTimeout bounds remote calls.
func Backend(ctx context.Context, cfg *spec.Config, limits providers.Limits) (state.Backend, error) {
	a := cfg.Backend.Attrs
	switch cfg.Backend.Type {
	case "", "local":
		p := a["path"]
		if p == "" {
			p = ".skyplan/state.json"
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(cfg.Dir, p)
		}
		return state.NewLocal(p), nil
	case "s3":
		return state.NewS3(ctx, a["bucket"], a["key"], a["region"], state.RemoteOptions{CallTimeout: limits.CallTimeout})
	case "gcs":
		return state.NewGCS(ctx, a["bucket"], a["prefix"], state.RemoteOptions{CallTimeout: limits.CallTimeout})
	}
	return nil, fmt.Errorf("backend %q is not supported; use local, s3 or gcs", cfg.Backend.Type)
}

// LoadState returns the current state, or a new empty one.
func LoadState(ctx context.Context, b state.Backend, workspace string) (*state.State, error) {
	st, err := b.Load(ctx)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return state.New(workspace), nil
	}
	if st.Workspace != "" && st.Workspace != workspace {
		return nil, fmt.Errorf("state in %s belongs to workspace %q, but the spec says workspace %q; use a separate backend path per workspace", b.Describe(), st.Workspace, workspace)
	}
	return st, nil
}

// lock takes the state lock for an operation, naming this process as holder.
func lock(ctx context.Context, b state.Backend, op string) (func() error, error) {
	who, _ := os.Hostname()
	if u := os.Getenv("USER"); u != "" {
		who = u + "@" + who
	}
	info := state.LockInfo{ID: uuid.NewString(), Operation: op, Who: fmt.Sprintf("%s (pid %d)", who, os.Getpid()), Created: time.Now()}
	return b.Lock(ctx, info)
}

// CloudsInUse lists the clouds referenced by the spec or by state, sorted.
func CloudsInUse(cfg *spec.Config, st *state.State) []string {
	seen := map[string]bool{}
	for _, r := range cfg.Resources {
		seen[r.Cloud()] = true
	}
	if st != nil {
		for _, r := range st.Resources {
			seen[r.Cloud] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}
