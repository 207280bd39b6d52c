package planner

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// HoursPerMonth is the month monthly costs are counted in, as cloud price
// pages count it.
const HoursPerMonth = 730

// Currency is the currency of every price (the catalog's).
const Currency = "USD"

// Rate is an amount of money per hour, and the same per month.
type Rate struct {
	Hourly  float64 `json:"hourly"`
	Monthly float64 `json:"monthly"`
}

// PerHour makes a Rate from an hourly amount, rounded as it is shown
// (hourly to 6 decimals, monthly to cents) so JSON and text agree.
func PerHour(usd float64) Rate {
	return Rate{Hourly: roundTo(usd, 6), Monthly: roundTo(usd*HoursPerMonth, 2)}
}

func roundTo(v float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	r := math.Round(v*p) / p
	if r == 0 {
		return 0 // no -0 in output
	}
	return r
}

// CostSide is what a resource costs on one side of a change.
type CostSide struct {
	Rate
	// Basis says what the figure is made of: "2 × g5.xlarge (on-demand, us-east-1) at $1.006/h".
	Basis    string `json:"basis"`
	Spot     bool   `json:"spot"`
	Estimate bool   `json:"estimate"`
}

// Cost is what one resource costs before and after its change. Before is
// nil when nothing exists yet (create), After when nothing will (delete).
// A resource the data has no price for is Excluded (with why) and carries
// no figures: it is left out of the plan's totals, never guessed.
type Cost struct {
	Currency string    `json:"currency"`
	Priced   bool      `json:"priced"`
	Excluded string    `json:"excluded,omitempty"`
	Before   *CostSide `json:"before"`
	After    *CostSide `json:"after"`
	Delta    *Rate     `json:"delta"`
	Estimate bool      `json:"estimate"`
	Notes    []string  `json:"notes"`
}

// PlanCost totals the priced changes of a plan (no-ops included, so Before
// and After are the workspace's whole priced cost).
type PlanCost struct {
	Currency      string         `json:"currency"`
	HoursPerMonth int            `json:"hours_per_month"`
	Before        Rate           `json:"before"`
	After         Rate           `json:"after"`
	Delta         Rate           `json:"delta"`
	Estimate      bool           `json:"estimate"`
	Excluded      []ExcludedCost `json:"excluded"`
	Notes         []string       `json:"notes"`
}

// ExcludedCost is a resource left out of the totals, and why.
type ExcludedCost struct {
	Address string `json:"address"`
	Reason  string `json:"reason"`
}

// TotalCost sums the changes' costs into the plan's.
func TotalCost(changes []*Change, notes []string) *PlanCost {
	t := &PlanCost{Currency: Currency, HoursPerMonth: HoursPerMonth, Excluded: []ExcludedCost{}, Notes: notes}
	var before, after float64
	for _, c := range changes {
		switch {
		case c.Cost == nil:
			continue
		case !c.Cost.Priced:
			t.Excluded = append(t.Excluded, ExcludedCost{Address: c.Address, Reason: c.Cost.Excluded})
			continue
		}
		if c.Cost.Before != nil {
			before += c.Cost.Before.Hourly
		}
		if c.Cost.After != nil {
			after += c.Cost.After.Hourly
		}
		t.Estimate = t.Estimate || c.Cost.Estimate
	}
	t.Before, t.After, t.Delta = PerHour(before), PerHour(after), PerHour(after-before)
	if t.Notes == nil {
		t.Notes = []string{}
	}
	return t
}

// NewCost makes a change's cost from its two sides.
func NewCost(before, after *CostSide, notes []string) *Cost {
	c := &Cost{Currency: Currency, Priced: true, Before: before, After: after, Notes: notes}
	var b, a float64
	if before != nil {
		b = before.Hourly
		c.Estimate = before.Estimate
	}
	if after != nil {
		a = after.Hourly
		c.Estimate = c.Estimate || after.Estimate
	}
	d := PerHour(a - b)
	c.Delta = &d
	if c.Notes == nil {
		c.Notes = []string{}
	}
	return c
}

// ExcludedFromCost is the cost of a resource the data has no price for.
func ExcludedFromCost(reason string) *Cost {
	return &Cost{Currency: Currency, Excluded: reason, Notes: []string{}}
}

// Dollars formats an amount: $1,468.76; hourly amounts keep up to four
// decimals ($1.006, $0.0104), as the catalog lists them.
func Dollars(v float64, hourly bool) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	s := strconv.FormatFloat(v, 'f', 2, 64)
	if hourly {
		s = strconv.FormatFloat(roundTo(v, 4), 'f', -1, 64)
	}
	whole, frac, _ := strings.Cut(s, ".")
	for len(frac) < 2 {
		frac += "0"
	}
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sign + "$" + b.String() + "." + frac
}

// signed formats a difference with its sign: +$734.38, -$12.00, ±$0.00.
func signed(v float64, hourly bool) string {
	switch {
	case v > 0:
		return "+" + Dollars(v, hourly)
	case v < 0:
		return Dollars(v, hourly)
	}
	return "±" + Dollars(0, hourly)
}

// Line is a change's cost in one line: "$2.01/h → $3.02/h (+$734.38/mo)".
func (c *Cost) Line() string {
	if !c.Priced {
		return "not priced: " + c.Excluded
	}
	side := func(s *CostSide) float64 {
		if s == nil {
			return 0
		}
		return s.Hourly
	}
	line := fmt.Sprintf("%s/h → %s/h (%s/mo)", Dollars(side(c.Before), true), Dollars(side(c.After), true), signed(c.Delta.Monthly, false))
	switch {
	case c.After != nil && c.After.Basis != "":
		line += ": " + c.After.Basis
	case c.Before != nil && c.Before.Basis != "":
		line += ": was " + c.Before.Basis
	}
	if c.Estimate {
		line += " (estimate)"
	}
	return line
}

// Summary is the plan's cost in one line: "$1.01/h → $2.01/h; $734.38/mo →
// $1,468.76/mo (+$734.38/mo)".
func (t *PlanCost) Summary() string {
	s := fmt.Sprintf("%s/h → %s/h; %s/mo → %s/mo (%s/mo)", Dollars(t.Before.Hourly, true), Dollars(t.After.Hourly, true),
		Dollars(t.Before.Monthly, false), Dollars(t.After.Monthly, false), signed(t.Delta.Monthly, false))
	if t.Estimate {
		s += ", an estimate"
	}
	return s
}

// DeltaText is the monthly difference alone: "+$734.38/mo".
func (t *PlanCost) DeltaText() string { return signed(t.Delta.Monthly, false) + "/mo" }

// DeltaText is a change's monthly difference alone, or "not priced".
func (c *Cost) DeltaText() string {
	if !c.Priced {
		return "not priced"
	}
	s := signed(c.Delta.Monthly, false) + "/mo"
	if c.Estimate {
		s += " (est.)"
	}
	return s
}
