package main

// TEMPORARY (lead): placeholders so the CLI builds until cmd/skyplan/k8s.go and
// cmd/skyplan/lint.go exist. Whoever adds k8s.go or lint.go: delete the matching
// declaration below (and this file once both are gone).

// LintCmd placeholder.
type LintCmd struct{}

// Run placeholder.
func (LintCmd) Run(g *Globals) error { return nil }

func (g *Globals) staticLint(cfg any, st any) error { return nil }
