package planner

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// Input is everything a plan is computed from.
type Input struct {
	Workspace string
	SpecHash  string
	Desired   []*spec.Resource
	// Expanded replaces a resource's desired attributes (providers' Expand).
	Expanded map[string]Expansion
	// Observed are the owned objects found in the clouds, grouped by address.
	Observed []*state.Resource
	// ObservedClouds are the clouds Observed covers; a state entry on such a
	// cloud with no observed object was deleted outside skyplan.
	ObservedClouds map[string]bool
	Prior          *state.State
	// Destroy plans the deletion of everything.
	Destroy bool
	// AllowReplace lists addresses whose replacement is allowed from the CLI.
	AllowReplace map[string]bool
	// Gaps are passed through to the plan: what could not be observed.
	Gaps []Gap
}

// Expansion is a provider's view of a resource's desired attributes.
type Expansion struct {
	Attrs map[string]any
	Notes []string
}

// Make computes the plan.
func Make(in Input) (*Plan, error) {
	prior := in.Prior
	if prior == nil {
		prior = state.New(in.Workspace)
	}
	observed := map[string]*state.Resource{}
	for _, o := range in.Observed {
		if prev, dup := observed[o.Address]; dup {
			return nil, fmt.Errorf("%s was found twice in the clouds (on %s and %s); remove the stray copy's skyplan tags", o.Address, prev.Cloud, o.Cloud)
		}
		observed[o.Address] = o
	}
	desired := map[string]*spec.Resource{}
	if !in.Destroy {
		for _, r := range in.Desired {
			desired[r.Address()] = r
		}
	}

	// Indexed once: state.Resource scans, and a plan looks up every address.
	priorByAddr := make(map[string]*state.Resource, len(prior.Resources))
	for _, pr := range prior.Resources {
		if _, dup := priorByAddr[pr.Address]; !dup {
			priorByAddr[pr.Address] = pr
		}
	}
	var changes []*Change
	for _, r := range in.Desired {
		if in.Destroy {
			break
		}
		c := diffResource(r, in, priorByAddr[r.Address()], observed[r.Address()])
		changes = append(changes, c)
	}
	// Everything known (state or tags) but no longer desired is deleted.
	gone := map[string]bool{}
	for _, pr := range prior.Resources {
		if desired[pr.Address] == nil {
			gone[pr.Address] = true
		}
	}
	for addr := range observed {
		if desired[addr] == nil {
			gone[addr] = true
		}
	}
	for _, addr := range slices.Sorted(maps.Keys(gone)) {
		changes = append(changes, deleteChange(addr, in, priorByAddr[addr], observed[addr]))
	}

	if err := order(changes); err != nil {
		return nil, err
	}
	sortChanges(changes)
	return &Plan{
		FormatVersion: FormatVersion,
		Workspace:     in.Workspace,
		Lineage:       prior.Lineage,
		Serial:        prior.Serial,
		SpecHash:      in.SpecHash,
		Destroy:       in.Destroy,
		Summary:       summarize(changes),
		Changes:       changes,
		Gaps:          in.Gaps,
	}, nil
}

// current merges state and observation; observation wins where it reports.
func current(pr, obs *state.Resource) *state.Resource {
	switch {
	case pr == nil && obs == nil:
		return nil
	case pr == nil:
		return obs
	case obs == nil:
		return pr
	}
	merged := &state.Resource{Address: obs.Address, Type: obs.Type, Cloud: obs.Cloud, IDs: obs.IDs,
		Attrs: map[string]any{}, Private: map[string]string{}, DependsOn: pr.DependsOn, Sensitive: pr.Sensitive}
	for k, v := range pr.Attrs {
		merged.Attrs[k] = v
	}
	for k, v := range obs.Attrs {
		merged.Attrs[k] = v
	}
	for k, v := range pr.Private {
		merged.Private[k] = v
	}
	for k, v := range obs.Private {
		merged.Private[k] = v
	}
	return merged
}

func diffResource(r *spec.Resource, in Input, pr, obs *state.Resource) *Change {
	addr := r.Address()
	after := r.Attrs
	var notes []string
	if ex, ok := in.Expanded[addr]; ok {
		after, notes = ex.Attrs, ex.Notes
	}
	c := &Change{Address: addr, Type: r.Type, Cloud: r.Cloud(), After: after, Notes: notes, ResourceDependsOn: r.DependsOn,
		Sensitive: slices.Sorted(maps.Keys(r.Sensitive))}
	if len(c.Sensitive) == 0 {
		c.Sensitive = nil
	}

	drifted := pr != nil && obs == nil && in.ObservedClouds[pr.Cloud]
	cur := current(pr, obs)
	if drifted {
		cur = nil
	}
	if cur == nil {
		c.Action = Create
		if drifted {
			c.Reason = fmt.Sprintf("%s was deleted outside skyplan (no object with its tags on %s); it will be created again", addr, pr.Cloud)
		}
		for _, k := range slices.Sorted(maps.Keys(after)) {
			c.Attrs = append(c.Attrs, AttrChange{Name: k, After: after[k], Sensitive: c.IsSensitive(k)})
		}
		return c
	}
	c.Prior = cur
	schema := r.Schema()
	var forcing []AttrChange
	stateOnly := true
	for _, k := range slices.Sorted(maps.Keys(after)) {
		have, known := cur.Attrs[k]
		if k == "cloud" && !known {
			have, known = cur.Cloud, true
		}
		if !known || Equal(after[k], have) {
			continue
		}
		// A value recorded as sensitive stays hidden even if the spec no longer marks it.
		ac := AttrChange{Name: k, Before: have, After: after[k], Sensitive: c.IsSensitive(k) || slices.Contains(cur.Sensitive, k)}
		if as, ok := schema.Attr(k); ok {
			if as.ForceNew {
				ac.ForcesReplacement, ac.Reason = true, as.Reason
				forcing = append(forcing, ac)
			}
			stateOnly = stateOnly && as.StateOnly
		} else {
			stateOnly = false
		}
		c.Attrs = append(c.Attrs, ac)
	}
	switch {
	case len(forcing) > 0:
		c.Action = Replace
		c.Reason = replaceReason(forcing)
		if !r.AllowReplace && !in.AllowReplace[addr] && r.Type == spec.TypeJobsController {
			c.Blocked = fmt.Sprintf("replacing %s loses its managed jobs; re-run with --allow-replace %s or set lifecycle { allow_replace = true }", addr, addr)
		}
	case len(c.Attrs) > 0:
		c.Action = Update
		c.StateOnly = stateOnly
		if stateOnly {
			c.Reason = "only skyplan's own settings change; nothing in the cloud is touched"
		}
	default:
		c.Action = NoOp
	}
	return c
}

func replaceReason(forcing []AttrChange) string {
	parts := make([]string, len(forcing))
	for i, f := range forcing {
		parts[i] = fmt.Sprintf("%s %s → %s", f.Name, FormatValue(f.Before), FormatValue(f.After))
		if f.Sensitive {
			parts[i] = f.Name + " (sensitive value)"
		}
	}
	verb := "forces"
	if len(parts) > 1 {
		verb = "force"
	}
	return fmt.Sprintf("%s %s replacement; %s", strings.Join(parts, ", "), verb, forcing[0].Reason)
}

func deleteChange(addr string, in Input, pr, obs *state.Resource) *Change {
	cur := current(pr, obs)
	c := &Change{Address: addr, Type: cur.Type, Cloud: cur.Cloud, Action: Delete, Prior: cur, Sensitive: cur.Sensitive}
	switch {
	case in.Destroy:
		c.Reason = "destroy requested"
	case pr != nil && obs == nil && in.ObservedClouds[pr.Cloud]:
		c.Reason = "already deleted outside skyplan; it will be removed from state"
	case pr == nil:
		c.Reason = fmt.Sprintf("found on %s with workspace %q's ownership tags but in neither the spec nor state", cur.Cloud, in.Workspace)
	default:
		c.Reason = "no longer in the spec"
	}
	for _, k := range slices.Sorted(maps.Keys(cur.Attrs)) {
		c.Attrs = append(c.Attrs, AttrChange{Name: k, Before: cur.Attrs[k], Sensitive: c.IsSensitive(k)})
	}
	return c
}

// Equal compares attribute values, treating null and empty collections alike
// and ignoring numeric representation.
func Equal(a, b any) bool {
	a, b = state.NormalizeValue(a), state.NormalizeValue(b)
	if isEmpty(a) && isEmpty(b) {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case []string:
		return len(x) == 0
	case map[string]string:
		return len(x) == 0
	}
	return false
}
