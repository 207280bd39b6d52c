package lint

import (
	"bytes"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/skyplan/skyplan/spec"
)

// ignoreDirective is one `# skyplan:ignore RULE reason` comment.
type ignoreDirective struct {
	rule   string
	reason string
	rng    hcl.Range
}

const ignoreMarker = "skyplan:ignore"

// ignoresAbove reads the comment lines directly above a block's first line.
func ignoresAbove(cfg *spec.Config, block hcl.Range) []ignoreDirective {
	src, ok := cfg.Sources[block.Filename]
	if !ok || block.Start.Line < 2 {
		return nil
	}
	lines := bytes.Split(src, []byte("\n"))
	var out []ignoreDirective
	for ln := block.Start.Line - 1; ln >= 1 && ln <= len(lines); ln-- {
		text := strings.TrimSpace(string(lines[ln-1]))
		var body string
		switch {
		case strings.HasPrefix(text, "#"):
			body = strings.TrimSpace(strings.TrimPrefix(text, "#"))
		case strings.HasPrefix(text, "//"):
			body = strings.TrimSpace(strings.TrimPrefix(text, "//"))
		default:
			return out
		}
		if !strings.HasPrefix(body, ignoreMarker) {
			continue
		}
		fields := strings.Fields(strings.TrimPrefix(body, ignoreMarker))
		d := ignoreDirective{rng: hcl.Range{Filename: block.Filename,
			Start: hcl.Pos{Line: ln, Column: 1}, End: hcl.Pos{Line: ln, Column: len(lines[ln-1]) + 1}}}
		if len(fields) > 0 {
			d.rule = fields[0]
			d.reason = strings.Join(fields[1:], " ")
		}
		out = append(out, d)
	}
	return out
}

// applyIgnores drops findings silenced by an ignore comment above their block.
func applyIgnores(cfg *spec.Config, findings []Finding) []Finding {
	out := findings[:0]
	for _, f := range findings {
		silenced := false
		if f.RuleID != RuleIgnoreWithoutReason.ID {
			for _, d := range ignoresAbove(cfg, f.block) {
				if d.rule == f.RuleID || d.rule == f.RuleName {
					silenced = true
				}
			}
		}
		if !silenced {
			out = append(out, f)
		}
	}
	return out
}

// blocks lists every declaration an ignore comment may sit above.
func blocks(cfg *spec.Config) []hcl.Range {
	var out []hcl.Range
	for _, r := range cfg.Resources {
		out = append(out, r.DeclRange)
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Clouds)) {
		out = append(out, cfg.Clouds[name].DeclRange)
	}
	return out
}

func checkIgnoreComments(c *Context) []Finding {
	var out []Finding
	known := map[string]bool{}
	for _, r := range Rules() {
		known[r.ID], known[r.Name] = true, true
	}
	for _, b := range blocks(c.Config) {
		for _, d := range ignoresAbove(c.Config, b) {
			switch {
			case d.rule == "":
				out = append(out, Finding{Range: d.rng, block: b, Message: "skyplan:ignore names no rule; write # skyplan:ignore RULE-ID reason",
					Fix: "name the rule ID and say why it does not apply here"})
			case !known[d.rule]:
				out = append(out, Finding{Range: d.rng, block: b, Message: "skyplan:ignore names unknown rule " + d.rule + "; see docs/lint-rules.md for rule IDs"})
			case d.reason == "":
				out = append(out, Finding{Range: d.rng, block: b, Message: "skyplan:ignore " + d.rule + " has no reason; say why the rule does not apply here",
					Fix: "# skyplan:ignore " + d.rule + " <why this is fine here>"})
			}
		}
	}
	return out
}
