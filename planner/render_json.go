package planner

import (
	"encoding/json"
	"io"
	"slices"

	"github.com/skyplan/skyplan/state"
)

// The public plan JSON (docs/plan-json.md) is its own set of types, apart
// from the Plan that apply and the plan file use: provider bookkeeping
// (Private) never leaks into it, and it changes only with format_version.
type jsonPlan struct {
	FormatVersion string       `json:"format_version"`
	Workspace     string       `json:"workspace"`
	Lineage       string       `json:"lineage"`
	Serial        uint64       `json:"serial"`
	SpecHash      string       `json:"spec_hash"`
	Destroy       bool         `json:"destroy"`
	Complete      bool         `json:"complete"`
	Gaps          []Gap        `json:"gaps"`
	Lint          jsonLint     `json:"lint"`
	Summary       Summary      `json:"summary"`
	Targets       []string     `json:"targets"`
	Cost          *PlanCost    `json:"cost"`
	Changes       []jsonChange `json:"changes"`
	// Foreign are objects of the workspace that are not this state's.
	Foreign []Foreign `json:"foreign"`
}

type jsonLint struct {
	Skipped  bool      `json:"skipped"`
	Errors   int       `json:"errors"`
	Findings []Finding `json:"findings"`
}

type jsonChange struct {
	Address           string         `json:"address"`
	Type              string         `json:"type"`
	Cloud             string         `json:"cloud"`
	Action            Action         `json:"action"`
	Reason            string         `json:"reason,omitempty"`
	Attributes        []AttrChange   `json:"attributes"`
	Notes             []string       `json:"notes"`
	DependsOn         []string       `json:"depends_on"`
	Blocked           string         `json:"blocked,omitempty"`
	After             map[string]any `json:"after,omitempty"`
	Prior             *jsonPrior     `json:"prior,omitempty"`
	ResourceDependsOn []string       `json:"resource_depends_on"`
	StateOnly         bool           `json:"state_only"`
	Sensitive         []string       `json:"sensitive_attributes"`
	Cost              *Cost          `json:"cost"`
	MovedFrom         string         `json:"moved_from,omitempty"`
	ImportID          string         `json:"import_id,omitempty"`
	// Adopt: found by its tags, missing from the state file; apply records it.
	Adopt bool `json:"adopt"`
	// ClaimLegacy: made before state identity; apply tags it with this state's.
	ClaimLegacy bool          `json:"claim_legacy"`
	Generation  int           `json:"generation,omitempty"`
	ReplaceMode string        `json:"replace_mode,omitempty"`
	Deposed     []jsonDeposed `json:"deposed,omitempty"`
}

// jsonDeposed is an older generation apply deletes after the change.
type jsonDeposed struct {
	Generation int      `json:"generation"`
	IDs        []string `json:"ids"`
}

type jsonPrior struct {
	Address    string         `json:"address"`
	IDs        []string       `json:"ids"`
	Attributes map[string]any `json:"attributes"`
}

// WriteJSON renders the plan as JSON (schema: docs/plan-json.md, versioned by
// format_version). No-ops are included so consumers see every resource.
// Sensitive values are redacted.
func WriteJSON(w io.Writer, p *Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(publicJSON(Redacted(p)))
}

func publicJSON(p *Plan) jsonPlan {
	out := jsonPlan{
		FormatVersion: FormatVersion, Workspace: p.Workspace, Lineage: p.Lineage, Serial: p.Serial,
		SpecHash: p.SpecHash, Destroy: p.Destroy, Complete: p.Complete(), Gaps: nonNil(p.Gaps),
		Lint:    jsonLint{Skipped: p.LintSkipped, Errors: p.LintErrors(), Findings: nonNil(p.Findings)},
		Summary: p.Summary, Targets: nonNil(p.Targets), Cost: p.Cost, Changes: make([]jsonChange, 0, len(p.Changes)),
		Foreign: nonNil(p.Foreign),
	}
	for _, c := range p.Changes {
		jc := jsonChange{
			Address: c.Address, Type: c.Type, Cloud: c.Cloud, Action: c.Action, Reason: c.Why(),
			Attributes: nonNil(c.Attrs), Notes: nonNil(c.Notes), DependsOn: nonNil(c.DependsOn), Blocked: c.Blocked,
			After: c.After, ResourceDependsOn: nonNil(c.ResourceDependsOn), StateOnly: c.StateOnly, Sensitive: nonNil(c.Sensitive),
			MovedFrom: c.MovedFrom, ImportID: c.ImportID, Adopt: c.Adopt, ClaimLegacy: c.ClaimLegacy,
			Cost: c.Cost, Generation: c.Generation, ReplaceMode: c.ReplaceMode,
		}
		for _, d := range c.Deposed {
			jc.Deposed = append(jc.Deposed, jsonDeposed{Generation: d.Generation, IDs: nonNil(d.IDs)})
		}
		if c.Prior != nil {
			jc.Prior = &jsonPrior{Address: c.Prior.Address, IDs: nonNil(c.Prior.IDs), Attributes: c.Prior.Attrs}
		}
		out.Changes = append(out.Changes, jc)
	}
	return out
}

// nonNil makes absent lists encode as [] for consumers that index them.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Redacted returns a copy of the plan with sensitive values replaced, for
// anything that is printed (saved plan files keep the values: apply needs them).
func Redacted(p *Plan) *Plan {
	out := *p
	out.Changes = make([]*Change, len(p.Changes))
	for i, c := range p.Changes {
		priorSensitive := c.Sensitive
		if c.Prior != nil {
			priorSensitive = append(slices.Clone(c.Sensitive), c.Prior.Sensitive...)
		}
		if len(priorSensitive) == 0 && !slices.ContainsFunc(c.Attrs, func(a AttrChange) bool { return a.Sensitive }) {
			out.Changes[i] = c
			continue
		}
		cc := *c
		cc.Attrs = append([]AttrChange{}, c.Attrs...)
		for j := range cc.Attrs {
			if cc.Attrs[j].Sensitive {
				cc.Attrs[j].Before, cc.Attrs[j].After = redactedIf(cc.Attrs[j].Before), redactedIf(cc.Attrs[j].After)
			}
		}
		cc.After = redactMap(c.After, c.Sensitive)
		if c.Prior != nil {
			pr := *c.Prior
			pr.Attrs = redactMap(c.Prior.Attrs, priorSensitive)
			cc.Prior = &pr
		}
		out.Changes[i] = &cc
	}
	return &out
}

func redactedIf(v any) any {
	if v == nil {
		return nil
	}
	return sensitiveValue
}

func redactMap(m map[string]any, sensitive []string) state.Attrs {
	if m == nil {
		return nil
	}
	out := make(state.Attrs, len(m))
	for k, v := range m {
		out[k] = v
	}
	for _, k := range sensitive {
		if _, ok := out[k]; ok {
			out[k] = sensitiveValue
		}
	}
	return out
}
