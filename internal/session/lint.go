package session

import (
	"context"
	"fmt"

	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/planner/lint"
)

// LintError is a refusal by the lint gate; Report holds the findings.
type LintError struct{ Report *lint.Report }

func (e *LintError) Error() string {
	return fmt.Sprintf("lint found %d error(s); fix them, or add --skip-lint to go ahead anyway", e.Report.Errors())
}

// StaticLint runs the rules that need no cloud, before anything is observed.
func (s *Session) StaticLint() *lint.Report {
	rep := lint.Static(s.Config, s.State)
	rep.Skipped = nil
	return rep
}

// Lint runs every rule. ref, when set, lends its credential checks so
// nothing is checked twice; launching narrows the live network rule (nil:
// every resource).
func (s *Session) Lint(ctx context.Context, ref *Refresh, offline bool, launching map[string]bool) *lint.Report {
	return s.lint(ctx, ref, offline, launching, nil)
}

// lint is Lint reusing a static report of this run (nil: none).
func (s *Session) lint(ctx context.Context, ref *Refresh, offline bool, launching map[string]bool, static *lint.Report) *lint.Report {
	opts := lint.Options{Offline: offline, State: s.State, Providers: s.Providers, Launching: launching, Static: static}
	if ref != nil {
		opts.Checks = ref.Checks
	}
	return lint.Run(ctx, s.Config, opts)
}

// Findings turns a lint report into a plan's findings (for a refusal
// rendered where the plan would have been).
func Findings(rep *lint.Report) []planner.Finding { return findings(rep) }

// findings turns a lint report into the plan's findings.
func findings(rep *lint.Report) []planner.Finding {
	var out []planner.Finding
	for _, f := range rep.Findings {
		out = append(out, planner.Finding{RuleID: f.RuleID, Rule: f.RuleName, Severity: string(f.Severity), Message: f.Message,
			Address: f.Address, File: f.Range.Filename, Line: f.Range.Start.Line, Fix: f.Fix})
	}
	return out
}

// launching lists the resources a plan creates, replaces or updates: those
// whose launch the network rule must vouch for.
func launching(p *planner.Plan) map[string]bool {
	out := map[string]bool{}
	for _, c := range p.Changes {
		switch c.Action {
		case planner.Create, planner.Replace, planner.Update:
			out[c.Address] = true
		}
	}
	return out
}
