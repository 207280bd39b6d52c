package planner

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// TextOptions controls the text renderer.
type TextOptions struct {
	Color bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiRed    = "\x1b[31m"
	ansiBold   = "\x1b[1m"
)

func (a Action) color() string {
	switch a {
	case Create:
		return ansiGreen
	case Update:
		return ansiYellow
	case Replace, Delete:
		return ansiRed
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
	}
	return "has no changes"
}

// WriteText renders the plan for a terminal, Terraform-style.
func WriteText(w io.Writer, p *Plan, opts TextOptions) error {
	paint := func(code, s string) string {
		if !opts.Color || code == "" {
			return s
		}
		return code + s + ansiReset
	}
	var b strings.Builder
	if !p.HasChanges() {
		fmt.Fprintf(&b, "No changes. The clouds match the spec (workspace %q).\n", p.Workspace)
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "skyplan will perform these actions (workspace %q), in this order:\n", p.Workspace)
	for _, c := range p.Changes {
		if c.Action == NoOp {
			continue
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "  %s\n", paint(ansiBold, fmt.Sprintf("# %s %s", c.Address, c.Action.verb())))
		if c.Reason != "" {
			fmt.Fprintf(&b, "  # why: %s\n", c.Reason)
		}
		if len(c.DependsOn) > 0 {
			fmt.Fprintf(&b, "  # after: %s\n", strings.Join(c.DependsOn, ", "))
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
			fmt.Fprintf(&b, "  %s %s\n", paint(ansiYellow, "! note:"), n)
		}
		if c.Blocked != "" {
			fmt.Fprintf(&b, "  %s %s\n", paint(ansiRed, "! apply will refuse:"), c.Blocked)
		}
	}
	s := p.Summary
	fmt.Fprintf(&b, "\n%s %d to add, %d to change, %d to replace, %d to destroy.\n", paint(ansiBold, "Plan:"), s.Add, s.Change, s.Replace, s.Destroy)
	_, err := io.WriteString(w, b.String())
	return err
}

// sensitiveValue replaces values that must not be printed.
const sensitiveValue = "(sensitive value)"

func writeAttr(b *strings.Builder, act Action, a AttrChange, width int, paint func(string, string) string) {
	pad := strings.Repeat(" ", width-len(a.Name))
	if a.Sensitive {
		mark := map[Action]string{Create: paint(ansiGreen, "+"), Delete: paint(ansiRed, "-")}[act]
		if mark == "" {
			mark = paint(ansiYellow, "~")
		}
		line := fmt.Sprintf("      %s %s%s = %s", mark, a.Name, pad, sensitiveValue)
		if a.ForcesReplacement {
			line += paint(ansiRed, "  # forces replacement")
		}
		b.WriteString(line + "\n")
		return
	}
	// Large maps (e.g. per-node labels) print one entry per line.
	if m, ok := a.After.(map[string]string); ok && act == Create && len(m) > 3 {
		fmt.Fprintf(b, "      %s %s%s = {\n", paint(ansiGreen, "+"), a.Name, pad)
		writeMapDiff(b, nil, m, paint)
		b.WriteString("        }\n")
		return
	}
	if m, ok := a.Before.(map[string]string); ok && act == Delete && len(m) > 3 {
		fmt.Fprintf(b, "      %s %s%s = {\n", paint(ansiRed, "-"), a.Name, pad)
		writeMapDiff(b, m, nil, paint)
		b.WriteString("        }\n")
		return
	}
	switch {
	case act == Create:
		fmt.Fprintf(b, "      %s %s%s = %s\n", paint(ansiGreen, "+"), a.Name, pad, FormatValue(a.After))
	case act == Delete:
		fmt.Fprintf(b, "      %s %s%s = %s\n", paint(ansiRed, "-"), a.Name, pad, FormatValue(a.Before))
	default:
		if bm, am, ok := asMaps(a.Before, a.After); ok {
			fmt.Fprintf(b, "      %s %s%s = {\n", paint(ansiYellow, "~"), a.Name, pad)
			writeMapDiff(b, bm, am, paint)
			b.WriteString("        }\n")
			return
		}
		line := fmt.Sprintf("      %s %s%s = %s → %s", paint(ansiYellow, "~"), a.Name, pad, FormatValue(a.Before), FormatValue(a.After))
		if a.ForcesReplacement {
			line += paint(ansiRed, "  # forces replacement")
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

func writeMapDiff(b *strings.Builder, before, after map[string]string, paint func(string, string) string) {
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
			fmt.Fprintf(b, "          %s %s = %s\n", paint(ansiRed, "-"), strconv.Quote(k), strconv.Quote(bv))
		case !had && has:
			fmt.Fprintf(b, "          %s %s = %s\n", paint(ansiGreen, "+"), strconv.Quote(k), strconv.Quote(av))
		case bv != av:
			fmt.Fprintf(b, "          %s %s = %s → %s\n", paint(ansiYellow, "~"), strconv.Quote(k), strconv.Quote(bv), strconv.Quote(av))
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
