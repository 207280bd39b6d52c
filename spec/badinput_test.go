package spec_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/skyplan/skyplan/spec"
)

// loadWithin runs load and fails the test if it does not return in time, so
// a blocking read fails the test instead of hanging it.
func loadWithin(t *testing.T, load func() (*spec.Config, hcl.Diagnostics)) (*spec.Config, hcl.Diagnostics) {
	t.Helper()
	type result struct {
		cfg   *spec.Config
		diags hcl.Diagnostics
	}
	done := make(chan result, 1)
	go func() {
		cfg, diags := load()
		done <- result{cfg, diags}
	}()
	select {
	case r := <-done:
		return r.cfg, r.diags
	case <-time.After(20 * time.Second):
		t.Fatal("loading did not return: it blocks on its input")
		return nil, nil
	}
}

// diagText is everything a diagnostic could print besides source snippets.
func diagText(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "%s\n%s\n", d.Summary, d.Detail)
		if d.Subject != nil {
			fmt.Fprintf(&b, "%s\n", d.Subject)
		}
	}
	return b.String()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestDeepNestingIsRefusedBeforeParsing(t *testing.T) {
	const n = 100_000
	rep := strings.Repeat
	cases := []struct{ name, src string }{
		{"lists", "locals {\n  x = " + rep("[", n) + rep("]", n) + "\n}\n"},
		{"parentheses", "locals {\n  x = " + rep("(", n) + "1" + rep(")", n) + "\n}\n"},
		{"objects", "locals {\n  x = " + rep("{a=", n) + "1" + rep("}", n) + "\n}\n"},
		{"blocks", rep("a {\n", n) + rep("}\n", n)},
		{"interpolations", "locals {\n  x = " + rep(`"${`, n) + "1" + rep(`}"`, n) + "\n}\n"},
		{"template directives", "locals {\n  x = \"" + rep("%{if true}", n) + rep("%{endif}", n) + "\"\n}\n"},
		{"negations", "locals {\n  x = " + rep("!", n) + "true\n}\n"},
		{"unary minus", "locals {\n  x = " + rep("-", n) + "1\n}\n"},
		{"conditionals", "locals {\n  x = " + rep("true ? 1 : ", n) + "2\n}\n"},
		{"unclosed", "locals {\n  x = " + rep("[", n) + "\n}\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := loadWithin(t, func() (*spec.Config, hcl.Diagnostics) {
				return spec.LoadSources(map[string][]byte{"deep.hcl": []byte(tc.src)}, spec.Options{})
			})
			d := caseFindDiag(t, diags, "Nesting too deep")
			if d.Subject == nil || d.Subject.Filename != "deep.hcl" || d.Subject.Start.Line < 1 {
				t.Errorf("subject = %v, want a line of deep.hcl", d.Subject)
			}
			if len(diags) != 1 {
				t.Errorf("%d diagnostics, want the one:\n%s", len(diags), diagText(diags))
			}
		})
	}
	// The same limit guards variable files (HCL and JSON) and -var values.
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "deep.vars.hcl"), "v = "+rep("[", n)+rep("]", n)+"\n")
	writeFile(t, filepath.Join(dir, "deep.json"), `{"v": `+rep("[", n)+rep("]", n)+"}")
	for _, vf := range []string{"deep.vars.hcl", "deep.json"} {
		_, diags := spec.LoadSources(map[string][]byte{"main.hcl": []byte("variable \"v\" {}\n")},
			spec.Options{Dir: dir, VarFiles: []string{filepath.Join(dir, vf)}})
		caseFindDiag(t, diags, "Nesting too deep")
	}
	_, diags := spec.LoadSources(map[string][]byte{"main.hcl": []byte("variable \"v\" {\n  type = list(any)\n}\n")},
		spec.Options{Vars: []string{"v=" + rep("[", n) + rep("]", n)}})
	if d := caseFindDiag(t, diags, "Invalid value for variable"); !strings.Contains(d.Detail, "nested more than") {
		t.Errorf("detail %q does not say why", d.Detail)
	}
}

func TestNestingWithinTheLimitLoads(t *testing.T) {
	// Brackets in strings, comments and heredocs do not count, and real
	// nesting up to the limit parses.
	deep := spec.MaxNestingDepth - 5
	src := caseBase + `
# ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((
// [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
/* {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{ */
locals {
  braces   = "` + strings.Repeat("{[(", 200) + `"
  escaped  = "` + strings.Repeat(`\"$${`, 200) + `"
  nested   = ` + strings.Repeat("[", deep) + `"x"` + strings.Repeat("]", deep) + `
  negated  = ` + strings.Repeat("!", 10) + `true
  minus    = 10 - 1 - 2 - 3 - 4 - 5 - 6 - 7 - 8 - 9 - 10 - 11 - 12 - 13 - 14 - 15 - 16 - 17 - 18 - 19 - 20
  unequal  = ` + strings.Repeat("1 != 2 && ", 150) + `true
  heredoc  = <<EOT
` + strings.Repeat("{[(", 300) + `
EOT
}
` + strings.Repeat("# a ? b : c\n", 300)
	for i := range 150 {
		src += fmt.Sprintf("locals {\n  cond%d = true ? 1 : 2\n}\n", i)
	}
	cfg, diags := spec.LoadSources(map[string][]byte{"main.hcl": []byte(src)}, spec.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if cfg.Resource("bucket.base") == nil {
		t.Error("bucket.base not loaded")
	}
}

func TestFileSizeIsLimited(t *testing.T) {
	big := bytes.Repeat([]byte("# fifty megabytes of comments\n"), 50<<20/30)
	_, diags := spec.LoadSources(map[string][]byte{"big.hcl": big, "main.hcl": []byte(caseBase)}, spec.Options{})
	d := caseFindDiag(t, diags, "Cannot read spec file")
	if !strings.Contains(d.Detail, "big.hcl") || !strings.Contains(d.Detail, "8 MiB") || d.Subject.Filename != "big.hcl" {
		t.Errorf("diagnostic %q (%v) should name big.hcl and the limit", d.Detail, d.Subject)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.hcl"), caseBase)
	if err := os.WriteFile(filepath.Join(dir, "big.hcl"), big, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := spec.Load(spec.Options{Dir: dir})
	d = caseFindDiag(t, diags, "Cannot read spec file")
	if !strings.Contains(d.Detail, filepath.Join(dir, "big.hcl")) {
		t.Errorf("detail %q does not name the file", d.Detail)
	}
	if _, kept := cfg.Sources[filepath.Join(dir, "big.hcl")]; kept {
		t.Error("the refused file is in Sources")
	}
	if strings.Contains(diagText(diags), "fifty megabytes") {
		t.Error("the diagnostics quote the refused file")
	}
}

func TestOnlyRegularFilesInsideTheDirectoryAreRead(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "passwd")
	writeFile(t, secret, "root:x:0:0:TOPSECRET:/root:/bin/bash\n")
	outsideSpec := filepath.Join(outside, "other.hcl")
	writeFile(t, outsideSpec, "# TOPSECRET\n"+caseBase)

	cases := []struct {
		name string
		make func(t *testing.T, path string)
		want string
	}{
		{"symlink to /dev/zero", func(t *testing.T, p string) { symlink(t, "/dev/zero", p) }, "outside the spec directory"},
		{"symlink to a file outside", func(t *testing.T, p string) { symlink(t, secret, p) }, "outside the spec directory"},
		{"symlink to a spec outside", func(t *testing.T, p string) { symlink(t, outsideSpec, p) }, "outside the spec directory"},
		{"dangling symlink", func(t *testing.T, p string) { symlink(t, filepath.Join(outside, "absent"), p) }, "x.hcl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "main.hcl"), caseBase)
			tc.make(t, filepath.Join(dir, "x.hcl"))
			cfg, diags := loadWithin(t, func() (*spec.Config, hcl.Diagnostics) { return spec.Load(spec.Options{Dir: dir}) })
			d := caseFindDiag(t, diags, "Cannot read spec file")
			if !strings.Contains(d.Detail, filepath.Join(dir, "x.hcl")) || !strings.Contains(d.Detail, tc.want) {
				t.Errorf("detail %q should name x.hcl and say %q", d.Detail, tc.want)
			}
			if strings.Contains(diagText(diags), "TOPSECRET") {
				t.Error("diagnostics show the target's content")
			}
			for p, b := range cfg.Sources {
				if bytes.Contains(b, []byte("TOPSECRET")) || strings.HasPrefix(p, outside) {
					t.Errorf("Sources holds %s, which is outside the spec directory", p)
				}
			}
		})
	}
	t.Run("symlink inside the directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "shared"), 0o700); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "shared", "base.hcl"), caseBase)
		symlink(t, filepath.Join("shared", "base.hcl"), filepath.Join(dir, "main.hcl"))
		cfg, diags := spec.Load(spec.Options{Dir: dir})
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		if cfg.Resource("bucket.base") == nil {
			t.Error("bucket.base not loaded through the link")
		}
	})
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestVariableFilesAreCheckedAndNeverQuotedFromOutside(t *testing.T) {
	outside := t.TempDir()
	passwd := filepath.Join(outside, "shadow")
	writeFile(t, passwd, "root:$6$TOPSECRET:19000:0:99999:7:::\n")
	secretHCL := filepath.Join(outside, "secret.hcl")
	writeFile(t, secretHCL, "root:$6$TOPSECRET:19000:0:99999:7:::\ntoken = \"TOPSECRET\"\nTOPSECRET = 1\n")
	secretJSON := filepath.Join(outside, "secret.json")
	writeFile(t, secretJSON, `{"TOPSECRET": TOPSECRET}`)
	dir := t.TempDir()
	link := filepath.Join(dir, "prod.vars.hcl")
	symlink(t, passwd, link)
	spec0 := map[string][]byte{"main.hcl": []byte(caseVarSpec)}

	cases := []struct {
		name    string
		varFile string
		summary string
	}{
		{"no .hcl or .json extension", passwd, "Cannot read variable file"},
		{"link to a file without the extension", link, "Cannot read variable file"},
		{"a device", "/dev/zero", "Cannot read variable file"},
		{"syntax errors in an HCL file outside", secretHCL, "Argument or block definition required"},
		{"syntax errors in a JSON file outside", secretJSON, "Invalid JSON keyword"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, diags := loadWithin(t, func() (*spec.Config, hcl.Diagnostics) {
				return spec.LoadSources(spec0, spec.Options{Dir: dir, VarFiles: []string{tc.varFile}})
			})
			caseFindDiag(t, diags, tc.summary)
			if strings.Contains(diagText(diags), "TOPSECRET") {
				t.Errorf("diagnostics quote the variable file:\n%s", diagText(diags))
			}
			if _, ok := cfg.Sources[tc.varFile]; ok {
				t.Error("Sources holds a variable file from outside the spec directory")
			}
			if _, ok := cfg.Files[tc.varFile]; ok {
				t.Error("Files holds a variable file from outside the spec directory")
			}
		})
	}
	// A valid file outside is read (--var-file ../prod.vars.hcl is common);
	// its problems are located, not quoted.
	valid := filepath.Join(outside, "prod.vars.hcl")
	writeFile(t, valid, "team = \"outside\"\nTOPSECRET = 1\n")
	_, diags := spec.LoadSources(spec0, spec.Options{Dir: dir, VarFiles: []string{valid}})
	d := caseFindDiag(t, diags, "Value for undeclared variable")
	if d.Subject == nil || d.Subject.Filename != valid || d.Subject.Start.Line != 2 {
		t.Errorf("subject = %v, want %s line 2", d.Subject, valid)
	}
	if strings.Contains(diagText(diags), "TOPSECRET") {
		t.Errorf("diagnostics quote the variable file:\n%s", diagText(diags))
	}
	// Inside the spec directory the same problem is shown in full.
	inside := filepath.Join(dir, "inside.vars.hcl")
	writeFile(t, inside, "team = \"inside\"\nnope = 1\n")
	cfg, diags := spec.LoadSources(spec0, spec.Options{Dir: dir, VarFiles: []string{inside}})
	if d := caseFindDiag(t, diags, "Value for undeclared variable"); !strings.Contains(d.Detail, `"nope"`) {
		t.Errorf("detail %q withheld for a file inside the spec directory", d.Detail)
	}
	if _, ok := cfg.Sources[inside]; !ok {
		t.Error("Sources lacks a variable file inside the spec directory")
	}
}

func TestGarbageGetsAShortAnswer(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 1<<20)
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	// Without brackets the parser gets far enough to complain about every token.
	flat := bytes.Map(func(r rune) rune {
		if strings.ContainsRune("{}[]()\"<!?-$%", r) {
			return -1
		}
		return r
	}, random)
	words := bytes.Repeat([]byte("= = x y ; @ "), (1<<20)/12)
	for name, src := range map[string][]byte{"random": random, "flat": flat, "words": words} {
		t.Run(name, func(t *testing.T) {
			_, diags := spec.LoadSources(map[string][]byte{"garbage.hcl": src, "main.hcl": []byte(caseBase)}, spec.Options{})
			if !diags.HasErrors() {
				t.Fatal("garbage loaded")
			}
			if len(diags) > spec.MaxDiagnosticsPerFile+1 {
				t.Errorf("%d diagnostics for one file, want at most %d", len(diags), spec.MaxDiagnosticsPerFile+1)
			}
			if n := len(diagText(diags)); n > 64<<10 {
				t.Errorf("%d bytes of diagnostics", n)
			}
		})
	}
	// Capped: the last one counts the rest and points at the first left out.
	_, diags := spec.LoadSources(map[string][]byte{"garbage.hcl": words}, spec.Options{})
	last := diags[len(diags)-1]
	if !strings.HasPrefix(last.Summary, "And ") || !strings.Contains(last.Summary, "more errors in garbage.hcl") || last.Subject == nil {
		t.Errorf("last diagnostic = %q (%v), want a count of the rest", last.Summary, last.Subject)
	}
}

// countdownContext is done after its Err has been asked a number of times:
// a deterministic way to cancel loading part way.
type countdownContext struct {
	context.Context
	left atomic.Int64
}

func (c *countdownContext) Err() error {
	if c.left.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func TestLoadingStopsWhenCancelled(t *testing.T) {
	sources := map[string][]byte{"a.hcl": []byte(caseBase), "b.hcl": []byte("bucket \"b\" {\n  cloud = \"aws\"\n  name  = \"b-bucket\"\n}\n")}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, diags := spec.LoadSources(sources, spec.Options{Context: cancelled})
	caseFindDiag(t, diags, "Loading interrupted")

	dir := t.TempDir()
	for p, b := range sources {
		writeFile(t, filepath.Join(dir, p), string(b))
	}
	_, diags = spec.Load(spec.Options{Dir: dir, Context: cancelled})
	caseFindDiag(t, diags, "Loading interrupted")

	// Cancelled after the files are parsed, between blocks.
	for _, after := range []int64{2, 4} {
		ctx := &countdownContext{Context: context.Background()}
		ctx.left.Store(after)
		cfg, diags := spec.LoadSources(sources, spec.Options{Context: ctx})
		caseFindDiag(t, diags, "Loading interrupted")
		if len(cfg.Resources) == 2 {
			t.Errorf("cancelled after %d checks, yet every resource was decoded", after)
		}
	}
	// Not cancelled: loads.
	if _, diags := spec.LoadSources(sources, spec.Options{Context: context.Background()}); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
}
