package planner

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

var actionEmoji = map[Action]string{Create: "🟢", Update: "🟡", Replace: "🔴", Delete: "🗑️"}

// MarkdownMarker is the hidden first line of a plan comment: a CI step
// finds its earlier comment for the workspace by it and updates that one
// instead of adding another.
func MarkdownMarker(workspace string) string {
	return fmt.Sprintf("<!-- skyplan-plan workspace=%q -->", workspace)
}

// WriteMarkdown renders the plan for a pull-request comment: the hidden
// marker, the summary line with the monthly cost delta, a table of actions
// in order with why and cost, the totals, the attribute diffs folded away,
// then the lint findings.
func WriteMarkdown(w io.Writer, p *Plan) error {
	var b strings.Builder
	s := p.Summary
	b.WriteString(MarkdownMarker(p.Workspace) + "\n")
	fmt.Fprintf(&b, "### skyplan plan — workspace `%s`\n\n", p.Workspace)
	if note := p.targetNote(); note != "" {
		fmt.Fprintf(&b, "> [!NOTE]\n> %s.\n\n", mdEscape(strings.ToUpper(note[:1])+note[1:]))
	}
	if !p.Complete() {
		b.WriteString("> [!WARNING]\n> **Plan incomplete:** skyplan could not look at everything, so this is not the whole plan.\n")
		for _, g := range p.Gaps {
			fmt.Fprintf(&b, "> - %s\n", mdEscape(g.Describe()))
		}
		b.WriteString("\n")
	}
	if !p.HasChanges() {
		if p.Complete() {
			b.WriteString("**No changes.** The clouds match the spec.\n")
		} else {
			b.WriteString("**No changes in what could be observed** — the plan is incomplete (see above).\n")
		}
		writeMarkdownCost(&b, p)
		writeMarkdownFindings(&b, p)
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "**Plan:** %d to add, %d to change, %d to replace, %d to destroy.", s.Add, s.Change, s.Replace, s.Destroy)
	if p.Cost != nil {
		fmt.Fprintf(&b, " **Cost:** %s (%s → %s/mo)", p.Cost.DeltaText(), Dollars(p.Cost.Before.Monthly, false), Dollars(p.Cost.After.Monthly, false))
		if p.Cost.Estimate {
			b.WriteString(", an estimate")
		}
		b.WriteString(".")
	}
	if n := p.LintErrors(); n > 0 {
		fmt.Fprintf(&b, " **Lint:** %d error(s): apply refuses this plan.", n)
	}
	b.WriteString("\n\n")
	b.WriteString("| # | Action | Resource | Why | Cost |\n|---|---|---|---|---|\n")
	n := 0
	for _, c := range p.Changes {
		if c.Action == NoOp {
			continue
		}
		n++
		why := c.Why()
		if c.Blocked != "" {
			why = strings.TrimSpace(why + " **Apply will refuse:** " + c.Blocked)
		}
		for _, note := range c.Notes {
			why = strings.TrimSpace(why + " ⚠️ " + note)
		}
		cost := ""
		if c.Cost != nil {
			cost = c.Cost.DeltaText()
		}
		fmt.Fprintf(&b, "| %d | %s %s | `%s` | %s | %s |\n", n, actionEmoji[c.Action], c.Action, c.Address, mdEscape(why), cost)
	}
	writeMarkdownCost(&b, p)
	b.WriteString("\n<details><summary>Attribute changes</summary>\n\n```diff\n")
	var diff strings.Builder
	_ = WriteText(&diff, &Plan{Workspace: p.Workspace, Summary: p.Summary, Changes: slices.DeleteFunc(slices.Clone(p.Changes), func(c *Change) bool { return c.Action == NoOp })}, TextOptions{})
	for _, line := range strings.Split(strings.TrimRight(diff.String(), "\n"), "\n") {
		// diff syntax colours lines by their first character.
		t := strings.TrimLeft(line, " ")
		switch {
		case strings.HasPrefix(t, "+"):
			line = "+" + line
		case strings.HasPrefix(t, "-/+"), strings.HasPrefix(t, "-"):
			line = "-" + line
		case strings.HasPrefix(t, "~"):
			line = "!" + line
		default:
			line = " " + line
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("```\n\n</details>\n")
	writeMarkdownFindings(&b, p)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeMarkdownCost states the totals, what each figure is made of, and
// what they leave out.
func writeMarkdownCost(b *strings.Builder, p *Plan) {
	t := p.Cost
	if t == nil {
		return
	}
	fmt.Fprintf(b, "\n**Cost** (%s, %d h/month): %s.\n", t.Currency, t.HoursPerMonth, mdEscape(t.Summary()))
	var lines []string
	for _, c := range p.Changes {
		if c.Cost == nil || !c.Cost.Priced || c.Action == NoOp {
			continue
		}
		lines = append(lines, fmt.Sprintf("- `%s`: %s", c.Address, mdEscape(c.Cost.Line())))
	}
	for _, e := range t.Excluded {
		lines = append(lines, fmt.Sprintf("- `%s`: not counted (%s)", e.Address, mdEscape(e.Reason)))
	}
	for _, n := range t.Notes {
		lines = append(lines, "- "+mdEscape(strings.ToUpper(n[:1])+n[1:]))
	}
	if len(lines) > 0 {
		fmt.Fprintf(b, "\n<details><summary>Cost details</summary>\n\n%s\n\n</details>\n", strings.Join(lines, "\n"))
	}
}

// writeMarkdownFindings lists the lint gate's findings, errors first.
func writeMarkdownFindings(b *strings.Builder, p *Plan) {
	if p.LintSkipped {
		b.WriteString("\n⚠️ Lint was skipped (`--skip-lint`): network, credential and GPU checks did not gate this plan.\n")
	}
	if len(p.Findings) == 0 {
		return
	}
	fmt.Fprintf(b, "\n**Lint:** %d error(s), %d warning(s).\n\n| Severity | Rule | Resource | Finding | Fix |\n|---|---|---|---|---|\n", p.LintErrors(), len(p.Findings)-p.LintErrors())
	for _, sev := range []string{"error", "warning", "info"} {
		for _, f := range p.Findings {
			if f.Severity == sev {
				fmt.Fprintf(b, "| %s | `%s` %s | `%s` | %s | %s |\n", sev, f.RuleID, f.Rule, f.Address, mdEscape(f.Message), mdCode(f.Fix))
			}
		}
	}
}

// mdCode renders a fix (commands, spec lines) as inline code, one per line.
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	var parts []string
	for _, line := range strings.Split(s, "\n") {
		parts = append(parts, "`"+strings.ReplaceAll(line, "`", "'")+"`")
	}
	return mdEscape(strings.Join(parts, "<br>"))
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}

// WriteMarkdownFailure renders, in place of a plan, why there is none (the
// lint gate refused, or planning failed), with the findings if any. It
// carries the same marker, so it replaces the pull request's earlier plan
// comment instead of leaving a stale one.
func WriteMarkdownFailure(w io.Writer, workspace, why string, findings []Finding) error {
	var b strings.Builder
	b.WriteString(MarkdownMarker(workspace) + "\n")
	fmt.Fprintf(&b, "### skyplan plan — workspace `%s`\n\n", workspace)
	fmt.Fprintf(&b, "> [!CAUTION]\n> **No plan:** %s\n", mdEscape(why))
	writeMarkdownFindings(&b, &Plan{Findings: findings})
	_, err := io.WriteString(w, b.String())
	return err
}
