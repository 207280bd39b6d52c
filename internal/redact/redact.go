// Package redact keeps sensitive values out of everything skyplan prints.
// The CLI wraps its stdout and stderr in a Writer that replaces every known
// secret with "(sensitive value)", so every path that prints (progress
// lines, IDs, lint findings and fixes, errors, state show) is covered at
// once, whatever the code that printed it knew about sensitivity.
package redact

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Replacement is what a secret is printed as.
const Replacement = "(sensitive value)"

// MinLength is the shortest value that is redacted: shorter ones ("1",
// "eu") would blank out ordinary words and numbers all over the output.
const MinLength = 4

// maxLine bounds how much output waits for its line to end.
const maxLine = 64 << 10

// Secrets is a set of values never to print. Safe for concurrent use.
type Secrets struct {
	mu       sync.RWMutex
	values   map[string]bool
	replacer *strings.Replacer
}

// Add registers values; it returns those too short to be redacted.
// Each value is also registered as JSON and Go quoting escape it.
func (s *Secrets) Add(values ...string) (tooShort []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]bool{}
	}
	changed := false
	for _, v := range values {
		if len(v) < MinLength {
			if v != "" {
				tooShort = append(tooShort, v)
			}
			continue
		}
		for _, form := range forms(v) {
			if !s.values[form] {
				s.values[form] = true
				changed = true
			}
		}
	}
	if changed {
		// Longest first, so a secret containing another is replaced whole.
		all := slices.Collect(maps.Keys(s.values))
		slices.SortFunc(all, func(a, b string) int {
			if len(a) != len(b) {
				return len(b) - len(a)
			}
			return strings.Compare(a, b)
		})
		pairs := make([]string, 0, 2*len(all))
		for _, v := range all {
			pairs = append(pairs, v, Replacement)
		}
		s.replacer = strings.NewReplacer(pairs...)
	}
	return tooShort
}

// forms are the spellings of v that output may contain: as is, escaped
// inside a JSON string, escaped inside a Go-quoted string (%q in errors).
func forms(v string) []string {
	out := []string{v}
	if b, err := json.Marshal(v); err == nil {
		out = append(out, string(b[1:len(b)-1]))
	}
	q := strconv.Quote(v)
	out = append(out, q[1:len(q)-1])
	return slices.Compact(slices.Sorted(slices.Values(out)))
}

// Redact replaces every secret in s.
func (s *Secrets) Redact(text string) string {
	s.mu.RLock()
	r := s.replacer
	s.mu.RUnlock()
	if r == nil {
		return text
	}
	return r.Replace(text)
}

// Writer redacts what passes through it. It holds back an unfinished line
// (up to 64 KiB), so a secret written in pieces is still caught; Flush
// writes out what is held back (before a prompt, and at exit).
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	secrets *Secrets
	pending []byte
}

// NewWriter wraps w.
func NewWriter(w io.Writer, secrets *Secrets) *Writer {
	return &Writer{w: w, secrets: secrets}
}

// Write redacts and writes every complete line of p.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, p...)
	end := bytes.LastIndexByte(w.pending, '\n') + 1
	if end == 0 && len(w.pending) < maxLine {
		return len(p), nil
	}
	if end == 0 {
		end = len(w.pending)
	}
	if err := w.emit(end); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes out the unfinished line, redacted.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.emit(len(w.pending))
}

func (w *Writer) emit(n int) error {
	if n == 0 {
		return nil
	}
	out := w.secrets.Redact(string(w.pending[:n]))
	w.pending = append(w.pending[:0], w.pending[n:]...)
	_, err := io.WriteString(w.w, out)
	return err
}
