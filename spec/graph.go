// The reference graph: local values, cloud blocks and resource blocks are its
// nodes, references its edges. It orders evaluation, reports references to
// what is not declared and cycles, and records what each local value depends
// on, so a resource that reads a local depends on what the local reads.

package spec

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// node is a local value, a cloud block or a resource block: the units that
// reference each other.
type node struct {
	key   string // "local.x", "cloud.aws" or "cluster.train"
	rng   hcl.Range
	refs  []hcl.Traversal
	local *hcl.Attribute
	block *hcl.Block
	cloud *hcl.Block
	// after are implicit dependencies: a resource is completed (region,
	// instance_type) from its cloud block, so clouds are decoded first.
	after []string
}

func (l *loader) buildNodes(localAttrs []*hcl.Attribute, resBlocks, cloudBlocks []*hcl.Block) ([]*node, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	byKey := map[string]*node{}
	var nodes []*node
	add := func(n *node) {
		if prev, ok := byKey[n.key]; ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate " + n.key,
				Detail:   fmt.Sprintf("%s is already declared at %s. Addresses must be unique across all spec files.", n.key, prev.rng),
				Subject:  n.rng.Ptr(),
			})
			return
		}
		byKey[n.key] = n
		nodes = append(nodes, n)
	}
	for _, a := range localAttrs {
		add(&node{key: "local." + a.Name, rng: a.NameRange, refs: a.Expr.Variables(), local: a})
	}
	var cloudKeys []string
	for _, b := range cloudBlocks {
		key := "cloud." + b.Labels[0]
		if prev, ok := byKey[key]; ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate cloud block",
				Detail: fmt.Sprintf("cloud %q is already declared at %s.", b.Labels[0], prev.rng), Subject: b.DefRange.Ptr()})
			continue
		}
		add(&node{key: key, rng: b.DefRange, cloud: b, refs: blockRefs(b)})
		cloudKeys = append(cloudKeys, key)
	}
	for _, b := range resBlocks {
		if !hclsyntax.ValidIdentifier(b.Labels[0]) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid resource name",
				Detail: "A name must start with a letter or underscore and contain only letters, digits, underscores and dashes.", Subject: b.LabelRanges[0].Ptr()})
			continue
		}
		add(&node{key: b.Type + "." + b.Labels[0], rng: hcl.RangeBetween(b.TypeRange, b.LabelRanges[0]), block: b, after: cloudKeys, refs: blockRefs(b)})
	}
	// members lists each collection's member names, for references to a whole
	// collection (`bucket`, `local`).
	l.members = map[string][]string{}
	for _, n := range nodes {
		root, name, _ := strings.Cut(n.key, ".")
		l.members[root] = append(l.members[root], name)
	}
	l.nodes = byKey
	for _, n := range nodes {
		var d hcl.Diagnostics
		n.refs, d = l.resolveRefs(n.refs)
		diags = append(diags, d...)
	}
	return nodes, diags
}

// resolveRefs checks that each reference names a variable or a node,
// reporting unknown ones here so the message names what is missing rather
// than an evaluation detail, and adds one reference per member for each
// reference to a whole collection. What a bad reference names is marked
// broken, so evaluation treats it as unknown and reports nothing more.
func (l *loader) resolveRefs(refs []hcl.Traversal) ([]hcl.Traversal, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var expanded []hcl.Traversal
	for _, t := range refs {
		root := t.RootName()
		name, named := stepName(t, 1)
		switch {
		case root == "var":
			if _, declared := l.varDecls[name]; named && !declared {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference to undeclared variable",
					Detail: fmt.Sprintf("There is no variable %q. Declare it with a variable %q {} block.", name, name), Subject: t.SourceRange().Ptr()})
				l.broken["var."+name] = true
			}
		case root != "local" && SchemaFor(root) == nil:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown reference",
				Detail: fmt.Sprintf("%q is not a valid reference. Use var.NAME, local.NAME or TYPE.NAME.ATTRIBUTE (e.g. bucket.jobs.name).", root), Subject: t.SourceRange().Ptr()})
			l.broken[root] = true
		case !named:
			expanded = append(expanded, memberRefs(t, root, l.members[root])...)
		case l.nodes[root+"."+name] != nil:
		case root == "local":
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference to undeclared local value",
				Detail: fmt.Sprintf("There is no local value %q in any locals block.", name), Subject: t.SourceRange().Ptr()})
			l.broken["local."+name] = true
		default:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference to undeclared resource",
				Detail: fmt.Sprintf("There is no %s %q in the spec.", root, name), Subject: t.SourceRange().Ptr()})
			l.broken[root+"."+name] = true
		}
	}
	return append(refs, expanded...), diags
}

// blockRefs lists the references of every attribute of a block and of its
// nested blocks (lifecycle).
func blockRefs(b *hcl.Block) []hcl.Traversal {
	var refs []hcl.Traversal
	if sb, ok := b.Body.(*hclsyntax.Body); ok {
		for _, a := range sb.Attributes {
			refs = append(refs, a.Expr.Variables()...)
		}
		for _, inner := range sb.Blocks {
			for _, a := range inner.Body.Attributes {
				refs = append(refs, a.Expr.Variables()...)
			}
		}
		return refs
	}
	attrs, _ := b.Body.JustAttributes()
	for _, a := range attrs {
		refs = append(refs, a.Expr.Variables()...)
	}
	return refs
}

// memberRefs turns a reference to a whole collection (`bucket`, `local`,
// `bucket[var.name]`) into one reference per member, so evaluation order and
// DependsOn cover everything it may read.
func memberRefs(t hcl.Traversal, root string, names []string) []hcl.Traversal {
	rng := t.SourceRange()
	out := make([]hcl.Traversal, len(names))
	for i, name := range names {
		out[i] = hcl.Traversal{hcl.TraverseRoot{Name: root, SrcRange: rng}, hcl.TraverseAttr{Name: name, SrcRange: rng}}
	}
	return out
}

func stepName(t hcl.Traversal, i int) (string, bool) {
	if len(t) <= i {
		return "", false
	}
	switch step := t[i].(type) {
	case hcl.TraverseAttr:
		return step.Name, true
	case hcl.TraverseIndex: // bucket["jobs"] names bucket.jobs as much as bucket.jobs does
		if k := step.Key; k.Type() == cty.String && k.IsKnown() && !k.IsNull() {
			return k.AsString(), true
		}
	}
	return "", false
}

// refKey maps a traversal to the node key it depends on ("" for variables).
func refKey(t hcl.Traversal) string {
	root := t.RootName()
	if root == "var" {
		return ""
	}
	name, ok := stepName(t, 1)
	if !ok {
		return ""
	}
	return root + "." + name
}

// refName names what a traversal reads, as the broken set records it:
// "var.x", "local.x", "bucket.b", or a lone root ("bucket", "widget").
func refName(t hcl.Traversal) string {
	if name, ok := stepName(t, 1); ok {
		return t.RootName() + "." + name
	}
	return t.RootName()
}

// topoSort orders nodes so each comes after what it references. Every cycle
// and self-reference is reported once and its nodes are marked broken; the
// rest is still ordered, so independent errors elsewhere are found too.
// It walks iteratively: a chain of a hundred thousand locals is no deep
// recursion.
func (l *loader) topoSort(nodes []*node) ([]*node, hcl.Diagnostics) {
	byKey := make(map[string]*node, len(nodes))
	for _, n := range nodes {
		byKey[n.key] = n
	}
	const (
		unvisited = iota
		visiting
		done
	)
	mark := make(map[string]int, len(nodes))
	var order []*node
	var diags hcl.Diagnostics
	var stack []dfsFrame
	// depsOf lists a node's dependencies in a fixed order, reporting a
	// reference to itself.
	depsOf := func(n *node) []string {
		var deps []string
		for _, t := range n.refs {
			switch k := refKey(t); k {
			case "":
			case n.key:
				if !l.broken[n.key] {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Self-reference",
						Detail: n.key + " refers to itself.", Subject: t.SourceRange().Ptr()})
					l.broken[n.key] = true
				}
			default:
				deps = append(deps, k)
			}
		}
		deps = append(deps, n.after...)
		slices.Sort(deps)
		return slices.Compact(deps)
	}
	push := func(n *node) {
		mark[n.key] = visiting
		stack = append(stack, dfsFrame{n: n, deps: depsOf(n)})
	}
	sorted := append([]*node{}, nodes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].key < sorted[j].key })
	for _, start := range sorted {
		if mark[start.key] != unvisited {
			continue
		}
		push(start)
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next == len(top.deps) {
				mark[top.n.key] = done
				order = append(order, top.n)
				stack = stack[:len(stack)-1]
				continue
			}
			dep := byKey[top.deps[top.next]]
			top.next++
			if dep == nil {
				continue
			}
			switch mark[dep.key] {
			case unvisited:
				push(dep)
			case visiting:
				diags = append(diags, l.cycle(stack, dep)...)
			}
		}
	}
	return order, diags
}

// dfsFrame is a node being visited and the next of its dependencies to visit.
type dfsFrame struct {
	n    *node
	deps []string
	next int
}

// cycle reports the cycle that closes when a node on the stack is reached
// again, unless all its nodes are already reported broken.
func (l *loader) cycle(stack []dfsFrame, again *node) hcl.Diagnostics {
	i := len(stack) - 1
	for i > 0 && stack[i].n != again {
		i--
	}
	var keys []string
	fresh := false
	for _, f := range stack[i:] {
		keys = append(keys, f.n.key)
		if !l.broken[f.n.key] {
			fresh = true
		}
		l.broken[f.n.key] = true
	}
	if !fresh {
		return nil
	}
	keys = append(keys, again.key)
	detail := "These references form a cycle: " + strings.Join(keys, " → ") + ". Break it by removing one reference."
	if strings.Contains(detail, "cloud.") {
		detail += " (Every resource comes after the cloud blocks, so a cloud block cannot refer to a resource.)"
	}
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Reference cycle", Detail: detail, Subject: again.rng.Ptr()}}
}

// resourceDeps lists the resources a node depends on, directly or through
// local values (whose own lists are recorded as they are evaluated, in
// order), sorted and without duplicates.
func (l *loader) resourceDeps(n *node) []string {
	var out []string
	var only []string // a single local's list, shared rather than copied
	sources := 0
	for _, t := range n.refs {
		switch k := refKey(t); {
		case k == "" || k == n.key:
		case strings.HasPrefix(k, "local."):
			if deps := l.localDeps[k]; len(deps) > 0 {
				out = append(out, deps...)
				only = deps
				sources++
			}
		default:
			out = append(out, k)
			sources += 2
		}
	}
	if sources == 1 {
		return slices.Clip(only)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
