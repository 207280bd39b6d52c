package providertest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Progress collects an apply's progress lines; Add is an ApplyRequest's
// Progress func. Safe for the concurrent reports of parallel node work.
type Progress struct {
	mu    sync.Mutex
	lines []string
}

func (p *Progress) Add(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, msg)
}

// Index is the position of the first line containing substr, or -1.
func (p *Progress) Index(substr string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.IndexFunc(p.lines, func(s string) bool { return strings.Contains(s, substr) })
}

// String lists the lines, for failure messages.
func (p *Progress) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("%q", p.lines)
}
