package planner

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

var actionEmoji = map[Action]string{Create: "🟢", Update: "🟡", Replace: "🔴", Delete: "🗑️"}

// WriteMarkdown renders the plan for a pull-request comment: the summary line
// first, a table of actions in order, then the attribute diffs folded away.
func WriteMarkdown(w io.Writer, p *Plan) error {
	var b strings.Builder
	s := p.Summary
	fmt.Fprintf(&b, "### skyplan plan — workspace `%s`\n\n", p.Workspace)
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
		writeMarkdownFindings(&b, p)
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "**Plan:** %d to add, %d to change, %d to replace, %d to destroy.\n\n", s.Add, s.Change, s.Replace, s.Destroy)
	b.WriteString("| # | Action | Resource | Why |\n|---|---|---|---|\n")
	n := 0
	for _, c := range p.Changes {
		if c.Action == NoOp {
			continue
		}
		n++
		why := c.Reason
		if c.Blocked != "" {
			why = strings.TrimSpace(why + " **Apply will refuse:** " + c.Blocked)
		}
		for _, note := range c.Notes {
			why = strings.TrimSpace(why + " ⚠️ " + note)
		}
		fmt.Fprintf(&b, "| %d | %s %s | `%s` | %s |\n", n, actionEmoji[c.Action], c.Action, c.Address, mdEscape(why))
	}
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
