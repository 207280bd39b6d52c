package spec

import (
	"bytes"
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// Limits on what a spec may be, so bad input gets an error instead of
// exhausting memory, the stack or the terminal.
const (
	// MaxFileSize is the largest spec or variable file read, in bytes.
	MaxFileSize = 8 << 20
	// MaxSpecSize is the largest total of all spec files of a directory.
	MaxSpecSize = 256 << 20
	// MaxNestingDepth is how deeply brackets, strings, interpolations,
	// template directives and unary or conditional operators may nest. The
	// HCL parser recurses once per level, so deeper input could overflow
	// the stack; real specs stay under ten.
	MaxNestingDepth = 100
	// MaxDiagnosticsPerFile is how many errors (and as many warnings) are
	// reported per file; the rest are counted in one last diagnostic.
	MaxDiagnosticsPerFile = 20
)

// scanFrame is one open level of nesting in checkNesting.
type scanFrame struct {
	kind byte // '{', '[', '(' code; '$' interpolation (code); '"' quoted string; '<' heredoc
	// ops counts unary and conditional operators in the current expression,
	// each of which the parser also recurses on.
	ops int
	// directives counts open %{if} and %{for} in a template.
	directives int
	marker     []byte // heredoc end marker
}

// checkNesting finds the first place where src nests deeper than
// MaxNestingDepth, without parsing it: a linear scan that knows just enough
// of HCL (or JSON) syntax — strings, escapes, heredocs, comments,
// interpolations — not to count brackets inside strings. Where it cannot
// tell, it counts a level too many rather than one too few, so the parser
// never recurses deeper than the limit.
func checkNesting(src []byte, filename string, json bool) *hcl.Diagnostic {
	s := &nestingScan{src: src, json: json, stack: []scanFrame{{kind: '{'}}}
	if at := s.run(); at >= 0 {
		pos := posAt(src, at)
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Nesting too deep",
			Detail: fmt.Sprintf("This file nests brackets, strings, interpolations or operators more than %d levels deep, "+
				"so skyplan refuses it before parsing. Flatten the expression, e.g. with local values.", MaxNestingDepth),
			Subject: &hcl.Range{Filename: filename, Start: pos, End: hcl.Pos{Line: pos.Line, Column: pos.Column + 1, Byte: pos.Byte + 1}}}
	}
	return nil
}

type nestingScan struct {
	src   []byte
	json  bool
	stack []scanFrame
	// depth counts the open frames beyond the file itself, plus their
	// operators and template directives.
	depth int
}

// run returns the offset where the limit is passed, or -1.
func (s *nestingScan) run() int {
	src := s.src
	prev := byte('{') // last significant code character, to tell unary minus
	for i := 0; i < len(src); i++ {
		c := src[i]
		top := &s.stack[len(s.stack)-1]
		switch top.kind {
		case '"':
			switch {
			case c == '\\':
				i++ // the escaped character
			case c == '"' || c == '\n': // a newline ends an unterminated string; the parser reports it
				s.pop()
				prev = '"'
			case s.json:
			default:
				if opened, tooDeep := s.template(&i, top); tooDeep {
					return i
				} else if opened {
					prev = '{'
				}
			}
		case '<':
			if i == 0 || src[i-1] == '\n' {
				end := bytes.IndexByte(src[i:], '\n')
				if end < 0 {
					end = len(src) - i
				}
				if bytes.Equal(bytes.TrimSpace(src[i:i+end]), top.marker) {
					s.pop()
					i += end - 1
					prev = 'x'
					continue
				}
			}
			if opened, tooDeep := s.template(&i, top); tooDeep {
				return i
			} else if opened {
				prev = '{'
			}
		default: // code
			switch c {
			case ' ', '\t', '\r':
				continue
			case '\n':
				if top.kind == '{' { // a newline ends an attribute in a body or an object
					s.depth -= top.ops
					top.ops = 0
				}
				prev = '{'
				continue
			case ',':
				s.depth -= top.ops
				top.ops = 0
			case '{', '[', '(':
				if s.push(scanFrame{kind: c}) {
					return i
				}
			case '}', ']', ')':
				s.pop()
			case '"':
				if s.push(scanFrame{kind: '"'}) {
					return i
				}
			case '#':
				if !s.json {
					i = lineEnd(src, i) - 1
					continue
				}
			case '/':
				if !s.json && i+1 < len(src) && src[i+1] == '/' {
					i = lineEnd(src, i) - 1
					continue
				}
				if !s.json && i+1 < len(src) && src[i+1] == '*' {
					if j := bytes.Index(src[i+2:], []byte("*/")); j >= 0 {
						i += 2 + j + 1
					} else {
						i = len(src)
					}
					continue
				}
			case '!', '?', '-':
				unary := c == '?' || c == '!' && (i+1 >= len(src) || src[i+1] != '=') || c == '-' && opensOperand(prev)
				if unary && !s.json {
					top.ops++
					s.depth++
					if s.depth > MaxNestingDepth {
						return i
					}
				}
			case '<':
				if !s.json && i+1 < len(src) && src[i+1] == '<' {
					if marker, nl := heredocStart(src, i+2); marker != nil {
						if s.push(scanFrame{kind: '<', marker: marker}) {
							return i
						}
						i = nl // the body starts on the next line
						continue
					}
				}
			}
			prev = c
		}
	}
	return -1
}

func (s *nestingScan) push(f scanFrame) bool {
	s.stack = append(s.stack, f)
	s.depth++
	return s.depth > MaxNestingDepth
}

func (s *nestingScan) pop() {
	if len(s.stack) > 1 {
		top := s.stack[len(s.stack)-1]
		s.depth -= 1 + top.ops + top.directives
		s.stack = s.stack[:len(s.stack)-1]
	}
}

// template handles a template character at src[*i] inside a string or
// heredoc: $${ and %%{ are literal; ${ and %{ open an interpolation frame,
// and %{if} and %{for} one more level until the matching %{endif} or
// %{endfor}. It reports whether a frame opened and whether the limit is
// passed.
func (s *nestingScan) template(i *int, tmpl *scanFrame) (opened, tooDeep bool) {
	c := s.src[*i]
	if c != '$' && c != '%' || *i+1 >= len(s.src) {
		return false, false
	}
	switch s.src[*i+1] {
	case c:
		*i++ // $${ and %%{ are literal
		return false, false
	case '{':
	default:
		return false, false
	}
	if c == '%' {
		word := bytes.TrimLeft(s.src[*i+2:min(len(s.src), *i+40)], "~ \t")
		switch {
		case bytes.HasPrefix(word, []byte("endif")), bytes.HasPrefix(word, []byte("endfor")):
			if tmpl.directives > 0 {
				tmpl.directives--
				s.depth--
			}
		case bytes.HasPrefix(word, []byte("if")), bytes.HasPrefix(word, []byte("for")):
			tmpl.directives++
			s.depth++
		}
	}
	*i++ // the {
	return true, s.push(scanFrame{kind: '$'})
}

// heredocStart reads the marker of a heredoc whose `<<` ends before src[at]
// (`<<EOT` or `<<-EOT` and the end of the line) and the offset of that
// line's newline; nil when it is no heredoc.
func heredocStart(src []byte, at int) (marker []byte, newline int) {
	j := at
	if j < len(src) && src[j] == '-' {
		j++
	}
	start := j
	for j < len(src) && (src[j] == '_' || src[j] == '-' || src[j] >= 'a' && src[j] <= 'z' || src[j] >= 'A' && src[j] <= 'Z' || src[j] >= '0' && src[j] <= '9') {
		j++
	}
	if j == start {
		return nil, 0
	}
	marker = src[start:j]
	for j < len(src) && (src[j] == ' ' || src[j] == '\t' || src[j] == '\r') {
		j++
	}
	if j >= len(src) || src[j] != '\n' {
		return nil, 0
	}
	return marker, j
}

// lineEnd is the offset of the newline ending the line at i, or len(src).
func lineEnd(src []byte, i int) int {
	if j := bytes.IndexByte(src[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(src)
}

// opensOperand reports whether a minus after c starts an operand (unary).
func opensOperand(c byte) bool {
	switch c {
	case '{', '[', '(', ',', '=', '+', '-', '*', '/', '%', '<', '>', '!', '&', '|', '?', ':':
		return true
	}
	return false
}

// posAt is the line and column of a byte offset.
func posAt(src []byte, offset int) hcl.Pos {
	offset = min(offset, len(src))
	line := 1 + bytes.Count(src[:offset], []byte("\n"))
	col := offset - bytes.LastIndexByte(src[:offset], '\n')
	return hcl.Pos{Line: line, Column: col, Byte: offset}
}
