package lint

import (
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

// sourceLines finds the lines of spec files; each file is indexed once per
// lint run, so looking above every block stays linear in the spec's size.
type sourceLines struct {
	sources map[string][]byte
	starts  map[string][]int // offset of each line's first byte
}

func newSourceLines(cfg *spec.Config) *sourceLines {
	return &sourceLines{sources: cfg.Sources, starts: map[string][]int{}}
}

// line returns line n (1-based) of a file, without its newline.
func (s *sourceLines) line(file string, n int) ([]byte, bool) {
	src, ok := s.sources[file]
	if !ok {
		return nil, false
	}
	starts, ok := s.starts[file]
	if !ok {
		starts = []int{0}
		for i, c := range src {
			if c == '\n' {
				starts = append(starts, i+1)
			}
		}
		s.starts[file] = starts
	}
	if n < 1 || n > len(starts) {
		return nil, false
	}
	end := len(src)
	if n < len(starts) {
		end = starts[n] - 1
	}
	return src[starts[n-1]:end], true
}

// ignoresAbove reads the comment lines directly above a block's first line.
func (s *sourceLines) ignoresAbove(block hcl.Range) []ignoreDirective {
	var out []ignoreDirective
	for ln := block.Start.Line - 1; ln >= 1; ln-- {
		line, ok := s.line(block.Filename, ln)
		if !ok {
			return out
		}
		text := strings.TrimSpace(string(line))
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
			Start: hcl.Pos{Line: ln, Column: 1}, End: hcl.Pos{Line: ln, Column: len(line) + 1}}}
		if len(fields) > 0 {
			d.rule = fields[0]
			d.reason = strings.Join(fields[1:], " ")
		}
		out = append(out, d)
	}
	return out
}

// applyIgnores drops findings silenced by an ignore comment above their block.
func applyIgnores(lines *sourceLines, findings []Finding) []Finding {
	out := findings[:0]
	for _, f := range findings {
		silenced := false
		if f.RuleID != RuleIgnoreWithoutReason.ID {
			for _, d := range lines.ignoresAbove(f.block) {
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
		for _, d := range c.lines.ignoresAbove(b) {
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
