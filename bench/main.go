// Command bench measures skyplan's API calls, wall time and memory at 100
// to 10,000 resources: it runs the skyplan binary against moto_server
// through internal/cloudproxy (counting calls per operation, adding
// latency), prints a table and, with -out, writes docs/PERFORMANCE.md.
//
//	go run ./bench -skyplan bin/skyplan -out docs/PERFORMANCE.md   # make bench
//	go run ./bench -quick                                           # smoke run
//	go run ./bench -gen /tmp/spec -n 1000                           # write a spec only
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

type options struct {
	root         string
	skyplan      string
	out          string
	latency      time.Duration
	sizes        []int // validate and plan of n creates
	existing     []int // plan over n existing clusters, on moto
	existingFake []int // the same on the EC2 fake
	applyN       int
	parallelism  []int
	applyOn      []emulatorKind
}

func main() {
	launchIfAsked()
	var o options
	var sizes, existing, existingFake, parallelism, applyOn, gen string
	var quick bool
	var genN int
	flag.BoolVar(&quick, "quick", false, "smoke run: 20 resources, apply of 10")
	flag.StringVar(&o.root, "root", ".", "the skyplan module's root (to build cmd/skyplan)")
	flag.StringVar(&o.skyplan, "skyplan", "", "skyplan binary to measure (default: build one from -root)")
	flag.StringVar(&o.out, "out", "", "write the results as markdown to this file (docs/PERFORMANCE.md)")
	flag.DurationVar(&o.latency, "latency", 50*time.Millisecond, "latency added to every call in the plan-over-existing and apply runs")
	flag.StringVar(&sizes, "sizes", "100,1000,10000,100000", "resource counts for validate and plan of creates")
	flag.StringVar(&existing, "existing", "100,1000", "resource counts for plan over existing clusters, on moto")
	flag.StringVar(&existingFake, "existing-fake", "1000,10000", "the same on the EC2 fake (\"\" to skip)")
	flag.IntVar(&o.applyN, "apply", 200, "clusters the apply creates (0: skip)")
	flag.StringVar(&parallelism, "parallelism", "10,50", "apply parallelisms")
	flag.StringVar(&applyOn, "apply-on", "fake,moto", "emulators the apply runs on: fake, moto or both")
	flag.StringVar(&gen, "gen", "", "only write a spec of -n clusters into this directory")
	flag.IntVar(&genN, "n", 100, "clusters for -gen")
	flag.Parse()
	if gen != "" {
		if err := writeSpec(gen, genN); err != nil {
			log.Fatal(err)
		}
		return
	}
	if quick {
		sizes, existing, existingFake, parallelism, applyOn, o.applyN = "20", "20", "20", "2,5", "fake", 10
	}
	var err error
	for _, l := range []struct {
		s   string
		dst *[]int
	}{{sizes, &o.sizes}, {existing, &o.existing}, {existingFake, &o.existingFake}, {parallelism, &o.parallelism}} {
		if *l.dst, err = parseInts(l.s); err != nil {
			log.Fatal(err)
		}
	}
	for _, on := range strings.Split(applyOn, ",") {
		switch strings.TrimSpace(on) {
		case "fake":
			o.applyOn = append(o.applyOn, onFake)
		case "moto":
			o.applyOn = append(o.applyOn, onMoto)
		default:
			log.Fatalf("bench: -apply-on %q: want fake, moto or fake,moto", applyOn)
		}
	}
	if err := runBench(context.Background(), o); err != nil {
		log.Fatal(err)
	}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bench: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func runBench(ctx context.Context, o options) error {
	loadAtStart := loadAverage()
	work, err := os.MkdirTemp("", "skyplan-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if o.skyplan == "" {
		o.skyplan = filepath.Join(work, "skyplan")
		if err := buildSkyplan(o.root, o.skyplan); err != nil {
			return err
		}
	}
	if o.skyplan, err = filepath.Abs(o.skyplan); err != nil {
		return err
	}
	h, err := startHarness(o.skyplan, work)
	if err != nil {
		return err
	}
	defer h.close()

	type step struct {
		name string
		fn   func() (row, error)
	}
	var steps []step
	for _, n := range o.sizes {
		steps = append(steps,
			step{fmt.Sprintf("validate, %d", n), func() (row, error) { return h.validate(ctx, n) }},
			step{fmt.Sprintf("plan, nothing exists, %d", n), func() (row, error) { return h.planNothingObserved(ctx, n) }})
	}
	for _, on := range []emulatorKind{onMoto, onFake} {
		sizes := o.existing
		if on == onFake {
			sizes = o.existingFake
		}
		for _, n := range sizes {
			steps = append(steps, step{fmt.Sprintf("plan, all exist, %d, %s", n, on), func() (row, error) {
				return h.planExisting(ctx, on, n, o.latency)
			}})
		}
	}
	for _, on := range o.applyOn {
		for _, p := range o.parallelism {
			if o.applyN > 0 {
				steps = append(steps, step{fmt.Sprintf("apply, all created, %d, P=%d, %s", o.applyN, p, on), func() (row, error) {
					return h.applyCreates(ctx, on, o.applyN, p, o.latency)
				}})
			}
		}
	}
	var rows []row
	for _, s := range steps {
		start := time.Now()
		fmt.Fprintf(os.Stderr, "bench: %s ...", s.name)
		r, err := s.fn()
		if err != nil {
			fmt.Fprintln(os.Stderr)
			return err
		}
		fmt.Fprintf(os.Stderr, " %d calls, wall %s (step took %s)\n", r.Total, r.Wall.Round(time.Millisecond), time.Since(start).Round(time.Second))
		rows = append(rows, r)
	}
	fmt.Println()
	writeTable(os.Stdout, rows)
	if o.out != "" {
		var b bytes.Buffer
		writeMarkdown(&b, describeMachine(o.root, loadAtStart), rows, "go run ./bench "+strings.Join(os.Args[1:], " "))
		if err := os.WriteFile(o.out, b.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Printf("\nWrote %s\n", o.out)
	}
	return nil
}
