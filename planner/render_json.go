package planner

import (
	"encoding/json"
	"io"
)

// WriteJSON renders the plan as JSON (schema: docs/plan-json.md, versioned by
// format_version). No-ops are included so consumers see every resource.
func WriteJSON(w io.Writer, p *Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}
