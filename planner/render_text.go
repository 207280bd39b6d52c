package planner

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/skyplan/skyplan/internal/style"
)

// TextOptions controls the text renderer.
type TextOptions struct {
	Color bool
}

func (a Action) color() style.Code {
	switch a {
	case Create, Import:
		return style.Green
	case Update:
		return style.Yellow
	case Move:
		return style.Cyan
	case Replace, Delete:
		return style.Red
	}
	return ""
}

func (a Action) verb() string {
	switch a {
	case Create:
		return "will be created"
	case Update:
		return "will be updated in place"
	case Replace:
		return "must be replaced"
	case Delete:
		return "will be destroyed"
	case Move:
		return "will be moved"
	case Import:
		return "will be imported"
	}
	return "has no changes"
}

// WriteText renders the plan for a terminal, Terraform-style.
func WriteText(w io.Writer, p *Plan, opts TextOptions) error {
	paint := style.Painter{Color: opts.Color}.Paint
	var b strings.Builder
	writeGaps(&b, p, paint)
	writeOwnership(&b, p)
	if note := p.targetNote(); note != "" {
		fmt.Fprintf(&b, "%s %s.\n\n", paint(style.YellowBold, "Note:"), note)
	}
	if !p.HasChanges() {
		if p.Complete() {
			fmt.Fprintf(&b, "No changes. The clouds match the spec (workspace %q).\n", p.Workspace)
		} else {
			fmt.Fprintf(&b, "No changes in what could be observed (workspace %q); the plan is incomplete (see above).\n", p.Workspace)
		}
		writeCost(&b, p, paint)
		writeFindings(&b, p, paint)
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "skyplan will perform these actions (workspace %q), in this order:\n", p.Workspace)
	for _, c := range p.Changes {
		if c.Action == NoOp {
			continue
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "  %s\n", paint(style.Bold, fmt.Sprintf("# %s %s", c.Address, c.Action.verb())))
		if c.Reason != "" {
			fmt.Fprintf(&b, "  # why: %s\n", c.Reason)
		}
		if len(c.DependsOn) > 0 {
			fmt.Fprintf(&b, "  # after: %s\n", strings.Join(c.DependsOn, ", "))
		}
		if c.Cost != nil {
			fmt.Fprintf(&b, "  # cost: %s\n", c.Cost.Line())
		}
		_, name, _ := strings.Cut(c.Address, ".")
		fmt.Fprintf(&b, "  %s %s %q {\n", paint(c.Action.color(), c.Action.Symbol()), c.Type, name)
		width := 0
		for _, a := range c.Attrs {
			width = max(width, len(a.Name))
		}
		for _, a := range c.Attrs {
			writeAttr(&b, c.Action, a, width, paint)
		}
		b.WriteString("    }\n")
		for _, n := range c.Notes {
			fmt.Fprintf(&b, "  %s %s\n", paint(style.Yellow, "! note:"), n)
		}
		if c.Blocked != "" {
			fmt.Fprintf(&b, "  %s %s\n", paint(style.Red, "! apply will refuse:"), c.Blocked)
		}
	}
	s := p.Summary
	label := "Plan:"
	if !p.Complete() {
		label = "Plan (incomplete):"
	}
	fmt.Fprintf(&b, "\n%s %d to add, %d to change, %d to replace, %d to destroy", paint(style.Bold, label), s.Add, s.Change, s.Replace, s.Destroy)
	if s.Move > 0 || s.Import > 0 {
		fmt.Fprintf(&b, ", %d to move, %d to import", s.Move, s.Import)
	}
	b.WriteString(".\n")
	writeCost(&b, p, paint)
	writeFindings(&b, p, paint)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeOwnership says what the plan found that it will not change (other
// states' objects) and what apply records without changing (objects of
// this state the state file lacks).
func writeOwnership(b *strings.Builder, p *Plan) {
	if len(p.Foreign) > 0 {
		b.WriteString("Not this state's (left alone):\n")
		lineage := ""
		for _, f := range p.Foreign {
			fmt.Fprintf(b, "  - %s\n", f.Describe())
			if f.StateID != "" {
				lineage = f.StateID
			}
		}
		if lineage != "" && p.Serial == 0 {
			fmt.Fprintf(b, "  If they are this spec's own and its state file was lost, rebuild it instead: skyplan state rebuild --lineage %s\n", lineage)
		}
		b.WriteString("\n")
	}
	if n := p.Adoptions(); n > 0 {
		var addrs []string
		for _, c := range p.Changes {
			if c.Adopt {
				addrs = append(addrs, c.Address)
			}
		}
		fmt.Fprintf(b, "State: %d resource(s) of this state were found by their tags but are missing from the state file, or differ from it in their objects (%s); apply records them.\n\n", n, ShortList(addrs, 5))
	}
}

// writeGaps opens an incomplete plan with what could not be observed, so
// nobody reads the rest as the whole story.
func writeGaps(b *strings.Builder, p *Plan, paint func(style.Code, string) string) {
	if p.Complete() {
		return
	}
	fmt.Fprintf(b, "%s skyplan could not look at everything, so this is not the whole plan:\n", paint(style.RedBold, "Plan incomplete:"))
	for _, g := range p.Gaps {
		fmt.Fprintf(b, "  - %s\n", g.Describe())
	}
	b.WriteString("\n")
}

// writeCost prints the plan's cost totals, what they leave out and why.
func writeCost(b *strings.Builder, p *Plan, paint func(style.Code, string) string) {
	t := p.Cost
	if t == nil {
		return
	}
	fmt.Fprintf(b, "%s %s (%s, %d h/month).\n", paint(style.Bold, "Cost:"), t.Summary(), t.Currency, t.HoursPerMonth)
	for _, e := range t.Excluded {
		fmt.Fprintf(b, "  not counted: %s (%s)\n", e.Address, e.Reason)
	}
	for _, n := range t.Notes {
		fmt.Fprintf(b, "  note: %s\n", n)
	}
}

// writeFindings closes the plan with the lint gate's verdict.
func writeFindings(b *strings.Builder, p *Plan, paint func(style.Code, string) string) {
	if p.LintSkipped {
		fmt.Fprintf(b, "\n%s lint was skipped (--skip-lint): network, credential and GPU checks did not gate this plan.\n", paint(style.YellowBold, "Warning:"))
	}
	if len(p.Findings) == 0 {
		return
	}
	b.WriteString("\nLint findings:\n")
	for _, f := range p.Findings {
		code := style.YellowBold
		if f.Severity == "error" {
			code = style.RedBold
		}
		fmt.Fprintf(b, "  %s %s", paint(code, fmt.Sprintf("%s[%s] %s:", f.Severity, f.RuleID, f.Rule)), f.Message)
		if f.File != "" {
			fmt.Fprintf(b, " (%s:%d)", style.DisplayPath(f.File), f.Line)
		}
		b.WriteString("\n")
		for i, line := range strings.Split(f.Fix, "\n") {
			if f.Fix == "" {
				break
			}
			prefix := "      "
			if i == 0 {
				prefix = "    fix: "
			}
			fmt.Fprintf(b, "%s%s\n", prefix, line)
		}
	}
	if n := p.LintErrors(); n > 0 {
		fmt.Fprintf(b, "%s %d lint error(s): apply refuses this plan until they are fixed (or --skip-lint).\n", paint(style.RedBold, "Error:"), n)
	}
}

// Describe is one line about the gap: where, what it hides and why.
func (g Gap) Describe() string {
	what := g.Cloud
	if g.Capability != "" {
		what += " " + g.Capability
	}
	hidden := ""
	if len(g.Addresses) > 0 {
		hidden = " (" + ShortList(g.Addresses, 5) + ")"
	}
	return what + hidden + ": " + g.Reason
}

// ShortList joins up to n items and counts the rest, so a 5,000-node
// resource prints one readable line.
func ShortList(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s, … (+%d more)", strings.Join(items[:n], ", "), len(items)-n)
}

// sensitiveValue replaces values that must not be printed.
const sensitiveValue = "(sensitive value)"

func writeAttr(b *strings.Builder, act Action, a AttrChange, width int, paint func(style.Code, string) string) {
	pad := strings.Repeat(" ", width-len(a.Name))
	if a.Sensitive {
		mark := map[Action]string{Create: paint(style.Green, "+"), Delete: paint(style.Red, "-")}[act]
		if mark == "" {
			mark = paint(style.Yellow, "~")
		}
		line := fmt.Sprintf("      %s %s%s = %s", mark, a.Name, pad, sensitiveValue)
		if a.ForcesReplacement {
			line += paint(style.Red, "  # forces replacement")
		}
		b.WriteString(line + "\n")
		return
	}
	// Large maps (e.g. per-node labels) print one entry per line.
	if m, ok := a.After.(map[string]string); ok && act == Create && len(m) > 3 {
		fmt.Fprintf(b, "      %s %s%s = {\n", paint(style.Green, "+"), a.Name, pad)
		writeMapDiff(b, nil, m, paint)
		b.WriteString("        }\n")
		return
	}
	if m, ok := a.Before.(map[string]string); ok && act == Delete && len(m) > 3 {
		fmt.Fprintf(b, "      %s %s%s = {\n", paint(style.Red, "-"), a.Name, pad)
		writeMapDiff(b, m, nil, paint)
		b.WriteString("        }\n")
		return
	}
	switch {
	case act == Create:
		fmt.Fprintf(b, "      %s %s%s = %s\n", paint(style.Green, "+"), a.Name, pad, FormatValue(a.After))
	case act == Delete:
		fmt.Fprintf(b, "      %s %s%s = %s\n", paint(style.Red, "-"), a.Name, pad, FormatValue(a.Before))
	default:
		if bm, am, ok := asMaps(a.Before, a.After); ok {
			fmt.Fprintf(b, "      %s %s%s = {\n", paint(style.Yellow, "~"), a.Name, pad)
			writeMapDiff(b, bm, am, paint)
			b.WriteString("        }\n")
			return
		}
		line := fmt.Sprintf("      %s %s%s = %s → %s", paint(style.Yellow, "~"), a.Name, pad, FormatValue(a.Before), FormatValue(a.After))
		if a.ForcesReplacement {
			line += paint(style.Red, "  # forces replacement")
		}
		b.WriteString(line + "\n")
	}
}

func asMaps(before, after any) (map[string]string, map[string]string, bool) {
	bm, bok := before.(map[string]string)
	am, aok := after.(map[string]string)
	if (bok || before == nil) && (aok || after == nil) && (bok || aok) {
		return bm, am, true
	}
	return nil, nil, false
}

func writeMapDiff(b *strings.Builder, before, after map[string]string, paint func(style.Code, string) string) {
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		bv, had := before[k]
		av, has := after[k]
		switch {
		case had && !has:
			fmt.Fprintf(b, "          %s %s = %s\n", paint(style.Red, "-"), strconv.Quote(k), strconv.Quote(bv))
		case !had && has:
			fmt.Fprintf(b, "          %s %s = %s\n", paint(style.Green, "+"), strconv.Quote(k), strconv.Quote(av))
		case bv != av:
			fmt.Fprintf(b, "          %s %s = %s → %s\n", paint(style.Yellow, "~"), strconv.Quote(k), strconv.Quote(bv), strconv.Quote(av))
		}
	}
}

// FormatValue renders an attribute value in HCL syntax.
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case map[string]string:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s = %s", strconv.Quote(k), strconv.Quote(x[k]))
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	return fmt.Sprint(v)
}
