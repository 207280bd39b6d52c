// Package lint finds, before anything is launched, the mistakes that
// otherwise fail at launch time: networks without a route to the internet,
// credentials missing a capability, TPU Nodes, disk tiers a machine family
// cannot use, accelerators a region does not offer, unlabelled GPU nodes.
//
// Static rules read only the spec (and state); live rules make read-only
// calls through the providers' inspection interfaces. A live rule that cannot
// run is reported as skipped, with the reason, never silently dropped.
package lint

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// Severity of a finding.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Rule is one check.
type Rule struct {
	ID       string
	Name     string
	Severity Severity
	// Live rules query the clouds (read-only).
	Live        bool
	Description string
	// Help says how to fix a finding in general; findings carry the exact fix.
	Help string

	static func(*Context) []Finding
	live   func(context.Context, *Context) ([]Finding, []Skipped)
}

// Finding is one problem found by a rule.
type Finding struct {
	RuleID   string    `json:"rule_id"`
	RuleName string    `json:"rule"`
	Severity Severity  `json:"severity"`
	Message  string    `json:"message"`
	Address  string    `json:"address,omitempty"`
	Range    hcl.Range `json:"-"`
	// Fix is the exact command(s) or spec change that resolves it.
	Fix string `json:"fix,omitempty"`

	// block is the declaration the finding belongs to, for ignore comments.
	block hcl.Range
}

// Skipped is a live rule (or part of one) that could not run.
type Skipped struct {
	RuleID string `json:"rule_id"`
	Reason string `json:"reason"`
}

// Report is the outcome of a lint run.
type Report struct {
	Findings []Finding
	Skipped  []Skipped
	// Rules are the rules that were considered, for SARIF metadata.
	Rules []*Rule
	// Dir is the spec directory, to make SARIF paths relative.
	Dir string
}

// Errors counts error findings.
func (r *Report) Errors() int { return r.count(Error) }

// Warnings counts warning findings.
func (r *Report) Warnings() int { return r.count(Warning) }

func (r *Report) count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// Context is what rules read.
type Context struct {
	Config    *spec.Config
	State     *state.State
	Providers *providers.Set
	launching map[string]bool
	checks    providers.Checks
	nodes     []providers.GPUNode
	nodesErr  error
	lines     *sourceLines
	buckets   map[string]*spec.Resource // by name, see bucketNamed
}

// Options controls Run.
type Options struct {
	// Offline skips every live rule (reported as skipped).
	Offline   bool
	State     *state.State
	Providers *providers.Set
	// Checks are the providers' credential checks when the caller already
	// ran them (a plan's refresh); nil: lint runs them.
	Checks providers.Checks
	// Launching, when not nil, narrows the live network rule to these
	// addresses: a plan gates only what it launches, and a plan that
	// launches nothing inspects no network.
	Launching map[string]bool
	// Static is the static rules' report when the caller already ran them
	// on this spec (a plan's gate, before the refresh); nil: Run runs them.
	Static *Report
}

// Static runs the static rules only: no network, no credentials.
func Static(cfg *spec.Config, st *state.State) *Report {
	return Run(context.Background(), cfg, Options{Offline: true, State: st})
}

// Run runs every rule; live rules only with providers and not Offline.
func Run(ctx context.Context, cfg *spec.Config, opts Options) *Report {
	lc := &Context{Config: cfg, State: opts.State, Providers: opts.Providers, checks: opts.Checks, launching: opts.Launching, lines: newSourceLines(cfg)}
	if lc.Providers == nil {
		lc.Providers = providers.SetOf(nil)
	}
	rep := &Report{Rules: Rules(), Dir: cfg.Dir}
	for _, r := range rep.Rules {
		switch {
		case r.static != nil:
			if opts.Static == nil {
				rep.Findings = append(rep.Findings, stamp(r, r.static(lc))...)
			}
		case opts.Offline:
			if r.appliesTo(cfg) {
				rep.Skipped = append(rep.Skipped, Skipped{RuleID: r.ID, Reason: "live rules are off (--offline)"})
			}
		default:
			found, skipped := r.live(ctx, lc)
			rep.Findings = append(rep.Findings, stamp(r, found)...)
			rep.Skipped = append(rep.Skipped, skipped...)
		}
	}
	if opts.Static != nil {
		rep.Findings = append(rep.Findings, opts.Static.Findings...)
	}
	rep.Findings = applyIgnores(lc.lines, rep.Findings)
	sort.SliceStable(rep.Findings, func(i, j int) bool {
		a, b := rep.Findings[i], rep.Findings[j]
		if a.Range.Filename != b.Range.Filename {
			return a.Range.Filename < b.Range.Filename
		}
		if a.Range.Start.Line != b.Range.Start.Line {
			return a.Range.Start.Line < b.Range.Start.Line
		}
		return a.RuleID < b.RuleID
	})
	return rep
}

// appliesTo reports whether a live rule has anything to look at in the spec,
// so --offline lists only the rules it really skipped.
func (r *Rule) appliesTo(cfg *spec.Config) bool {
	switch r.ID {
	case RuleNoUsableSubnet.ID:
		for _, res := range cfg.Resources {
			if res.Cloud() == "aws" && (res.Type == spec.TypeCluster || res.Type == spec.TypeJobsController) {
				return true
			}
		}
		return false
	case RuleUnlabeledGPUNodes.ID, RuleInvalidGPULabel.ID, RuleGPULabelWithoutGPUs.ID:
		_, ok := cfg.Clouds["kubernetes"]
		return ok
	}
	return len(cfg.Clouds) > 0
}

func stamp(r *Rule, fs []Finding) []Finding {
	for i := range fs {
		fs[i].RuleID, fs[i].RuleName = r.ID, r.Name
		if fs[i].Severity == "" {
			fs[i].Severity = r.Severity
		}
		if fs[i].block == (hcl.Range{}) {
			fs[i].block = fs[i].Range
		}
	}
	return fs
}

// resourceFinding locates a finding at one attribute of a resource.
func resourceFinding(r *spec.Resource, attr, msg, fix string) Finding {
	return Finding{Address: r.Address(), Range: r.Range(attr), Message: msg, Fix: fix, block: r.DeclRange}
}

// cloudFinding locates a finding at a cloud block.
func cloudFinding(c *spec.Cloud, attr, msg, fix string) Finding {
	rng := c.DeclRange
	if a, ok := c.AttrRanges[attr]; ok {
		rng = a
	}
	return Finding{Address: "cloud." + c.Name, Range: rng, Message: msg, Fix: fix, block: c.DeclRange}
}

// capabilityChecks runs every provider's Check once per lint run (all
// clouds concurrently), unless the caller passed them in.
func (c *Context) capabilityChecks(ctx context.Context) providers.Checks {
	if c.checks == nil {
		c.checks = c.Providers.Check(ctx)
	}
	return c.checks
}

// capabilityOK reports whether a cloud's capability works; reason when not.
func (c *Context) capabilityOK(ctx context.Context, cloud string, cp spec.Capability) (bool, string) {
	st := c.capabilityStatus(ctx, cloud, cp)
	return st.OK, st.Reason
}

// capabilityStatus is the check of a cloud's capability.
func (c *Context) capabilityStatus(ctx context.Context, cloud string, cp spec.Capability) providers.CapabilityStatus {
	if _, ok := c.Providers.Get(cloud); !ok {
		return providers.CapabilityStatus{Capability: cp, Reason: fmt.Sprintf("no %s provider configured", cloud)}
	}
	if st, ok := c.capabilityChecks(ctx).Status(cloud, cp); ok {
		return st
	}
	return providers.CapabilityStatus{Capability: cp, Reason: fmt.Sprintf("%s does not report a %s capability", cloud, cp)}
}

// firstN lists up to n names and counts the rest.
func firstN(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}
