package kubernetes

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skyplan/skyplan/providers"
)

// release forgets a policy's labels without removing them (`skyplan state
// rm`): its entries leave the ownership annotation, so no policy removes or
// changes those labels any more; the labels themselves stay.
func (p *Provider) release(ctx context.Context, req providers.ApplyRequest) error {
	owner := Owner{Workspace: req.Workspace, Address: req.Address, State: req.StateID}
	cs, err := p.Client()
	if err != nil {
		return fmt.Errorf("%s: %w", req.Address, err)
	}
	nodes, err := p.nodes(ctx, false)
	if err != nil {
		return fmt.Errorf("%s: %w", req.Address, err)
	}
	defer p.forgetNodes()
	released := 0
	for _, n := range nodes {
		own, err := NodeOwnership(n)
		if err != nil {
			return err
		}
		next := own.clone()
		for _, k := range own.KeysOwnedBy(owner) {
			delete(next, k)
		}
		patch := patchBytes(n, nil, own, next)
		if patch == nil {
			continue
		}
		if _, err := cs.CoreV1().Nodes().Patch(ctx, n.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "skyplan"}); err != nil {
			return fmt.Errorf("%s: releasing the labels of node %s: %w", req.Address, n.Name, err)
		}
		released++
	}
	req.Report("%s: released the labels of %d node(s)", req.Address, released)
	return nil
}
