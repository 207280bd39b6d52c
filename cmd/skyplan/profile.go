package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
)

// profiled runs a command under pprof when SKYPLAN_CPUPROFILE or
// SKYPLAN_MEMPROFILE name a file (docs/PERFORMANCE.md: profiling); a
// profile that cannot be written is reported, and the command runs anyway.
func profiled(stderr io.Writer, run func() int) int {
	if path := os.Getenv("SKYPLAN_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "Warning: SKYPLAN_CPUPROFILE: %v\n", err)
		} else {
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
	}
	code := run()
	if path := os.Getenv("SKYPLAN_MEMPROFILE"); path != "" {
		runtime.GC()
		f, err := os.Create(path)
		if err == nil {
			err = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
		if err != nil {
			fmt.Fprintf(stderr, "Warning: SKYPLAN_MEMPROFILE: %v\n", err)
		}
	}
	return code
}
