// Package state holds what skyplan knows it manages: a versioned JSON
// document with a lineage (one per state history), a serial (bumped on every
// write) and one entry per resource address with provider IDs and attributes.
//
// The same Resource type carries what providers observe in the clouds, so the
// planner compares like with like.
package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Version is the state file format version this build writes.
const Version = 1

// State is the whole state document.
type State struct {
	Version   int         `json:"version"`
	Lineage   string      `json:"lineage"`
	Serial    uint64      `json:"serial"`
	Workspace string      `json:"workspace"`
	Resources []*Resource `json:"resources"`
}

// Resource is one managed resource (or, from a provider, one observed one).
type Resource struct {
	Address string `json:"address"`
	Type    string `json:"type"`
	Cloud   string `json:"cloud"`
	// IDs are the provider's object IDs (instance IDs, bucket name, node names).
	IDs []string `json:"ids,omitempty"`
	// Attrs use the spec's attribute names; values are string, int64, bool,
	// []string or map[string]string.
	Attrs Attrs `json:"attributes"`
	// Private is provider bookkeeping that is not part of the spec (e.g. the
	// config hash delivered to a controller, per-node details).
	Private map[string]string `json:"private,omitempty"`
	// DependsOn is recorded so deletes can run in reverse dependency order
	// after the spec that declared the edges is gone.
	DependsOn []string `json:"depends_on,omitempty"`
	// Sensitive names attributes whose values must never be printed.
	Sensitive []string `json:"sensitive_attributes,omitempty"`
	// Pending marks an intent: apply recorded it before asking the cloud to
	// create the object, so a crash before the result is saved leaves a
	// trace the next run completes (adopting what was made) instead of an
	// orphan. Empty once the result is recorded.
	Pending string `json:"pending,omitempty"`
	// MovedFrom is the address this resource's objects are still tagged
	// with after `skyplan state mv`; the next apply re-tags them.
	MovedFrom string `json:"moved_from,omitempty"`
	// Generation tells the objects of a replacement from those it replaces
	// while both exist (create-before-destroy): 0 for the first, untagged;
	// each replacement's objects carry the next number in a tag.
	Generation int `json:"generation,omitempty"`
	// StateID is, on an observed resource, the lineage its objects are
	// tagged with ("" for objects made before skyplan tagged it). Not saved.
	StateID string `json:"-"`
}

// PendingCreate is Resource.Pending of a create in flight.
const PendingCreate = "create"

// New returns an empty state with a fresh lineage.
func New(workspace string) *State {
	return &State{Version: Version, Lineage: uuid.NewString(), Workspace: workspace}
}

// Resource returns the entry for an address, or nil.
func (s *State) Resource(addr string) *Resource {
	for _, r := range s.Resources {
		if r.Address == addr {
			return r
		}
	}
	return nil
}

// Set inserts or replaces an entry, keeping address order.
func (s *State) Set(r *Resource) {
	for i, have := range s.Resources {
		if have.Address == r.Address {
			s.Resources[i] = r
			return
		}
	}
	// Inserted in place rather than appended and re-sorted: apply calls Set
	// after every step, and a sort each time made applying n resources
	// O(n² log n).
	if !slices.IsSortedFunc(s.Resources, byAddress) {
		slices.SortFunc(s.Resources, byAddress)
	}
	i, _ := slices.BinarySearchFunc(s.Resources, r.Address, func(have *Resource, addr string) int { return strings.Compare(have.Address, addr) })
	s.Resources = slices.Insert(s.Resources, i, r)
}

func byAddress(a, b *Resource) int { return strings.Compare(a.Address, b.Address) }

// Remove deletes the entry for an address.
func (s *State) Remove(addr string) {
	for i, have := range s.Resources {
		if have.Address == addr {
			s.Resources = append(s.Resources[:i], s.Resources[i+1:]...)
			return
		}
	}
}

// Clone returns a deep copy (through JSON, which is the state's own form).
func (s *State) Clone() *State {
	b, err := Marshal(s)
	if err != nil {
		panic(err) // state holds only JSON-safe values
	}
	out, err := Unmarshal(b)
	if err != nil {
		panic(err)
	}
	return out
}

// Marshal encodes state as indented JSON.
func Marshal(s *State) ([]byte, error) {
	if s.Resources == nil { // "resources": [] rather than null, without touching the caller's value
		cp := *s
		cp.Resources = []*Resource{}
		s = &cp
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Unmarshal decodes and normalises a state document.
func Unmarshal(b []byte) (*State, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var s State
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("state is not valid JSON: %w", err)
	}
	if s.Version > Version {
		return nil, fmt.Errorf("state version %d was written by a newer skyplan (this one reads up to %d)", s.Version, Version)
	}
	if s.Lineage == "" {
		return nil, fmt.Errorf("state has no lineage")
	}
	for _, r := range s.Resources {
		r.Attrs = NormalizeAttrs(r.Attrs)
	}
	return &s, nil
}

// NormalizeAttrs converts JSON-decoded values (json.Number, []any,
// map[string]any) into the attribute value types.
func NormalizeAttrs(in map[string]any) Attrs {
	out := make(Attrs, len(in))
	for k, v := range in {
		out[k] = NormalizeValue(v)
	}
	return out
}

// NormalizeValue converts one JSON-decoded value; see NormalizeAttrs.
func NormalizeValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return int64(f)
	case float64:
		return int64(x)
	case int:
		return int64(x)
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	case map[string]any:
		out := make(map[string]string, len(x))
		for k, e := range x {
			out[k] = fmt.Sprint(e)
		}
		return out
	}
	return v
}
