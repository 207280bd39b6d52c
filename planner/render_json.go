package planner

import (
	"encoding/json"
	"io"
	"slices"
)

// WriteJSON renders the plan as JSON (schema: docs/plan-json.md, versioned by
// format_version). No-ops are included so consumers see every resource.
func WriteJSON(w io.Writer, p *Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Redacted(p))
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

func redactMap(m map[string]any, sensitive []string) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
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
