package planner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/skyplan/skyplan/state"
)

// SavedPlan is the file written by `plan -out`: the plan plus what binds it
// to the state and spec it was made from.
type SavedPlan struct {
	Kind string `json:"kind"`
	*Plan
}

const savedPlanKind = "skyplan-plan"

// WriteFile saves a plan (0600: it may contain configuration values).
func WriteFile(path string, p *Plan) error {
	b, err := json.MarshalIndent(SavedPlan{Kind: savedPlanKind, Plan: p}, "", "  ")
	if err != nil {
		return err
	}
	return state.WriteFileAtomic(path, b)
}

// ReadFile loads a saved plan.
func ReadFile(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var sp SavedPlan
	if err := dec.Decode(&sp); err != nil || sp.Kind != savedPlanKind || sp.Plan == nil {
		return nil, fmt.Errorf("%s is not a skyplan plan file", path)
	}
	if sp.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("%s has plan format %s; this skyplan reads format %s", path, sp.FormatVersion, FormatVersion)
	}
	for _, c := range sp.Changes {
		c.After = state.NormalizeAttrs(c.After)
		if c.Prior != nil {
			c.Prior.Attrs = state.NormalizeAttrs(c.Prior.Attrs)
		}
		for i := range c.Attrs {
			c.Attrs[i].Before = state.NormalizeValue(c.Attrs[i].Before)
			c.Attrs[i].After = state.NormalizeValue(c.Attrs[i].After)
		}
	}
	return sp.Plan, nil
}

// CheckCurrent refuses a saved plan whose state or spec moved on since.
func (p *Plan) CheckCurrent(st *state.State, specHash string) error {
	if st.Lineage != p.Lineage && !(p.Serial == 0 && st.Serial == 0) {
		return fmt.Errorf("saved plan is stale: it was made for state lineage %s, but the state now has lineage %s; run skyplan plan again", p.Lineage, st.Lineage)
	}
	if st.Serial != p.Serial {
		return fmt.Errorf("saved plan is stale: the state changed since it was made (serial %d → %d); run skyplan plan again", p.Serial, st.Serial)
	}
	if specHash != p.SpecHash {
		return fmt.Errorf("saved plan is stale: the spec or its variables changed since it was made; run skyplan plan again")
	}
	return nil
}
