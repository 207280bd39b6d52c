package planner

import (
	"fmt"
	"maps"
	"slices"
)

// Diverged compares a saved plan with one made again from the same spec
// and state just before applying it, and says, per resource, where the
// clouds moved on since: a different action, or an attribute whose before
// or after value changed. No difference means applying the fresh plan does
// exactly what the saved one showed.
func Diverged(saved, fresh *Plan) []string {
	var out []string
	addrs := map[string]bool{}
	for _, c := range saved.Changes {
		addrs[c.Address] = true
	}
	for _, c := range fresh.Changes {
		addrs[c.Address] = true
	}
	for _, addr := range slices.Sorted(maps.Keys(addrs)) {
		was, now := saved.Change(addr), fresh.Change(addr)
		wasAct, nowAct := actionOf(was), actionOf(now)
		if wasAct != nowAct {
			out = append(out, fmt.Sprintf("%s: the plan showed %s, now it would %s", addr, describeAction(wasAct), describeAction(nowAct)))
			continue
		}
		if was == nil || now == nil {
			continue
		}
		if was.Blocked != now.Blocked {
			out = append(out, fmt.Sprintf("%s: apply's refusal changed: %q → %q", addr, was.Blocked, now.Blocked))
		}
		out = append(out, attrDrift(addr, was, now)...)
	}
	return out
}

func actionOf(c *Change) Action {
	if c == nil {
		return NoOp
	}
	return c.Action
}

func describeAction(a Action) string {
	if a == NoOp {
		return "no change"
	}
	return a.String()
}

// attrDrift lists attributes whose planned before/after differ.
func attrDrift(addr string, was, now *Change) []string {
	byName := func(c *Change) map[string]AttrChange {
		m := map[string]AttrChange{}
		for _, a := range c.Attrs {
			m[a.Name] = a
		}
		return m
	}
	w, n := byName(was), byName(now)
	names := map[string]bool{}
	for k := range w {
		names[k] = true
	}
	for k := range n {
		names[k] = true
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(names)) {
		a, hadA := w[name]
		b, hasB := n[name]
		sensitive := a.Sensitive || b.Sensitive || was.IsSensitive(name) || now.IsSensitive(name)
		show := func(v any) string {
			if sensitive {
				return sensitiveValue
			}
			return FormatValue(v)
		}
		switch {
		case !hadA:
			out = append(out, fmt.Sprintf("%s: %s was not in the plan, now %s → %s", addr, name, show(b.Before), show(b.After)))
		case !hasB:
			out = append(out, fmt.Sprintf("%s: the plan changed %s (%s → %s), now it already matches", addr, name, show(a.Before), show(a.After)))
		case !Equal(a.Before, b.Before):
			out = append(out, fmt.Sprintf("%s: the plan assumed %s = %s, the cloud now has %s", addr, name, show(a.Before), show(b.Before)))
		case !Equal(a.After, b.After):
			out = append(out, fmt.Sprintf("%s: the plan set %s to %s, now it would be %s", addr, name, show(a.After), show(b.After)))
		}
	}
	return out
}
