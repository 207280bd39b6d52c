package spec

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// A saved plan's values replace defaults; values given again still win, so
// a differing one changes the hash and the plan is refused as stale.
func TestSavedVariables(t *testing.T) {
	src := map[string][]byte{"main.hcl": []byte(`
variable "nodes" {
  type    = number
  default = 2
}
variable "token" {
  type = string
}
`)}
	load := func(opts Options) *Config {
		t.Helper()
		cfg, diags := LoadSources(src, opts)
		if diags.HasErrors() {
			t.Fatalf("load: %v", diags)
		}
		return cfg
	}
	saved := map[string]cty.Value{"nodes": cty.NumberIntVal(5), "token": cty.StringVal("t"), "gone": cty.True}
	fromPlan := load(Options{Saved: saved})
	if n := fromPlan.Variables["nodes"]; !n.RawEquals(cty.NumberIntVal(5)) {
		t.Errorf("nodes = %#v, want the saved 5", n)
	}
	if fromPlan.Hash != load(Options{Vars: []string{"nodes=5", "token=t"}}).Hash {
		t.Error("loading with the saved values hashes differently from the plan they were saved with")
	}
	again := load(Options{Saved: saved, Vars: []string{"nodes=7"}})
	if n := again.Variables["nodes"]; !n.RawEquals(cty.NumberIntVal(7)) || again.Hash == fromPlan.Hash {
		t.Errorf("-var given again: nodes = %#v, hash changed = %v", n, again.Hash != fromPlan.Hash)
	}
	// A saved value no longer of the variable's type is ignored: the
	// variable is then required again, as without a plan.
	if _, diags := LoadSources(src, Options{Saved: map[string]cty.Value{"nodes": cty.StringVal("x"), "token": cty.ListValEmpty(cty.String)}}); !diags.HasErrors() {
		t.Error("a saved value of the wrong type was used")
	}
}
