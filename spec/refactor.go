package spec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Moved is a `moved { from = bucket.c  to = bucket.d }` block: the objects of
// From now belong to To, and apply re-tags them instead of deleting one and
// creating the other.
type Moved struct {
	From, To string
	Range    hcl.Range
}

// Import is an `import { to = bucket.data  id = "acme-data" }` block: an
// object made outside skyplan becomes To's; apply tags it and records it.
type Import struct {
	To, ID string
	Range  hcl.Range
}

var (
	movedSchema  = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "from", Required: true}, {Name: "to", Required: true}}}
	importSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "to", Required: true}, {Name: "id", Required: true}}}
)

// decodeRefactors reads moved and import blocks, after the resources: a
// move's To and an import's To must be declared resources of the spec, a
// move's From must not be (it is what the spec used to say).
func (l *loader) decodeRefactors(moved, imports []*hcl.Block) hcl.Diagnostics {
	var diags hcl.Diagnostics
	errAt := func(rng hcl.Range, summary, detail string) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng.Ptr()})
	}
	declared := map[string]bool{}
	for _, r := range l.cfg.Resources {
		declared[r.Address()] = true
	}
	address := func(a *hcl.Attribute) (string, bool) {
		t, d := hcl.AbsTraversalForExpr(a.Expr)
		if d.HasErrors() || len(t) != 2 {
			errAt(a.Expr.Range(), "Invalid address", fmt.Sprintf("%s must be a resource address such as bucket.data (no quotes).", a.Name))
			return "", false
		}
		name, ok := stepName(t, 1)
		if !ok || SchemaFor(t.RootName()) == nil {
			errAt(a.Expr.Range(), "Invalid address", fmt.Sprintf("%s must name a resource type (cluster, bucket, jobs_controller, gpu_label_policy) and a name.", a.Name))
			return "", false
		}
		return t.RootName() + "." + name, true
	}
	seenFrom, seenTo := map[string]hcl.Range{}, map[string]hcl.Range{}
	for _, b := range moved {
		content, d := b.Body.Content(movedSchema)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		from, ok1 := address(content.Attributes["from"])
		to, ok2 := address(content.Attributes["to"])
		if !ok1 || !ok2 {
			continue
		}
		switch {
		case AddressType(from) != AddressType(to):
			errAt(b.DefRange, "Move between types", fmt.Sprintf("%s cannot move to %s: a move keeps the resource type.", from, to))
		case from == to:
			errAt(b.DefRange, "Move to itself", fmt.Sprintf("moved block from %s to itself; remove it.", from))
		case declared[from]:
			errAt(content.Attributes["from"].Expr.Range(), "Moved from a declared resource", fmt.Sprintf("%s is still declared; a moved block's from is the old address, no longer in the spec.", from))
		case !declared[to]:
			errAt(content.Attributes["to"].Expr.Range(), "Moved to an undeclared resource", fmt.Sprintf("there is no %s in the spec to move %s to.", to, from))
		default:
			if prev, dup := seenFrom[from]; dup {
				errAt(b.DefRange, "Duplicate move", fmt.Sprintf("%s is already moved at %s.", from, prev))
				continue
			}
			if prev, dup := seenTo[to]; dup {
				errAt(b.DefRange, "Duplicate move", fmt.Sprintf("something else already moves to %s at %s.", to, prev))
				continue
			}
			seenFrom[from], seenTo[to] = b.DefRange, b.DefRange
			l.cfg.Moved = append(l.cfg.Moved, Moved{From: from, To: to, Range: b.DefRange})
		}
	}
	importedTo := map[string]hcl.Range{}
	for _, b := range imports {
		content, d := b.Body.Content(importSchema)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		to, ok := address(content.Attributes["to"])
		if !ok {
			continue
		}
		id, d := content.Attributes["id"].Expr.Value(&hcl.EvalContext{Variables: map[string]cty.Value{"var": l.varsObj}, Functions: Functions()})
		diags = append(diags, d...)
		switch {
		case d.HasErrors():
		case id.IsNull() || !id.IsKnown() || id.Type() != cty.String || id.AsString() == "":
			errAt(content.Attributes["id"].Expr.Range(), "Invalid import id", "id must be a non-empty string naming the object (a bucket name, instance IDs, a VM or TPU name).")
		case !declared[to]:
			errAt(content.Attributes["to"].Expr.Range(), "Import to an undeclared resource", fmt.Sprintf("there is no %s in the spec; declare the block the object should become (skyplan import --generate-config writes one).", to))
		case seenTo[to] != hcl.Range{}:
			errAt(b.DefRange, "Import and move to one address", fmt.Sprintf("%s is both moved to and imported; keep one.", to))
		default:
			if prev, dup := importedTo[to]; dup {
				errAt(b.DefRange, "Duplicate import", fmt.Sprintf("%s is already imported at %s.", to, prev))
				continue
			}
			importedTo[to] = b.DefRange
			l.cfg.Imports = append(l.cfg.Imports, Import{To: to, ID: id.AsString(), Range: b.DefRange})
		}
	}
	return diags
}
