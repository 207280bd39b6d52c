package spec

import (
	"bytes"
	"runtime"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// chunkSize is about what a piece of a file parsed on its own holds:
// small enough that the tokens of the pieces being parsed (the lexer keeps
// ~100 bytes per token) are a fraction of the file's, large enough that
// the cuts cost nothing. Tests lower it.
var chunkSize = 128 << 10

// parseConfig is hclsyntax.ParseConfig, on every CPU for a large file: the
// file is cut between top-level blocks into pieces parsed concurrently
// (each at its true position, so every range is the file's), and their
// bodies are joined. Parsing one 1 MB file was most of the time a big spec
// took to load, and one core idled. A cut is where a line starts a block
// right after a line that is only "}"; if a cut fell inside something
// (a heredoc, a comment), the piece before it ends unterminated and fails
// to parse, and so does any piece with a problem of its own: then the whole
// file is parsed as one, so diagnostics are exactly the parser's.
func parseConfig(src []byte, path string) (*hcl.File, hcl.Diagnostics) {
	cuts := chunkCuts(src)
	if len(cuts) == 0 {
		return hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	}
	bounds := append(append([]int{0}, cuts...), len(src))
	files := make([]*hcl.File, len(bounds)-1)
	clean := make([]bool, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(len(files), runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := range next {
				files[i], clean[i] = parseChunk(src, path, bounds[i], bounds[i+1])
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	if f := joinChunks(src, files, clean); f != nil {
		return f, nil
	}
	return hclsyntax.ParseConfig(src, path, hcl.InitialPos)
}

// parseChunk parses src[from:to] at its place in the file; clean says it
// parsed without a diagnostic (or panic: the whole-file parse reports it).
func parseChunk(src []byte, path string, from, to int) (f *hcl.File, clean bool) {
	defer func() {
		if recover() != nil {
			f, clean = nil, false
		}
	}()
	start := hcl.Pos{Line: 1 + bytes.Count(src[:from], []byte("\n")), Column: 1, Byte: from}
	f, diags := hclsyntax.ParseConfig(src[from:to], path, start)
	return f, len(diags) == 0
}

// joinChunks joins cleanly parsed pieces into one file, or returns nil when
// a piece did not parse cleanly or a top-level attribute is set twice (the
// whole-file parse says so).
func joinChunks(src []byte, files []*hcl.File, clean []bool) *hcl.File {
	joined := &hclsyntax.Body{Attributes: hclsyntax.Attributes{}}
	nav := chunkNav{}
	for i, f := range files {
		if !clean[i] || f == nil {
			return nil
		}
		body, ok := f.Body.(*hclsyntax.Body)
		if !ok {
			return nil
		}
		for name, a := range body.Attributes {
			if _, dup := joined.Attributes[name]; dup {
				return nil
			}
			joined.Attributes[name] = a
		}
		joined.Blocks = append(joined.Blocks, body.Blocks...)
		nav = append(nav, chunkNavPart{body.SrcRange, f.Nav})
		if i == 0 {
			joined.SrcRange.Filename, joined.SrcRange.Start = body.SrcRange.Filename, body.SrcRange.Start
		}
		joined.SrcRange.End, joined.EndRange = body.SrcRange.End, body.EndRange
	}
	return &hcl.File{Body: joined, Bytes: src, Nav: nav}
}

// chunkCuts returns the offsets, in order, that split src into pieces of
// about chunkSize, each at the start of a line that begins a top-level
// block right after a line that is only "}".
func chunkCuts(src []byte) []int {
	var cuts []int
	for from := chunkSize; from < len(src)-chunkSize/2; {
		at := nextBlockStart(src, from)
		if at < 0 || len(src)-at < chunkSize/2 {
			break
		}
		cuts = append(cuts, at)
		from = at + chunkSize
	}
	return cuts
}

// nextBlockStart is the first offset at or after from that starts a line
// beginning with a letter, right after a line "}" (blank lines between),
// or -1.
func nextBlockStart(src []byte, from int) int {
	for at := from; at < len(src); {
		nl := bytes.IndexByte(src[at:], '\n')
		if nl < 0 {
			return -1
		}
		at += nl + 1
		if at < len(src) && isLetter(src[at]) && closesBlock(src[:at]) {
			return at
		}
	}
	return -1
}

// closesBlock reports whether the last non-blank line of before is "}".
func closesBlock(before []byte) bool {
	for len(before) > 0 {
		end := len(before)
		start := bytes.LastIndexByte(before[:end-1], '\n') + 1
		line := bytes.TrimRight(before[start:end], " \t\r\n")
		if len(line) > 0 {
			return string(line) == "}"
		}
		before = before[:start]
	}
	return false
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// chunkNav is the joined file's editor navigation (hcl.File.Nav, which
// diagnostics use to say "in cluster "x""): each piece's own, by range.
type chunkNav []chunkNavPart

type chunkNavPart struct {
	rng hcl.Range
	nav any
}

func (n chunkNav) part(offset int) any {
	for _, p := range n {
		if p.rng.ContainsOffset(offset) {
			return p.nav
		}
	}
	return nil
}

// ContextString implements hcled's ContextString.
func (n chunkNav) ContextString(offset int) string {
	if cs, ok := n.part(offset).(interface{ ContextString(int) string }); ok {
		return cs.ContextString(offset)
	}
	return ""
}

// ContextDefRange implements hcled's ContextDefRange.
func (n chunkNav) ContextDefRange(offset int) hcl.Range {
	if cd, ok := n.part(offset).(interface{ ContextDefRange(int) hcl.Range }); ok {
		return cd.ContextDefRange(offset)
	}
	return hcl.Range{}
}
