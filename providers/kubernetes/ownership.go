package kubernetes

import (
	"encoding/json"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// OwnershipAnnotation records, on each node, the labels skyplan set there and
// for whom, so destroy removes exactly those and nothing a human or another
// controller set. Its value is JSON: label key → owner, e.g.
//
//	{"skypilot.co/accelerator":{"workspace":"prod","address":"gpu_label_policy.eks"}}
const OwnershipAnnotation = "skyplan.dev/owned-labels"

// CLIOwnerAddress marks labels set by `skyplan k8s label-gpus` rather than by a
// policy; a gpu_label_policy may adopt them.
const CLIOwnerAddress = "skyplan k8s label-gpus"

// Owner is who set a label.
type Owner struct {
	Workspace string `json:"workspace,omitempty"`
	Address   string `json:"address"`
	// State is the lineage of the state whose policy set the label; empty on
	// labels set before skyplan recorded it (they stay the policy's).
	State string `json:"state,omitempty"`
	// Replaced is the value the label had before skyplan overwrote it
	// (overwrite = true); destroy restores it. Nil when the label was absent.
	Replaced *string `json:"replaced,omitempty"`
}

// Same reports whether two owners are the same policy (or both the CLI).
func (o Owner) Same(other Owner) bool {
	sameState := o.State == other.State || o.State == "" || other.State == ""
	return o.Address == other.Address && (o.Address == CLIOwnerAddress || o.Workspace == other.Workspace && sameState)
}

func (o Owner) String() string {
	if o.Address == CLIOwnerAddress {
		return "`" + CLIOwnerAddress + "`"
	}
	return fmt.Sprintf("%s in workspace %q", o.Address, o.Workspace)
}

// CLIOwner is the owner recorded by `skyplan k8s label-gpus`.
func CLIOwner() Owner { return Owner{Address: CLIOwnerAddress} }

// Ownership is a node's decoded annotation.
type Ownership map[string]Owner

// NodeOwnership decodes a node's ownership annotation (empty when absent).
func NodeOwnership(n *corev1.Node) (Ownership, error) {
	raw, ok := n.Annotations[OwnershipAnnotation]
	if !ok || raw == "" {
		return Ownership{}, nil
	}
	var o Ownership
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		return nil, fmt.Errorf("node %s: annotation %s is not skyplan's JSON (%v); fix or remove it by hand", n.Name, OwnershipAnnotation, err)
	}
	if o == nil {
		o = Ownership{}
	}
	return o, nil
}

// KeysOwnedBy lists the label keys an owner holds, sorted.
func (o Ownership) KeysOwnedBy(owner Owner) []string {
	var out []string
	for k, v := range o {
		if v.Same(owner) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// encode returns the annotation value, or nil when nothing is owned (the
// annotation is then removed).
func (o Ownership) encode() *string {
	if len(o) == 0 {
		return nil
	}
	b, err := json.Marshal(map[string]Owner(o))
	if err != nil {
		panic(err) // plain strings only
	}
	s := string(b)
	return &s
}

func (o Ownership) clone() Ownership {
	out := make(Ownership, len(o))
	for k, v := range o {
		out[k] = v
	}
	return out
}
