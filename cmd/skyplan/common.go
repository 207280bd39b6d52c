package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/hcl/v2"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// loadSpec loads the spec directory, printing diagnostics (with snippets) to
// stderr. Warnings are printed and do not fail.
func (g *Globals) loadSpec() (*spec.Config, error) {
	cfg, diags := spec.Load(spec.Options{Dir: g.Chdir, Vars: g.Var, VarFiles: g.VarFile, Env: g.Env, Context: g.Context()})
	g.printDiagnostics(cfg, diags)
	if diags.HasErrors() {
		return nil, exitCode(ExitError)
	}
	return cfg, nil
}

// printDiagnostics writes HCL diagnostics with file:line:col and a snippet.
func (g *Globals) printDiagnostics(cfg *spec.Config, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	var sources map[string][]byte
	if cfg != nil {
		sources = cfg.Sources
	}
	writeDiagnostics(g.Stderr, sources, diags, g.Color())
}

// backend builds the state backend; a local path is relative to the spec directory.
func (g *Globals) backend(cfg *spec.Config) (state.Backend, error) {
	switch cfg.Backend.Type {
	case "", "local":
		p := cfg.Backend.Attrs["path"]
		if p == "" {
			p = ".skyplan/state.json"
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(g.Chdir, p)
		}
		return state.NewLocal(p), nil
	case "s3":
		a := cfg.Backend.Attrs
		return state.NewS3(g.Context(), a["bucket"], a["key"], a["region"])
	case "gcs":
		a := cfg.Backend.Attrs
		return state.NewGCS(g.Context(), a["bucket"], a["prefix"])
	}
	return nil, fmt.Errorf("backend %q is not supported; use local, s3 or gcs", cfg.Backend.Type)
}

// lockState takes the state lock for an operation; the caller must call unlock.
func lockState(ctx context.Context, b state.Backend, op string) (func() error, error) {
	who, _ := os.Hostname()
	if u := os.Getenv("USER"); u != "" {
		who = u + "@" + who
	}
	info := state.LockInfo{ID: newLockID(), Operation: op, Who: fmt.Sprintf("%s (pid %d)", who, os.Getpid()), Created: time.Now()}
	return b.Lock(ctx, info)
}

// loadState returns the current state, or a new empty one.
func loadState(ctx context.Context, b state.Backend, workspace string) (*state.State, error) {
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

// cloudsInUse lists the clouds referenced by the spec or by state, sorted.
func cloudsInUse(cfg *spec.Config, st *state.State) []string {
	seen := map[string]bool{}
	for _, r := range cfg.Resources {
		seen[r.Cloud()] = true
	}
	if st != nil {
		for _, r := range st.Resources {
			seen[r.Cloud] = true
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// buildProviders builds a provider for each named cloud. A cloud known only
// from state (its block removed from the spec) is built from an empty block,
// so its resources can still be destroyed.
func buildProviders(ctx context.Context, cfg *spec.Config, clouds []string) (map[string]providers.Provider, error) {
	out := map[string]providers.Provider{}
	for _, name := range clouds {
		cb := cfg.Clouds[name]
		if cb == nil {
			cb = &spec.Cloud{Name: name, Attrs: map[string]any{}}
		}
		p, err := providers.New(ctx, providers.Config{Cloud: cb, Workspace: cfg.Workspace})
		if err != nil {
			return nil, fmt.Errorf("cloud %q: %w", name, err)
		}
		out[name] = p
	}
	return out, nil
}

func newLockID() string { return uuid.NewString() }
