package main

import (
	"github.com/skyplan/skyplan/planner"
)

// ShowCmd is `skyplan show PLANFILE`.
type ShowCmd struct {
	PlanFile string `arg:"" name:"planfile" type:"path" help:"A plan saved with 'skyplan plan -out FILE'."`
	Format   string `name:"format" enum:"text,json,markdown" default:"text" help:"Output format: text, json or markdown (also -json)."`
}

// Run renders a saved plan. It reads nothing else: no spec, no state, no
// lock, no cloud; sensitive values stay hidden as in plan.
func (c *ShowCmd) Run(g *Globals) error {
	p, err := planner.ReadFile(c.PlanFile)
	if err != nil {
		return err
	}
	return renderPlan(g, p, c.Format)
}
