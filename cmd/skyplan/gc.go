package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/skyplan/skyplan/spec"
)

// bigSpec is the spec size (*.hcl bytes in the directory) from which the
// garbage collector may use more memory to take less time: about 30,000
// resources, where a run already holds over 500 MB and is bound by CPU.
// Below it Go's default keeps 10,000 resources under 256 MB peak RSS.
const bigSpec = 4 << 20

// bigSpecGCPercent is GOGC for big specs: at 100,000 resources it cut CPU
// time by about a quarter for half as much memory again (docs/PERFORMANCE.md).
const bigSpecGCPercent = 300

// tuneGC raises GOGC for a big spec, unless the environment sets GOGC.
func tuneGC(dir string) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return // loading reports it
	}
	var size int64
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), spec.SpecFileSuffix) {
			continue
		}
		if info, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && info.Mode().IsRegular() {
			size += info.Size()
		}
	}
	if size > bigSpec {
		debug.SetGCPercent(bigSpecGCPercent)
	}
}
