package providers

import (
	"errors"
	"strconv"

	"github.com/skyplan/skyplan/state"
)

// Owner is who an object belongs to: the state that made it (its lineage),
// the workspace and the resource address. Every object skyplan creates
// carries all three as tags (labels on GCP), so two states — two spec
// directories, two teams — never take each other's objects for their own,
// whatever their workspace names, and a lost state can be rebuilt from the
// clouds (docs/decisions.md 32).
type Owner struct {
	Workspace string
	Address   string
	// StateID is the state's lineage; "" on objects made before skyplan
	// tagged state identity ("legacy" objects).
	StateID string
	// Generation tells a replacement's objects from the ones it replaces
	// (state.Resource.Generation); 0 is untagged.
	Generation int
}

// Owner is the owner an apply acts for.
func (r *ApplyRequest) Owner() Owner {
	return Owner{Workspace: r.Workspace, Address: r.Address, StateID: r.StateID, Generation: r.Generation}
}

// Tags are the AWS tags of an object this owner creates.
func (o Owner) Tags() map[string]string {
	t := map[string]string{TagManaged: "true", TagWorkspace: o.Workspace, TagAddress: o.Address}
	if o.StateID != "" {
		t[TagState] = o.StateID
	}
	if o.Generation > 0 {
		t[TagGeneration] = strconv.Itoa(o.Generation)
	}
	return t
}

// Labels are the GCP/Kubernetes-safe form of Tags.
func (o Owner) Labels() map[string]string {
	l := map[string]string{TagManaged: "true", TagWorkspace: LabelValue(o.Workspace), TagAddress: LabelValue(o.Address)}
	if o.StateID != "" {
		l[TagState] = LabelValue(o.StateID)
	}
	if o.Generation > 0 {
		l[TagGeneration] = strconv.Itoa(o.Generation)
	}
	return l
}

// OwnerOfTags reads the owner back from AWS tags; ok is false for objects
// without skyplan's tags.
func OwnerOfTags(tags map[string]string) (Owner, bool) {
	if tags[TagManaged] != "true" || tags[TagWorkspace] == "" {
		return Owner{}, false
	}
	return Owner{Workspace: tags[TagWorkspace], Address: tags[TagAddress], StateID: tags[TagState], Generation: generationOf(tags[TagGeneration])}, true
}

// OwnerOfLabels reads the owner back from GCP labels; resolve turns an
// address label into the address (labels of long addresses are cut).
func OwnerOfLabels(labels map[string]string, resolve func(string) string) (Owner, bool) {
	if labels[TagManaged] != "true" || labels[TagWorkspace] == "" {
		return Owner{}, false
	}
	return Owner{Workspace: DecodeLabelValue(labels[TagWorkspace]), Address: resolve(labels[TagAddress]), StateID: labels[TagState],
		Generation: generationOf(labels[TagGeneration])}, true
}

// generationOf reads a generation tag; a missing or malformed one is 0.
func generationOf(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// Owns reports whether an object owned by other is o's to change: the same
// workspace, address and generation, and the same state. A legacy object
// (no state tag) is o's only when legacy is true: when o's state already
// records it, which the plan decided (the next apply then tags it with o's
// state).
func (o Owner) Owns(other Owner, legacy bool) bool {
	if other.Workspace != o.Workspace || other.Address != o.Address || other.Generation != o.Generation {
		return false
	}
	return other.StateID == o.StateID || (other.StateID == "" && legacy)
}

// Owns reports whether an object owned by other is the request's to change
// (Owner.Owns, legacy objects when ClaimLegacy), also when it still carries
// the address the resource moves from.
func (r *ApplyRequest) Owns(other Owner) bool {
	o := r.Owner()
	if o.Owns(other, r.ClaimLegacy) {
		return true
	}
	o.Address = r.MovedFrom
	return r.MovedFrom != "" && o.Owns(other, r.ClaimLegacy)
}

// CompletesIntent reports whether this create finishes one an earlier,
// interrupted apply recorded (state.Resource.Pending) for an object whose
// attribute attr is value: such an object may exist without skyplan's tags
// (created, then the run died before tagging it) and is this state's to adopt.
func (r *ApplyRequest) CompletesIntent(attr, value string) bool {
	return (r.Op == OpCreate || r.Op == OpDelete) && r.Prior != nil && r.Prior.Pending == state.PendingCreate && value != "" && r.Prior.Attrs.String(attr) == value
}

// refusedError marks an apply error after which nothing was created.
type refusedError struct{ error }

func (e refusedError) Unwrap() error { return e.error }

// Refused marks err as certain: nothing was created (a spec the rulebook
// rejects, an object owned by someone else, a definite "no" before any
// create call). The executor then drops the create's intent; an uncertain
// error (a lost response, a timeout) keeps it for the next run to settle.
func Refused(err error) error {
	if err == nil || IsRefused(err) {
		return err
	}
	return refusedError{err}
}

// IsRefused reports whether err is a Refused error.
func IsRefused(err error) bool {
	var r refusedError
	return errors.As(err, &r)
}
