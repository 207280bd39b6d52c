package planner

import (
	"container/heap"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/skyplan/skyplan/spec"
)

// addrHeap yields ready addresses in order, so ties break the same way every run.
type addrHeap []string

func (h addrHeap) Len() int           { return len(h) }
func (h addrHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h addrHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *addrHeap) Push(x any)        { *h = append(*h, x.(string)) }
func (h *addrHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// order fills each change's DependsOn: creates/updates/replaces wait for the
// changes of what they reference; deletes wait for the changes of what
// referenced them (reverse order), using dependencies recorded in state.
func order(changes []*Change) error {
	byAddr := map[string]*Change{}
	for _, c := range changes {
		byAddr[c.Address] = c
	}
	// dependentDeletes[X] lists the changes of resources that referenced X:
	// X is deleted only after they are deleted, or updated or replaced to
	// stop using it (a controller moved to a new bucket, then the old bucket).
	dependentDeletes := map[string][]string{}
	bucketByName := map[string]string{}
	for _, c := range changes {
		if c.Type == spec.TypeBucket && c.Prior != nil {
			if name, ok := c.Prior.Attrs["name"].(string); ok {
				bucketByName[name] = c.Address
			}
		}
	}
	for _, c := range changes {
		if c.Action == NoOp || c.Action == Create || c.Prior == nil {
			continue
		}
		deps := c.Prior.DependsOn
		// Without state (lost, or never written) the edges are gone, but a
		// controller's bucket is still known from the cloud by name.
		if len(deps) == 0 && c.Type == spec.TypeJobsController {
			if b, ok := bucketByName[fmt.Sprint(c.Prior.Attrs["bucket"])]; ok {
				deps = []string{b}
			}
		}
		for _, d := range deps {
			dependentDeletes[d] = append(dependentDeletes[d], c.Address)
		}
	}
	for _, c := range changes {
		deps := map[string]bool{}
		switch c.Action {
		case Create, Update, Replace:
			for _, d := range c.ResourceDependsOn {
				if dc := byAddr[d]; dc != nil && (dc.Action == Create || dc.Action == Update || dc.Action == Replace) {
					deps[d] = true
				}
			}
		case Delete:
			for _, d := range dependentDeletes[c.Address] {
				deps[d] = true
			}
		}
		c.DependsOn = slices.Sorted(maps.Keys(deps))
	}
	if cycle := findCycle(changes, byAddr); cycle != nil {
		return fmt.Errorf("dependency cycle between planned changes: %s", strings.Join(cycle, " → "))
	}
	return nil
}

func findCycle(changes []*Change, byAddr map[string]*Change) []string {
	const (
		visiting = 1
		done     = 2
	)
	mark := map[string]int{}
	var stack []string
	var visit func(c *Change) []string
	visit = func(c *Change) []string {
		switch mark[c.Address] {
		case done:
			return nil
		case visiting:
			for i, a := range stack {
				if a == c.Address {
					return append(append([]string{}, stack[i:]...), c.Address)
				}
			}
		}
		mark[c.Address] = visiting
		stack = append(stack, c.Address)
		for _, d := range c.DependsOn {
			if cyc := visit(byAddr[d]); cyc != nil {
				return cyc
			}
		}
		stack = stack[:len(stack)-1]
		mark[c.Address] = done
		return nil
	}
	for _, c := range changes {
		if cyc := visit(c); cyc != nil {
			return cyc
		}
	}
	return nil
}

// sortChanges puts changes in a valid execution order (Kahn's algorithm,
// ties by address), with no-ops last, so output is stable and readable.
func sortChanges(changes []*Change) {
	indeg := map[string]int{}
	dependents := map[string][]string{}
	byAddr := map[string]*Change{}
	for _, c := range changes {
		byAddr[c.Address] = c
		indeg[c.Address] += 0
		for _, d := range c.DependsOn {
			indeg[c.Address]++
			dependents[d] = append(dependents[d], c.Address)
		}
	}
	ready := &addrHeap{}
	for a, n := range indeg {
		if n == 0 {
			heap.Push(ready, a)
		}
	}
	var out []*Change
	for ready.Len() > 0 {
		a := heap.Pop(ready).(string)
		out = append(out, byAddr[a])
		for _, dep := range dependents[a] {
			indeg[dep]--
			if indeg[dep] == 0 {
				heap.Push(ready, dep)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Action != NoOp && out[j].Action == NoOp })
	copy(changes, out)
}
