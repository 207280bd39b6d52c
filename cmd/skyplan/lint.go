package main

import (
	"fmt"
	"maps"
	"slices"

	"github.com/skyplan/skyplan/planner/lint"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// LintCmd is `skyplan lint`.
type LintCmd struct {
	Format    string `name:"format" enum:"text,json,sarif" default:"text" help:"Output format: text, json or sarif (SARIF 2.1.0 for code scanning)."`
	Offline   bool   `name:"offline" help:"Run only the static rules; live rules are reported as skipped."`
	Strict    bool   `name:"strict" help:"Also fail (exit 3) on warnings."`
	URIPrefix string `name:"sarif-uri-prefix" placeholder:"PATH" help:"Prefix for file paths in SARIF (the spec directory relative to the repository root)."`
}

// Run lints: exit 0 no error findings, 1 could not run, 3 error findings.
func (c *LintCmd) Run(g *Globals) error {
	ctx := g.Context()
	cfg, err := g.loadSpec()
	if err != nil {
		return err
	}
	opts := lint.Options{Offline: c.Offline}
	if b, err := g.backend(cfg); err == nil {
		// Lint only reads state: no lock, and a missing state is fine.
		if st, err := b.Load(ctx); err == nil {
			opts.State = st
		}
	}
	if !c.Offline {
		provs, err := buildProviders(ctx, cfg, slices.Sorted(maps.Keys(cfg.Clouds)))
		if err != nil {
			return err
		}
		opts.Providers = provs
	}
	rep := lint.Run(ctx, cfg, opts)
	switch c.Format {
	case "json":
		err = lint.WriteJSON(g.Stdout, rep)
	case "sarif":
		err = lint.WriteSARIF(g.Stdout, rep, Version, c.URIPrefix)
	default:
		err = lint.WriteText(g.Stdout, rep, g.Color())
	}
	if err != nil {
		return err
	}
	if rep.Errors() > 0 || (c.Strict && rep.Warnings() > 0) {
		return exitCode(ExitFindings)
	}
	return nil
}

// staticLint runs the static rules before validate/plan/apply and refuses
// on an error finding; warnings are printed and do not stop anything.
func (g *Globals) staticLint(cfg *spec.Config, st *state.State) error {
	rep := lint.Static(cfg, st)
	rep.Skipped = nil
	if len(rep.Findings) == 0 {
		return nil
	}
	if err := lint.WriteText(g.Stderr, rep, g.Color()); err != nil {
		return err
	}
	if n := rep.Errors(); n > 0 {
		return &exitError{code: ExitError, msg: fmt.Sprintf("static lint found %d error(s); fix them, or add --skip-lint to plan/apply anyway", n)}
	}
	return nil
}
