//go:build unix

package spec_test

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/skyplan/skyplan/spec"
)

func TestFIFONamedLikeASpecFileIsNeverOpened(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.hcl"), caseBase)
	fifo := filepath.Join(dir, "x.hcl")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	_, diags := loadWithin(t, func() (*spec.Config, hcl.Diagnostics) { return spec.Load(spec.Options{Dir: dir}) })
	d := caseFindDiag(t, diags, "Cannot read spec file")
	if !strings.Contains(d.Detail, fifo) || !strings.Contains(d.Detail, "named pipe") {
		t.Errorf("detail %q should name the FIFO", d.Detail)
	}
	// As a variable file too (and through a link inside the directory).
	vf := filepath.Join(dir, "fifo.json")
	symlink(t, fifo, vf)
	_, diags = loadWithin(t, func() (*spec.Config, hcl.Diagnostics) {
		return spec.LoadSources(map[string][]byte{"main.hcl": []byte(caseBase)}, spec.Options{Dir: dir, VarFiles: []string{fifo, vf}})
	})
	caseFindDiag(t, diags, "Cannot read variable file")
	if n := strings.Count(diagText(diags), "named pipe"); n != 2 {
		t.Errorf("%d variable-file errors name the pipe, want 2:\n%s", n, diagText(diags))
	}
}

func TestFIFOGivenAsTheDirectoryIsNeverOpened(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "dir")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	_, diags := loadWithin(t, func() (*spec.Config, hcl.Diagnostics) { return spec.Load(spec.Options{Dir: fifo}) })
	if d := caseFindDiag(t, diags, "Cannot read spec directory"); !strings.Contains(d.Detail, "not a directory") {
		t.Errorf("detail %q", d.Detail)
	}
}
