package planner

import (
	"fmt"
	"io"
	"strings"
)

var actionEmoji = map[Action]string{Create: "🟢", Update: "🟡", Replace: "🔴", Delete: "🗑️"}

// WriteMarkdown renders the plan for a pull-request comment: the summary line
// first, a table of actions in order, then the attribute diffs folded away.
func WriteMarkdown(w io.Writer, p *Plan) error {
	var b strings.Builder
	s := p.Summary
	fmt.Fprintf(&b, "### skyplan plan — workspace `%s`\n\n", p.Workspace)
	if !p.HasChanges() {
		b.WriteString("**No changes.** The clouds match the spec.\n")
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
	_ = WriteText(&diff, &Plan{Workspace: p.Workspace, Summary: p.Summary, Changes: p.Changes}, TextOptions{})
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
	_, err := io.WriteString(w, b.String())
	return err
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}
