// Package planner diffs the desired spec against what exists (observed in the
// clouds, falling back to state) and produces an ordered Plan. It is pure: no
// network, no clock, no randomness — the same inputs give the same plan.
package planner

import (
	"fmt"

	"github.com/skyplan/skyplan/state"
)

// Action is what happens to one resource, in the spirit of Terraform's
// plans.Action: a rune that is also its symbol.
type Action rune

const (
	NoOp    Action = '.'
	Create  Action = '+'
	Update  Action = '~'
	Replace Action = '±' // a new generation, then delete the old (or the reverse: ReplaceMode)
	Delete  Action = '-'
	// Move re-tags a resource's objects with a new address (a moved block or
	// state mv) and changes nothing else in the cloud.
	Move Action = '>'
	// Import takes ownership of an object made outside skyplan (an import
	// block): apply tags it and records it, changing nothing else unless the
	// plan shows in-place updates with it.
	Import Action = '<'
)

// actions are every action, for parsing.
var actions = []Action{NoOp, Create, Update, Replace, Delete, Move, Import}

// String is the action's name in JSON and messages.
func (a Action) String() string {
	switch a {
	case NoOp:
		return "no-op"
	case Create:
		return "create"
	case Update:
		return "update"
	case Replace:
		return "replace"
	case Delete:
		return "delete"
	case Move:
		return "move"
	case Import:
		return "import"
	}
	return "unknown"
}

// Symbol is the action's marker in text output.
func (a Action) Symbol() string {
	switch a {
	case Replace:
		return "-/+"
	case Move:
		return "->"
	case Import:
		return "<="
	}
	return string(a)
}

// MarshalText makes actions render as their names in JSON.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText parses an action name; an unknown one is an error, never a
// silent no-op.
func (a *Action) UnmarshalText(b []byte) error {
	for _, x := range actions {
		if x.String() == string(b) {
			*a = x
			return nil
		}
	}
	return fmt.Errorf("unknown plan action %q", b)
}

// AttrChange is one attribute's before/after.
type AttrChange struct {
	Name   string `json:"name"`
	Before any    `json:"before"`
	After  any    `json:"after"`
	// ForcesReplacement marks the attributes that make the action a replace;
	// Reason says what that costs.
	ForcesReplacement bool   `json:"forces_replacement,omitempty"`
	Reason            string `json:"reason,omitempty"`
	// Sensitive values come from sensitive variables and are never printed.
	Sensitive bool `json:"sensitive,omitempty"`
}

// Change is the planned action for one resource.
type Change struct {
	Address string `json:"address"`
	Type    string `json:"type"`
	Cloud   string `json:"cloud"`
	Action  Action `json:"action"`
	// Reason is the one-line "why" (drift, forced replacement, removed from spec).
	Reason string `json:"reason,omitempty"`
	// Attrs are the changed attributes (all attributes for create/delete).
	Attrs []AttrChange `json:"attributes,omitempty"`
	// Notes are provider remarks shown with the change (e.g. label conflicts).
	Notes []string `json:"notes,omitempty"`
	// DependsOn lists addresses of changes in this plan that must finish first.
	DependsOn []string `json:"depends_on,omitempty"`
	// Blocked is set when apply must refuse this change (e.g. a controller
	// replace without --allow-replace); plan still shows it.
	Blocked string `json:"blocked,omitempty"`

	// After is the full desired attribute set (create/update/replace).
	After map[string]any `json:"after,omitempty"`
	// Prior is what existed (update/replace/delete).
	Prior *state.Resource `json:"prior,omitempty"`
	// ResourceDependsOn is the resource's own dependency list, recorded in state.
	ResourceDependsOn []string `json:"resource_depends_on,omitempty"`
	// StateOnly updates touch only state (e.g. force_destroy), not the cloud.
	StateOnly bool `json:"state_only,omitempty"`
	// Sensitive names the attributes whose values are never printed.
	Sensitive []string `json:"sensitive_attributes,omitempty"`
	// MovedFrom is the address the objects are tagged with before this
	// change re-tags them (Move, or an update or delete of a moved resource).
	MovedFrom string `json:"moved_from,omitempty"`
	// ImportID names the object an Import takes ownership of.
	ImportID string `json:"import_id,omitempty"`
	// ClaimLegacy: the objects carry no state tag but this state records
	// them; apply tags them with the state's identity.
	ClaimLegacy bool `json:"claim_legacy,omitempty"`
	// Adopt: the objects are this state's (by their tags) but the state file
	// does not list them (an interrupted apply); apply records them, also
	// when nothing else changes.
	Adopt bool `json:"adopt,omitempty"`
	// Cost is what the resource costs before and after (set by planner/cost).
	Cost *Cost `json:"cost,omitempty"`
	// Generation is the generation the resource has once the change is
	// applied: a replacement's is the next one, so its objects are told
	// from the old generation's while both exist.
	Generation int `json:"generation,omitempty"`
	// ReplaceMode says how a Replace runs: ReplaceCreateBeforeDestroy or
	// ReplaceDeleteThenCreate.
	ReplaceMode string `json:"replace_mode,omitempty"`
	// Deposed are older generations at the address that an interrupted or
	// half-finished replacement left in the cloud: apply deletes them once
	// the change itself has succeeded.
	Deposed []*state.Resource `json:"deposed,omitempty"`
}

// How a replacement runs (Change.ReplaceMode).
const (
	// ReplaceCreateBeforeDestroy creates the next generation, waits until it
	// runs, then deletes the old one: a refused launch leaves the old running.
	ReplaceCreateBeforeDestroy = "create_before_destroy"
	// ReplaceDeleteThenCreate deletes first: where the new object must reuse
	// the old one's name (buckets), or lifecycle { create_before_destroy = false }.
	ReplaceDeleteThenCreate = "delete_then_create"
)

// IsSensitive reports whether an attribute's value must not be printed.
func (c *Change) IsSensitive(attr string) bool {
	for _, s := range c.Sensitive {
		if s == attr {
			return true
		}
	}
	return false
}

// Plan is an ordered set of changes, bound to the state and spec it was made from.
type Plan struct {
	FormatVersion string    `json:"format_version"`
	Workspace     string    `json:"workspace"`
	Lineage       string    `json:"lineage"`
	Serial        uint64    `json:"serial"`
	SpecHash      string    `json:"spec_hash"`
	Destroy       bool      `json:"destroy,omitempty"`
	Summary       Summary   `json:"summary"`
	Changes       []*Change `json:"changes"`
	// Gaps are what the plan could not look at; with any, the plan is
	// incomplete: never "no changes", never saved, never applied as a whole.
	Gaps []Gap `json:"gaps,omitempty"`
	// Findings are the lint findings the plan was checked against.
	Findings []Finding `json:"findings,omitempty"`
	// LintSkipped says the lint gate was turned off (--skip-lint).
	LintSkipped bool `json:"lint_skipped,omitempty"`
	// Foreign are objects of the workspace that are not this state's: left
	// alone, and shown so nobody wonders why.
	Foreign []Foreign `json:"foreign,omitempty"`
	// Cost totals the changes' costs (set by planner/cost).
	Cost *PlanCost `json:"cost,omitempty"`
	// Targets are the --target addresses a targeted plan was narrowed to.
	Targets []string `json:"targets,omitempty"`
	// Variables are the spec variable values the plan was made with, so a
	// saved plan applies without --var (sensitive values included: plan
	// files are 0600, and these are never printed).
	Variables map[string]Variable `json:"variables,omitempty"`
}

// Foreign is an object with the workspace's tags that belongs to another
// state, or to no state (made before skyplan tagged state identity, and not
// in this state): this state never changes or deletes it.
type Foreign struct {
	Address string   `json:"address"`
	Cloud   string   `json:"cloud"`
	StateID string   `json:"state_id,omitempty"`
	IDs     []string `json:"ids,omitempty"`
}

// Describe says whose the object is and what to do about it.
func (f Foreign) Describe() string {
	what := fmt.Sprintf("%s on %s (%s)", f.Address, f.Cloud, ShortList(f.IDs, 3))
	if f.StateID != "" {
		return what + fmt.Sprintf(" belongs to another state (lineage %s); left alone", f.StateID)
	}
	return what + " has this workspace's tags but no state identity (made by skyplan before it tagged one) and is not in this state; left alone. " +
		"If it is this state's, run: skyplan import " + f.Address + " " + firstOr(f.IDs, "ID")
}

func firstOr(l []string, def string) string {
	if len(l) > 0 {
		return l[0]
	}
	return def
}

// Gap is a part of the clouds a plan could not observe, so changes there
// may be missing from it.
type Gap struct {
	Cloud string `json:"cloud"`
	// Capability is set when the credentials lack it; empty when observing
	// the cloud failed (Reason says which call and why).
	Capability string `json:"capability,omitempty"`
	// Addresses are the resources (from spec or state) the gap hides.
	Addresses []string `json:"addresses,omitempty"`
	Reason    string   `json:"reason"`
}

// Finding is a lint finding shown with a plan (see planner/lint).
type Finding struct {
	RuleID   string `json:"rule_id"`
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Address  string `json:"address,omitempty"`
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Fix      string `json:"fix,omitempty"`
}

// Complete reports whether the plan saw everything it needed to.
func (p *Plan) Complete() bool { return len(p.Gaps) == 0 }

// LintErrors counts the error findings.
func (p *Plan) LintErrors() int {
	n := 0
	for _, f := range p.Findings {
		if f.Severity == "error" {
			n++
		}
	}
	return n
}

// FormatVersion is the version of the plan JSON schema (docs/plan-json.md).
const FormatVersion = "1"

// Summary counts changes by kind.
type Summary struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Replace int `json:"replace"`
	Destroy int `json:"destroy"`
	Move    int `json:"move"`
	Import  int `json:"import"`
}

// HasChanges reports whether applying the plan would change anything.
func (p *Plan) HasChanges() bool {
	for _, c := range p.Changes {
		if c.Action != NoOp {
			return true
		}
	}
	return false
}

// Change returns the change for an address, or nil.
func (p *Plan) Change(addr string) *Change {
	for _, c := range p.Changes {
		if c.Address == addr {
			return c
		}
	}
	return nil
}

func summarize(changes []*Change) Summary {
	var s Summary
	for _, c := range changes {
		switch c.Action {
		case Create:
			s.Add++
		case Update:
			s.Change++
		case Replace:
			s.Replace++
		case Delete:
			s.Destroy++
		case Move:
			s.Move++
		case Import:
			s.Import++
		}
	}
	return s
}

// Adoptions counts the objects apply records that the state file lacks.
func (p *Plan) Adoptions() int {
	n := 0
	for _, c := range p.Changes {
		if c.Adopt {
			n++
		}
	}
	return n
}
