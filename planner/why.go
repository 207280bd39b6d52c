package planner

import "strings"

// Why is the change's one-line reason: the planner's own, or one said from
// the action where the planner had nothing to add, so every change in a
// pull-request comment says why.
func (c *Change) Why() string {
	if c.Reason != "" {
		return c.Reason
	}
	switch c.Action {
	case Create:
		return "new in the spec: not in state, and nothing in the clouds carries its ownership tags"
	case Update:
		names := make([]string, len(c.Attrs))
		for i, a := range c.Attrs {
			names[i] = a.Name
		}
		return "changed in place: " + ShortList(names, 5)
	case Delete:
		return "no longer in the spec"
	case Replace:
		return "an attribute that cannot change in place changed"
	}
	return ""
}

// targetNote says a plan was narrowed with --target, and what that leaves out.
func (p *Plan) targetNote() string {
	if len(p.Targets) == 0 {
		return ""
	}
	return "targeted plan (--target " + strings.Join(p.Targets, ", --target ") + "): only these resources and what they need are planned; other changes the spec asks for may be pending"
}
