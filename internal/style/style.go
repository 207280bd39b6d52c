// Package style is how skyplan writes for people: ANSI colours (only when
// the output is a terminal and NO_COLOR is unset; the CLI decides), source
// paths relative to the working directory, and HCL diagnostics with a
// file:line:col and a snippet. Plans, lint reports, apply progress and the
// CLI's own errors all write through it, so they look alike.
package style

import (
	"path/filepath"
	"strings"
)

// Code is an ANSI SGR sequence.
type Code string

const (
	Reset      Code = "\x1b[0m"
	Bold       Code = "\x1b[1m"
	Red        Code = "\x1b[31m"
	Green      Code = "\x1b[32m"
	Yellow     Code = "\x1b[33m"
	Cyan       Code = "\x1b[36m"
	RedBold    Code = "\x1b[1;31m"
	YellowBold Code = "\x1b[1;33m"
)

// Painter colours text when Color is set and leaves it plain otherwise.
type Painter struct{ Color bool }

// Paint wraps s in code (and a reset) when colour is on.
func (p Painter) Paint(code Code, s string) string {
	if !p.Color || code == "" {
		return s
	}
	return string(code) + s + string(Reset)
}

// DisplayPath shows a path relative to the working directory when it lies
// below it, so editors and CI logs can open file:line:col.
func DisplayPath(p string) string {
	if rel, err := filepath.Rel(".", p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}
