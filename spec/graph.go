package spec

import (
	"fmt"
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
		n := &node{key: key, rng: b.DefRange, cloud: b}
		attrs, _ := b.Body.JustAttributes()
		for _, a := range attrs {
			n.refs = append(n.refs, a.Expr.Variables()...)
		}
		add(n)
		cloudKeys = append(cloudKeys, key)
	}
	for _, b := range resBlocks {
		if !hclsyntax.ValidIdentifier(b.Labels[0]) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid resource name",
				Detail: "A name must start with a letter or underscore and contain only letters, digits, underscores and dashes.", Subject: b.LabelRanges[0].Ptr()})
			continue
		}
		n := &node{key: b.Type + "." + b.Labels[0], rng: hcl.RangeBetween(b.TypeRange, b.LabelRanges[0]), block: b, after: cloudKeys}
		attrs, _ := b.Body.JustAttributes()
		for _, a := range attrs {
			n.refs = append(n.refs, a.Expr.Variables()...)
		}
		if sb, ok := b.Body.(*hclsyntax.Body); ok {
			for _, inner := range sb.Blocks {
				for _, a := range inner.Body.Attributes {
					n.refs = append(n.refs, a.Expr.Variables()...)
				}
			}
		}
		add(n)
	}
	// Resolve each reference to a node (or a variable), reporting unknown ones here
	// so the message names what is missing rather than an evaluation detail.
	for _, n := range nodes {
		var members []hcl.Traversal
		for _, t := range n.refs {
			root := t.RootName()
			switch root {
			case "var":
				name, ok := stepName(t, 1)
				if ok {
					if _, declared := l.varDecls[name]; !declared {
						diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference to undeclared variable",
							Detail: fmt.Sprintf("There is no variable %q. Declare it with a variable %q {} block.", name, name), Subject: t.SourceRange().Ptr()})
					}
				}
			case "local":
				name, ok := stepName(t, 1)
				if !ok {
					members = append(members, memberRefs(t, root, nodes)...)
					continue
				}
				if _, declared := byKey["local."+name]; !declared {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference to undeclared local value",
						Detail: fmt.Sprintf("There is no local value %q in any locals block.", name), Subject: t.SourceRange().Ptr()})
				}
			default:
				if SchemaFor(root) == nil {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown reference",
						Detail: fmt.Sprintf("%q is not a valid reference. Use var.NAME, local.NAME or TYPE.NAME.ATTRIBUTE (e.g. bucket.jobs.name).", root), Subject: t.SourceRange().Ptr()})
					continue
				}
				name, ok := stepName(t, 1)
				if !ok {
					members = append(members, memberRefs(t, root, nodes)...)
					continue
				}
				if _, declared := byKey[root+"."+name]; !declared {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference to undeclared resource",
						Detail: fmt.Sprintf("There is no %s %q in the spec.", root, name), Subject: t.SourceRange().Ptr()})
				}
			}
		}
		n.refs = append(n.refs, members...)
	}
	l.nodes = byKey
	return nodes, diags
}

// memberRefs turns a reference to a whole collection (`bucket`, `local`,
// `bucket[var.name]`) into one reference per member, so evaluation order and
// DependsOn cover everything it may read.
func memberRefs(t hcl.Traversal, root string, nodes []*node) []hcl.Traversal {
	rng := t.SourceRange()
	var out []hcl.Traversal
	for _, n := range nodes {
		if name, ok := strings.CutPrefix(n.key, root+"."); ok {
			out = append(out, hcl.Traversal{hcl.TraverseRoot{Name: root, SrcRange: rng}, hcl.TraverseAttr{Name: name, SrcRange: rng}})
		}
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

// topoSort orders nodes so each comes after what it references, and reports cycles.
func topoSort(nodes []*node) ([]*node, hcl.Diagnostics) {
	byKey := map[string]*node{}
	for _, n := range nodes {
		byKey[n.key] = n
	}
	const (
		unvisited = iota
		visiting
		done
	)
	mark := map[string]int{}
	var order []*node
	var diags hcl.Diagnostics
	var stack []string
	var visit func(n *node) bool
	visit = func(n *node) bool {
		switch mark[n.key] {
		case done:
			return true
		case visiting:
			i := 0
			for i < len(stack) && stack[i] != n.key {
				i++
			}
			cycle := append(append([]string{}, stack[i:]...), n.key)
			detail := "These references form a cycle: " + strings.Join(cycle, " → ") + ". Break it by removing one reference."
			if strings.Contains(detail, "cloud.") {
				detail += " (Every resource comes after the cloud blocks, so a cloud block cannot refer to a resource.)"
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference cycle", Detail: detail, Subject: n.rng.Ptr()})
			return false
		}
		mark[n.key] = visiting
		stack = append(stack, n.key)
		deps := []string{}
		for _, t := range n.refs {
			if k := refKey(t); k != "" && k != n.key {
				deps = append(deps, k)
			} else if k == n.key {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Self-reference",
					Detail: n.key + " refers to itself.", Subject: t.SourceRange().Ptr()})
				return false
			}
		}
		deps = append(deps, n.after...)
		sort.Strings(deps)
		for _, k := range deps {
			if dep, ok := byKey[k]; ok {
				if !visit(dep) {
					return false
				}
			}
		}
		stack = stack[:len(stack)-1]
		mark[n.key] = done
		order = append(order, n)
		return true
	}
	sorted := append([]*node{}, nodes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].key < sorted[j].key })
	for _, n := range sorted {
		if !visit(n) {
			return nil, diags
		}
	}
	return order, diags
}

// localResourceDeps finds the resources a local value depends on, transitively.
func (l *loader) localResourceDeps(key string, seen map[string]bool) []string {
	n := l.nodes[key]
	if seen[key] || n == nil {
		return nil
	}
	seen[key] = true
	var out []string
	for _, t := range n.refs {
		k := refKey(t)
		switch {
		case k == "":
		case strings.HasPrefix(k, "local."):
			out = append(out, l.localResourceDeps(k, seen)...)
		default:
			out = append(out, k)
		}
	}
	return out
}
