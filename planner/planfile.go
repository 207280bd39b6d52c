package planner

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/skyplan/skyplan/state"
)

// A plan file (`plan -out`) is the plan as apply needs it — values of
// sensitive attributes included, so it is written 0600 — wrapped with what
// makes it safe to hand over: a kind, a file version, and a SHA-256 of the
// plan's bytes, so a truncated or edited file is refused instead of applied.
// (The checksum guards against corruption and accidents, not against
// someone who can also rewrite it: keep plan files where CI keeps secrets.)
type planFile struct {
	Kind     string          `json:"kind"`
	Version  int             `json:"file_version"`
	Checksum string          `json:"checksum"`
	Plan     json.RawMessage `json:"plan"`
}

const (
	planFileKind    = "skyplan-plan"
	planFileVersion = 3 // 3: variable values, costs, targets
	// maxPlanFileBytes bounds what ReadFile reads (a 10,000-resource plan is
	// a few MB).
	maxPlanFileBytes = 256 << 20
)

func checksum(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// WriteFile saves a plan for `apply FILE`. Only a complete plan is saved:
// one with gaps is not the whole truth.
func WriteFile(path string, p *Plan) error {
	if !p.Complete() {
		return errors.New("the plan is incomplete (some clouds could not be observed); it is not saved")
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(planFile{Kind: planFileKind, Version: planFileVersion, Checksum: checksum(body), Plan: body}, "", "  ")
	if err != nil {
		return err
	}
	return state.WriteFileAtomic(path, b)
}

// ReadFile loads a saved plan, refusing anything that is not a whole plan
// file of this version.
func ReadFile(path string) (*Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPlanFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxPlanFileBytes {
		return nil, fmt.Errorf("%s is larger than a plan file can be (%d MiB)", path, maxPlanFileBytes>>20)
	}
	var pf planFile
	if err := json.Unmarshal(b, &pf); err != nil || pf.Kind != planFileKind {
		return nil, fmt.Errorf("%s is not a skyplan plan file", path)
	}
	if pf.Version != planFileVersion {
		return nil, fmt.Errorf("%s is plan file version %d; this skyplan reads version %d: run skyplan plan again", path, pf.Version, planFileVersion)
	}
	// The file is indented; the checksum covers the plan's compact form.
	var body bytes.Buffer
	if err := json.Compact(&body, pf.Plan); err != nil || pf.Checksum != checksum(body.Bytes()) {
		return nil, fmt.Errorf("%s is damaged or was edited (its checksum does not match); run skyplan plan again", path)
	}
	dec := json.NewDecoder(bytes.NewReader(pf.Plan))
	dec.UseNumber()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, c := range p.Changes {
		c.After = state.NormalizeAttrs(c.After)
		if c.Prior != nil {
			c.Prior.Attrs = state.NormalizeAttrs(c.Prior.Attrs)
		}
		for i := range c.Attrs {
			c.Attrs[i].Before = state.NormalizeValue(c.Attrs[i].Before)
			c.Attrs[i].After = state.NormalizeValue(c.Attrs[i].After)
		}
	}
	return &p, nil
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

// Variable is one spec variable's value as a plan file keeps it: its type
// and value in go-cty's JSON, so it reads back exactly.
type Variable struct {
	Type  json.RawMessage `json:"type"`
	Value json.RawMessage `json:"value"`
}

// EncodeVariables records variable values for a plan file.
func EncodeVariables(vars map[string]cty.Value) (map[string]Variable, error) {
	out := make(map[string]Variable, len(vars))
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		v := vars[name]
		if !v.IsWhollyKnown() {
			return nil, fmt.Errorf("variable %q has no known value; it cannot be saved with the plan", name)
		}
		t, err := ctyjson.MarshalType(v.Type())
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", name, err)
		}
		b, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", name, err)
		}
		out[name] = Variable{Type: t, Value: b}
	}
	return out, nil
}

// DecodeVariables reads the variable values a plan file holds.
func DecodeVariables(vars map[string]Variable) (map[string]cty.Value, error) {
	out := make(map[string]cty.Value, len(vars))
	for name, sv := range vars {
		t, err := ctyjson.UnmarshalType(sv.Type)
		if err != nil {
			return nil, fmt.Errorf("variable %q in the plan file: %w", name, err)
		}
		v, err := ctyjson.Unmarshal(sv.Value, t)
		if err != nil {
			return nil, fmt.Errorf("variable %q in the plan file: %w", name, err)
		}
		out[name] = v
	}
	return out, nil
}
