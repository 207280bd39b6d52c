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
	// Foreign are passed through to the plan: objects not this state's.
	Foreign []Foreign
	// ClaimLegacy lists addresses whose observed objects carry no state tag
	// but which this state records: they are its own.
	ClaimLegacy map[string]bool
	// Moves re-address resources (moved blocks, state mv): the objects of
	// From become To's, re-tagged by apply.
	Moves []MoveSpec
	// Imports are objects made outside skyplan that import blocks adopt, by
	// address (read, not owned, by the providers).
	Imports map[string]*state.Resource
}

// PrivateImportID is the Private key of an imported resource that holds the
// ID its import names (what apply's provider looks the object up by).
const PrivateImportID = "import_id"

// MoveSpec is one `moved { from = … to = … }` (or a pending state mv).
type MoveSpec struct {
	From, To string
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
	observed, deposed, err := splitGenerations(in.Observed, priorByAddr)
	if err != nil {
		return nil, err
	}
	movedFrom, err := applyMoves(in.Moves, priorByAddr, observed, deposed)
	if err != nil {
		return nil, err
	}
	var changes []*Change
	for _, r := range in.Desired {
		if in.Destroy {
			break
		}
		c, err := diffResource(r, in, priorByAddr[r.Address()], observed[r.Address()], movedFrom[r.Address()], deposed[r.Address()])
		if err != nil {
			return nil, err
		}
		settleDeposed(c, deposed[r.Address()])
		changes = append(changes, c)
	}
	// Everything known (state or tags) but no longer desired is deleted.
	gone := map[string]bool{}
	for addr := range priorByAddr {
		if desired[addr] == nil {
			gone[addr] = true
		}
	}
	for addr := range observed {
		if desired[addr] == nil {
			gone[addr] = true
		}
	}
	for _, addr := range slices.Sorted(maps.Keys(gone)) {
		c := deleteChange(addr, in, priorByAddr[addr], observed[addr])
		c.MovedFrom = movedFrom[addr]
		settleDeposed(c, deposed[addr])
		changes = append(changes, c)
	}
	if err := refuseRenames(changes); err != nil {
		return nil, err
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
		Foreign:       in.Foreign,
	}, nil
}

// splitGenerations picks, per address, the observed generation the plan
// diffs: the one state records (or an interrupted create intended), else
// the newest. The others are deposed: left by a replacement that was
// interrupted or could not delete the old generation. Two objects of one
// generation at one address are an error.
func splitGenerations(observed []*state.Resource, prior map[string]*state.Resource) (map[string]*state.Resource, map[string][]*state.Resource, error) {
	byAddr := map[string][]*state.Resource{}
	for _, o := range observed {
		for _, prev := range byAddr[o.Address] {
			if prev.Generation == o.Generation {
				return nil, nil, fmt.Errorf("%s was found twice in the clouds (on %s and %s); remove the stray copy's skyplan tags", o.Address, prev.Cloud, o.Cloud)
			}
		}
		byAddr[o.Address] = append(byAddr[o.Address], o)
	}
	current := make(map[string]*state.Resource, len(byAddr))
	deposed := map[string][]*state.Resource{}
	for addr, gens := range byAddr {
		slices.SortFunc(gens, func(a, b *state.Resource) int { return a.Generation - b.Generation })
		pick := len(gens) - 1
		if pr := prior[addr]; pr != nil {
			if i := slices.IndexFunc(gens, func(o *state.Resource) bool { return o.Generation == pr.Generation }); i >= 0 {
				pick = i
			}
		}
		current[addr] = gens[pick]
		if len(gens) > 1 {
			deposed[addr] = slices.Delete(slices.Clone(gens), pick, pick+1)
		}
	}
	return current, deposed, nil
}

// settleDeposed gives a change the deposed generations of its address to
// delete after it succeeds; a change that would do nothing becomes an
// update that only does that.
func settleDeposed(c *Change, deposed []*state.Resource) {
	if len(deposed) == 0 {
		return
	}
	c.Deposed = deposed
	var gens []string
	for _, d := range deposed {
		gens = append(gens, fmt.Sprintf("generation %d (%s)", d.Generation, ShortList(d.IDs, 3)))
	}
	what := fmt.Sprintf("an interrupted replacement left %s of %s in the cloud", strings.Join(gens, ", "), c.Address)
	if c.Action == NoOp {
		c.Action, c.StateOnly, c.Adopt = Update, true, false
		c.Reason = fmt.Sprintf("%s; apply deletes it, generation %d stays as it is", what, c.Generation)
		return
	}
	c.Notes = append(c.Notes, what+"; apply deletes it once this change succeeds")
}

// applyMoves re-addresses the prior and observed resources of each move, so
// the rest of the plan sees them under their new address; it returns, per
// new address, the old one. A move whose source is gone (done already) is
// skipped; one onto an address that has objects of its own is an error.
func applyMoves(moves []MoveSpec, prior, observed map[string]*state.Resource, deposed map[string][]*state.Resource) (map[string]string, error) {
	from := map[string]string{}
	for _, m := range moves {
		pr, ob := prior[m.From], observed[m.From]
		if pr == nil && ob == nil {
			continue
		}
		if to := prior[m.To]; (to != nil && to.MovedFrom != m.From) || observed[m.To] != nil {
			return nil, fmt.Errorf("cannot move %s to %s: %s already exists; remove one of them first (skyplan state rm, or destroy)", m.From, m.To, m.To)
		}
		for _, byAddr := range []map[string]*state.Resource{prior, observed} {
			if r := byAddr[m.From]; r != nil {
				moved := *r
				moved.Address = m.To
				byAddr[m.To] = &moved
				delete(byAddr, m.From)
			}
		}
		if d, ok := deposed[m.From]; ok {
			deposed[m.To] = d
			delete(deposed, m.From)
		}
		from[m.To] = m.From
	}
	return from, nil
}

// refuseRenames stops a plan that would delete an object under one address
// and create the same object (a bucket name is the object) under another:
// run in parallel, the delete would empty and remove what the create
// expects to find. A moved block says what was meant.
func refuseRenames(changes []*Change) error {
	deleted := map[string]*Change{}
	for _, c := range changes {
		if (c.Action == Delete || c.Action == Replace) && c.Type == spec.TypeBucket && c.Prior != nil {
			if name := c.Prior.Attrs.String("name"); name != "" {
				deleted[c.Cloud+"/"+name] = c
			}
		}
	}
	for _, c := range changes {
		if c.Action != Create || c.Type != spec.TypeBucket {
			continue
		}
		name := state.Attrs(c.After).String("name")
		if d := deleted[c.Cloud+"/"+name]; d != nil && d.Address != c.Address {
			return fmt.Errorf("%s would create bucket %q while %s deletes it — the same bucket: to rename, add\n  moved {\n    from = %s\n    to   = %s\n  }\nor give %s another name", c.Address, name, d.Address, d.Address, c.Address, c.Address)
		}
	}
	return nil
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
	merged := &state.Resource{Address: obs.Address, Type: obs.Type, Cloud: obs.Cloud, IDs: obs.IDs, Generation: obs.Generation,
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

func diffResource(r *spec.Resource, in Input, pr, obs *state.Resource, movedFrom string, deposed []*state.Resource) (*Change, error) {
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

	c.MovedFrom = movedFrom
	c.ClaimLegacy = in.ClaimLegacy[addr]
	// An intent is not an object: it tells the create to come what an
	// interrupted apply may have left behind.
	var intent *state.Resource
	if pr != nil && pr.Pending != "" {
		intent, pr = pr, nil
	}
	// A resource with no objects at all (nodes = 0) cannot have been deleted.
	drifted := pr != nil && obs == nil && in.ObservedClouds[pr.Cloud] && len(pr.IDs) > 0
	cur := current(pr, obs)
	if drifted {
		cur = nil
	}
	imported := in.Imports[addr]
	if cur == nil && imported != nil {
		cur = imported
		c.ImportID = imported.Private[PrivateImportID]
	}
	c.Adopt = obs != nil && pr == nil
	if cur == nil {
		c.Action = Create
		c.Prior = intent
		if intent != nil {
			c.Generation = intent.Generation // what the interrupted create was making
		}
		c.Notes = append(c.Notes, candidateNotes(after)...)
		switch {
		case intent != nil:
			c.Reason = fmt.Sprintf("an earlier apply was interrupted while creating %s; apply creates it, adopting whatever that apply made", addr)
		case drifted:
			c.Reason = fmt.Sprintf("%s was deleted outside skyplan (no object with its tags on %s); it will be created again", addr, pr.Cloud)
		}
		for _, k := range slices.Sorted(maps.Keys(after)) {
			c.Attrs = append(c.Attrs, AttrChange{Name: k, After: after[k], Sensitive: c.IsSensitive(k)})
		}
		return c, nil
	}
	c.Prior = cur
	c.Generation = cur.Generation
	schema := r.Schema()
	var forcing []AttrChange
	stateOnly := true
	for _, k := range slices.Sorted(maps.Keys(after)) {
		have, known := cur.Attrs[k]
		if k == "cloud" && !known {
			have, known = cur.Cloud, true
		}
		if !known || Equal(after[k], have) || isCandidate(after, k, have) {
			continue
		}
		// A value recorded as sensitive stays hidden even if the spec no longer marks it.
		ac := AttrChange{Name: k, Before: have, After: after[k], Sensitive: c.IsSensitive(k) || slices.Contains(cur.Sensitive, k)}
		if as, ok := schema.Attr(k); ok {
			if as.ForceNew {
				ac.ForcesReplacement, ac.Reason = true, as.Reason
				if list := candidates(after, k); len(list) > 0 {
					ac.Reason = fmt.Sprintf("%s is not one of the candidates (%s); the whole resource moves to a candidate", FormatValue(have), strings.Join(list, ", "))
				}
				forcing = append(forcing, ac)
			}
			stateOnly = stateOnly && as.StateOnly
		} else {
			stateOnly = false
		}
		c.Attrs = append(c.Attrs, ac)
	}
	switch {
	case len(forcing) > 0 && (movedFrom != "" || c.ImportID != ""):
		what := "move " + movedFrom + " to " + addr
		if c.ImportID != "" {
			what = "import " + c.ImportID + " as " + addr
		}
		return nil, fmt.Errorf("cannot %s and replace it in one plan (%s); make the spec match the object first, apply, then change it", what, replaceReason(forcing))
	case len(forcing) > 0:
		c.Action = Replace
		c.Reason = replaceReason(forcing)
		if !r.AllowReplace && !in.AllowReplace[addr] && r.Type == spec.TypeJobsController {
			c.Blocked = fmt.Sprintf("replacing %s loses its managed jobs; re-run with --allow-replace %s or set lifecycle { allow_replace = true }", addr, addr)
		}
		c.Generation = nextGeneration(cur, deposed, intent)
		var note string
		c.ReplaceMode, note = replaceMode(r, cur.Generation, c.Generation)
		c.Notes = append(c.Notes, note)
		c.Notes = append(c.Notes, candidateNotes(after)...)
	case c.ImportID != "":
		c.Action, c.Adopt = Import, false
		c.Reason = fmt.Sprintf("import: %s (made outside skyplan) becomes %s; apply tags it with this state's ownership", c.ImportID, addr)
		if len(c.Attrs) > 0 {
			c.Reason += " and updates it in place"
		}
	case movedFrom != "" && len(c.Attrs) == 0:
		c.Action = Move
		c.Reason = fmt.Sprintf("moved from %s; apply re-tags its objects with the new address, nothing else changes", movedFrom)
	case len(c.Attrs) > 0:
		c.Action = Update
		c.StateOnly = stateOnly && movedFrom == "" && !c.ClaimLegacy
		if c.StateOnly {
			c.Reason = "only skyplan's own settings change; nothing in the cloud is touched"
		}
		if movedFrom != "" {
			c.Reason = fmt.Sprintf("moved from %s and updated in place", movedFrom)
		}
	case c.ClaimLegacy:
		c.Action = Update
		c.Reason = fmt.Sprintf("%s was made before skyplan tagged objects with their state; apply tags it with this state's identity (%s), nothing else changes", addr, "skyplan-state")
	default:
		c.Action = NoOp
		// Objects found by their tags that the state file lacks (or lists,
		// though they are gone): an apply killed before its save made or
		// removed them, and nothing else would record what is there.
		if pr != nil && obs != nil && !sameIDs(pr.IDs, obs.IDs) {
			c.Adopt = true
		}
		switch {
		case c.Adopt && pr == nil:
			c.Reason = "found by its tags but not in the state file (an interrupted apply made it); apply records it"
		case c.Adopt:
			c.Reason = fmt.Sprintf("its objects found by their tags (%s) are not those the state file lists (%s): an interrupted apply changed them; apply records them",
				ShortList(obs.IDs, 5), ShortList(pr.IDs, 5))
		}
	}
	if c.Action == Update {
		c.Notes = append(c.Notes, scaleUpNote(c, cur)...)
	}
	return c, nil
}

// candidates are the placement candidates an attribute may take: zones for
// zone, regions for region (nil when the spec names one place).
func candidates(after map[string]any, attr string) []string {
	switch attr {
	case "zone", "region":
		if list := state.Attrs(after).StringList(attr + "s"); len(list) > 1 {
			return list
		}
	}
	return nil
}

// isCandidate reports whether a placement attribute's current value is one
// of the spec's candidates: a resource that landed in its second zone
// satisfies the spec as well as one in the first.
func isCandidate(after map[string]any, attr string, have any) bool {
	v, ok := have.(string)
	return ok && slices.Contains(candidates(after, attr), v)
}

// candidateNotes show, for a launch, the order apply tries the candidates in.
func candidateNotes(after map[string]any) []string {
	list := candidates(after, "zone")
	if len(list) == 0 {
		list = candidates(after, "region")
	}
	if len(list) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("placement candidates, tried in this order on capacity and quota errors: %s (the cost shown is %s's)", strings.Join(list, ", "), list[0])}
}

// scaleUpNote says where new nodes of a cluster with candidates launch:
// where its nodes run (a cluster's nodes share one zone), never elsewhere.
func scaleUpNote(c *Change, cur *state.Resource) []string {
	zone := cur.Attrs.String("zone")
	hasCandidates := len(candidates(c.After, "zone")) > 0 || len(candidates(c.After, "region")) > 0
	before, _ := cur.Attrs.Int("nodes")
	after, _ := state.Attrs(c.After).Int("nodes")
	if !hasCandidates || zone == "" || after <= before {
		return nil
	}
	return []string{fmt.Sprintf("new nodes launch in %s, where the cluster runs (its nodes share one zone); if %s has no capacity, apply says so and leaves the running nodes as they are", zone, zone)}
}

// nextGeneration numbers a replacement: above every generation known at the
// address, so its objects are never confused with any of them.
func nextGeneration(cur *state.Resource, deposed []*state.Resource, intent *state.Resource) int {
	n := cur.Generation
	for _, d := range deposed {
		n = max(n, d.Generation)
	}
	if intent != nil {
		n = max(n, intent.Generation)
	}
	return n + 1
}

// replaceMode decides how a replacement runs, with the plan's note on it.
// Clusters and controllers are created before the old one is deleted: the
// new generation has its own tags (and instance names), so both can exist.
func replaceMode(r *spec.Resource, old, next int) (mode, note string) {
	switch {
	case r.Type != spec.TypeCluster && r.Type != spec.TypeJobsController:
		why := "only one can exist at a time"
		if r.Type == spec.TypeBucket {
			why = "buckets always are: a replacement usually reuses the name"
		}
		return ReplaceDeleteThenCreate, fmt.Sprintf("delete-then-create (%s): the old one is deleted first; if creating the new one fails, neither exists until the next apply", why)
	case r.DestroyBeforeCreate:
		return ReplaceDeleteThenCreate, fmt.Sprintf("delete-then-create (lifecycle { create_before_destroy = false }): the old one (generation %d) is deleted first; if the cloud then refuses the new one (generation %d), neither runs until the next apply", old, next)
	}
	return ReplaceCreateBeforeDestroy, fmt.Sprintf("create-before-destroy: the new one (generation %d) is created and running before the old one (generation %d) is deleted; if the cloud refuses it (capacity, quota), the old one keeps running", next, old)
}

// sameIDs reports whether two lists hold the same object IDs, in any order.
func sameIDs(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
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
	c := &Change{Address: addr, Type: cur.Type, Cloud: cur.Cloud, Action: Delete, Prior: cur, Sensitive: cur.Sensitive, Generation: cur.Generation}
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
