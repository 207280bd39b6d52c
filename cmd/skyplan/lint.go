package main

import (
	"fmt"
	"maps"
	"slices"

	"github.com/skyplan/skyplan/internal/session"
	"github.com/skyplan/skyplan/planner/lint"
	"github.com/skyplan/skyplan/spec"
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
	// Lint only reads state: no lock. Every declared cloud is checked.
	s, err := g.open(ctx, cfg, session.Options{Operation: "lint", Clouds: lintClouds(cfg, c.Offline), StateOptional: true})
	if err != nil {
		return err
	}
	rep := s.Lint(ctx, nil, c.Offline, nil)
	if err := ctx.Err(); err != nil {
		return err
	}
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

// lintClouds are the clouds lint talks to: every declared one (none offline).
func lintClouds(cfg *spec.Config, offline bool) []string {
	if offline {
		return []string{}
	}
	return slices.Sorted(maps.Keys(cfg.Clouds))
}

// staticLint runs the static rules for validate and refuses on an error
// finding; warnings are printed and do not stop anything.
func (g *Globals) staticLint(cfg *spec.Config) error {
	rep := lint.Static(cfg, nil)
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
