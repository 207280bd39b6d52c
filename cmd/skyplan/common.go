package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/skyplan/skyplan/internal/session"
	"github.com/skyplan/skyplan/internal/style"
	"github.com/skyplan/skyplan/planner/lint"
	"github.com/skyplan/skyplan/spec"
)

// loadSpec loads the spec directory, printing diagnostics (with snippets) to
// stderr. Warnings are printed and do not fail.
func (g *Globals) loadSpec() (*spec.Config, error) {
	tuneGC(g.Chdir)
	cfg, diags := spec.Load(spec.Options{Dir: g.Chdir, Vars: g.Var, VarFiles: g.VarFile, Env: g.Env, Context: g.Context(), Saved: g.savedVars})
	g.protectSpec(cfg)
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
	style.WriteDiagnostics(g.Stderr, sources, diags, g.Color())
}

// openSession loads the spec and opens a session on it, bounded by the
// run's limits; the state's sensitive values are redacted from then on.
func (g *Globals) openSession(ctx context.Context, opts session.Options) (*session.Session, error) {
	cfg, err := g.loadSpec()
	if err != nil {
		return nil, err
	}
	return g.open(ctx, cfg, opts)
}

// open is session.Open with the run's limits and redaction.
func (g *Globals) open(ctx context.Context, cfg *spec.Config, opts session.Options) (*session.Session, error) {
	opts.Limits = g.limits
	s, err := session.Open(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	g.protectState(s.State)
	return s, nil
}

// closeSession releases the session's lock, warning when that fails.
func (g *Globals) closeSession(s *session.Session) {
	if err := s.Close(); err != nil {
		fmt.Fprintf(g.Stderr, "Warning: releasing the state lock: %v\n", err)
	}
}

// lintRefusal prints the findings of a lint gate refusal; other errors pass through.
func (g *Globals) lintRefusal(err error) error {
	var le *session.LintError
	if !errors.As(err, &le) {
		return err
	}
	if werr := lint.WriteText(g.Stderr, le.Report, g.Color()); werr != nil {
		return werr
	}
	return &exitError{code: ExitError, msg: le.Error()}
}
