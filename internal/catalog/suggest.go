package catalog

import (
	"fmt"
	"strings"

	"github.com/agext/levenshtein"
)

// UnknownError is a name the catalog does not know, with the nearest names
// it does.
type UnknownError struct {
	Kind        string // "aws instance type", "accelerator", "TPU type", "gcp zone"
	Name        string
	Suggestions []string
	// Known lists valid names when none is near (short lists only).
	Known      []string
	KnownLabel string // what Known lists; "known" when empty
}

func (e *UnknownError) Error() string {
	msg := fmt.Sprintf("unknown %s %q", e.Kind, e.Name)
	switch {
	case len(e.Suggestions) > 0:
		msg += "; did you mean " + orList(e.Suggestions) + "?"
	case len(e.Known) > 0:
		label := e.KnownLabel
		if label == "" {
			label = "known"
		}
		msg += "; " + label + ": " + strings.Join(e.Known, ", ")
	}
	return msg
}

func orList(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// maxSuggestions caps "did you mean" lists.
const maxSuggestions = 3

// nearest returns the candidates closest to name (case-insensitive edit
// distance; a candidate that extends the name, as p4d.24xlarge extends
// p4d.24xl, counts as distance 1, unless it only adds digits to a number:
// tpu-v5p-9216 does not extend tpu-v5p-9). Only the best distance is kept, and only
// when it is small for the name's length. candidates must be sorted.
func nearest(name string, candidates []string) []string {
	name = strings.ToLower(name)
	limit := max(2, len(name)/3)
	best := limit + 1
	var out []string
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := levenshtein.Distance(name, lc, nil)
		if len(name) >= 3 && strings.HasPrefix(lc, name) && !splitsNumber(name, lc) {
			d = min(d, 1)
		}
		switch {
		case d < best:
			best, out = d, []string{c}
		case d == best && len(out) < maxSuggestions:
			out = append(out, c)
		}
	}
	return out
}

// splitsNumber reports whether the longer name continues the shorter one's
// trailing number.
func splitsNumber(short, long string) bool {
	isDigit := func(b byte) bool { return b >= '0' && b <= '9' }
	return len(long) > len(short) && isDigit(short[len(short)-1]) && isDigit(long[len(short)])
}
