package spec_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/skyplan/skyplan/spec"
)

// FuzzLoad feeds arbitrary spec text (and a -var) to the loader: it must
// never panic, and every error that points into a file must carry a Subject.
func FuzzLoad(f *testing.F) {
	f.Add(caseValidSpec, "nodes=3")
	f.Add(caseVarSpec, `zones=["a"]`)
	f.Add(caseBase, "")
	for _, tc := range caseErrorCases {
		f.Add(caseBase+tc.src, "")
	}
	// Edge cases: bad type constraint, empty -var, self- and cloud→resource references.
	f.Add("variable \"v\" {\n  type    = list(nope)\n  default = [1]\n}\n", "v=[1]")
	f.Add("variable \"v\" {\n  type    = number\n}\n", "v=")
	f.Add("locals {\n  x = local.x\n}\n", "")
	f.Add("cloud \"aws\" {\n  regions = [bucket.b.name]\n}\nbucket \"b\" {\n  cloud = \"aws\"\n  name  = \"n\"\n}\n", "")
	f.Add("cloud \"aws\" {}\nbucket \"b\" {\n  cloud = \"aws\"\n  name = \"n\"\n  region = \"r\"\n  lifecycle {\n    allow_replace = \"maybe\"\n  }\n}\n", "")
	// Collection references and functions that panic inside go-cty.
	f.Add(caseBase+"bucket \"c\" {\n  cloud  = \"aws\"\n  name   = \"c\"\n  labels = { for k, b in bucket : k => b.name if k != \"c\" }\n}\n", "")
	f.Add(caseBase+"locals {\n  all = bucket[\"base\"]\n  x   = local[\"all\"].name\n}\n", "")
	f.Add("locals {\n  a = indent(-1, \"x\\ny\")\n  b = log(-1, 10)\n  c = range(1, 1/0)\n}\n", "")
	f.Fuzz(func(t *testing.T, src, v string) {
		opts := spec.Options{}
		if v != "" {
			opts.Vars = []string{v}
		}
		type result struct {
			cfg   *spec.Config
			diags hcl.Diagnostics
		}
		done := make(chan result, 1)
		go func() {
			cfg, diags := spec.LoadSources(map[string][]byte{"main.hcl": []byte(src)}, opts)
			done <- result{cfg, diags}
		}()
		var cfg *spec.Config
		var diags hcl.Diagnostics
		select {
		case r := <-done:
			cfg, diags = r.cfg, r.diags
		case <-time.After(5 * time.Second):
			t.Fatalf("LoadSources did not return within 5s for %q (-var %q)", src, v)
		}
		if cfg == nil {
			t.Fatal("nil Config")
		}
		for _, d := range diags {
			if d.Severity == hcl.DiagError && d.Subject == nil && d.Summary != "Invalid -var option" &&
				d.Summary != "Value for undeclared variable" && d.Summary != "Invalid value for variable" {
				t.Errorf("error %q (%s) has no Subject", d.Summary, d.Detail)
			}
		}
		for _, d := range diags {
			if strings.Contains(d.Detail, "goroutine ") {
				t.Errorf("error %q carries a stack trace", d.Summary)
			}
		}
		if !diags.HasErrors() {
			for _, r := range cfg.Resources {
				if r.Cloud() == "" {
					t.Errorf("%s loaded without a cloud", r.Address())
				}
			}
		}
	})
}
