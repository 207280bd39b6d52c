package main

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// machine describes where the numbers were measured.
type machine struct {
	CPUs      int
	CPUModel  string
	Memory    string
	GoVersion string
	Moto      string
	Commit    string
	Date      string
	// Load is /proc/loadavg's 1-minute load when the run started and ended:
	// above the CPU count, other work competed for the CPUs.
	Load string
}

// loadAverage is the 1-minute load average, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}

func describeMachine(root, loadAtStart string) machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), Date: time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Load: loadAtStart + " at the start, " + loadAverage() + " at the end"}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		var n int64
		fmt.Sscanf(kb, "%d", &n)
		m.Memory = fmt.Sprintf("%.1f GiB", float64(n)/(1<<20))
	}
	m.Moto = commandLine("", "python3", "-c", "import moto; print(moto.__version__)")
	m.Commit = commandLine(root, "git", "describe", "--always", "--dirty")
	return m
}

// procField returns the value of the first "key : value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func commandLine(dir, name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func msFine(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func orDash(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// columns are the table's headings and each row's cells.
var columns = []string{"scenario", "target", "emulator", "resources", "parallelism", "latency", "calls", "wall", "peak RSS",
	"calls × latency", "1 read/resource at P=10", "ideal", "wall / ideal", "emulator busy", "emulator per call"}

func (r row) cells() []string {
	ratio := "-"
	if r.Ideal > 0 {
		ratio = fmt.Sprintf("%.2f", float64(r.Wall)/float64(r.Ideal))
	}
	on := string(r.On)
	if r.Total == 0 {
		on = "-" // no call reached it
	}
	return []string{r.Scenario, cmp.Or(r.Target, "-"), on, fmt.Sprint(r.Resources), orDash(r.Parallelism), ms(r.Latency), fmt.Sprint(r.Total),
		ms(r.Wall), mib(r.PeakRSS), ms(r.serialCalls()), ms(r.oneReadModel()), ms(r.Ideal), ratio, ms(r.EmulatorBusy), msFine(r.EmulatorPerCall)}
}

// perOperation lists "operation count" pairs, most frequent first.
func (r row) perOperation() string {
	ops := make([]string, 0, len(r.Calls))
	for op := range r.Calls {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool {
		if r.Calls[ops[i]] != r.Calls[ops[j]] {
			return r.Calls[ops[i]] > r.Calls[ops[j]]
		}
		return ops[i] < ops[j]
	})
	var parts []string
	for _, op := range ops {
		parts = append(parts, fmt.Sprintf("%s %d", op, r.Calls[op]))
	}
	if len(parts) == 0 {
		return "none"
	}
	out := strings.Join(parts, ", ")
	if r.Ideal > 0 {
		out += fmt.Sprintf(" (critical path: %d calls for the first create, %d per further wave)", r.Path.First, r.Path.PerCreate)
	}
	return out
}

// key names the case: "apply, all created, 200, P=10".
func (r row) key() string {
	k := fmt.Sprintf("%s, %d", r.Scenario, r.Resources)
	if r.Parallelism > 0 {
		k += fmt.Sprintf(", P=%d", r.Parallelism)
	}
	return k
}

// label is key and, when a call reached one, the emulator.
func (r row) label() string {
	if r.Total == 0 {
		return r.key()
	}
	return r.key() + ", " + string(r.On)
}

// writeTable prints the rows for a terminal.
func writeTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(columns, "\t")+"\t")
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r.cells(), "\t")+"\t")
	}
	tw.Flush()
	fmt.Fprintln(w, "\nCalls per operation:")
	for _, r := range rows {
		fmt.Fprintf(w, "  %s: %s\n", r.label(), r.perOperation())
		if r.Note != "" {
			fmt.Fprintf(w, "    note: %s\n", r.Note)
		}
	}
}

// verdict is one of the targets, judged from the rows.
type verdict struct{ Target, Goal, Measured, Status string }

func verdicts(rows []row) []verdict {
	find := func(scenario string, on emulatorKind, n, parallelism int) *row {
		for i := range rows {
			r := rows[i]
			if r.Scenario == scenario && (on == "" || r.On == on) && r.Resources == n && r.Parallelism == parallelism {
				return &rows[i]
			}
		}
		return nil
	}
	status := func(ok bool) string {
		if ok {
			return "met"
		}
		return "not met"
	}
	// over says by how much a measure misses its goal.
	over := func(got, goal float64) string {
		if got <= goal {
			return "met"
		}
		return fmt.Sprintf("missed by %.0f%%", 100*(got-goal)/goal)
	}
	missing := func(target, goal string) verdict { return verdict{target, goal, "not measured in this run", "-"} }
	var out []verdict
	if r := find("plan, all exist", onMoto, 1000, 0); r != nil {
		ec2 := 0
		for op, n := range r.Calls {
			if strings.HasPrefix(op, "ec2:") {
				ec2 += n
			}
		}
		out = append(out,
			verdict{"P1", "EC2 calls for plan over 1,000 existing instances ≤ 3", fmt.Sprint(ec2), status(ec2 <= 3)},
			verdict{"P2", "plan wall, 1,000 resources, 50 ms per call ≤ 1 s", ms(r.Wall), over(r.Wall.Seconds(), 1)})
	} else {
		out = append(out, missing("P1", "EC2 calls for plan over 1,000 existing instances ≤ 3"),
			missing("P2", "plan wall, 1,000 resources, 50 ms per call ≤ 1 s"))
	}
	for _, p := range []int{10, 50} {
		goal := fmt.Sprintf("apply 200 creates, 50 ms, parallelism %d: wall ≤ 1.25 × ideal", p)
		if r := find("apply, all created", onFake, 200, p); r != nil && r.Ideal > 0 {
			ratio := float64(r.Wall) / float64(r.Ideal)
			out = append(out, verdict{"P3", goal, fmt.Sprintf("%.2f × (%s / %s)", ratio, ms(r.Wall), ms(r.Ideal)), over(ratio, 1.25)})
		} else {
			out = append(out, missing("P3", goal))
		}
	}
	for _, s := range []string{"validate", "plan, nothing exists"} {
		goal := s + ", 10,000 resources: ≤ 1 s and ≤ 256 MB"
		if r := find(s, "", 10000, 0); r != nil {
			verdict := verdict{"P4", goal, ms(r.Wall) + ", " + mib(r.PeakRSS), "met"}
			var misses []string
			if m := over(r.Wall.Seconds(), 1); m != "met" {
				misses = append(misses, "time "+m)
			}
			if m := over(float64(r.PeakRSS), 256<<20); m != "met" {
				misses = append(misses, "memory "+m)
			}
			if len(misses) > 0 {
				verdict.Status = strings.Join(misses, ", ")
			}
			out = append(out, verdict)
		} else {
			out = append(out, missing("P4", goal))
		}
	}
	for _, s := range []string{"validate", "plan, nothing exists"} {
		goal := s + ", 100,000 resources: ≤ 10 s"
		if r := find(s, "", 100000, 0); r != nil {
			out = append(out, verdict{"P4", goal, ms(r.Wall) + ", " + mib(r.PeakRSS), over(r.Wall.Seconds(), 10)})
		} else {
			out = append(out, missing("P4", goal))
		}
	}
	return out
}

// writeMarkdown writes docs/PERFORMANCE.md.
func writeMarkdown(w io.Writer, m machine, rows []row, command string) {
	fmt.Fprintf(w, `# Performance

Measured by `+"`make bench`"+` (%s): the real `+"`bin/skyplan`"+` run as a subprocess against
moto_server, through `+"`internal/cloudproxy`"+`, which counts every API call by operation and adds a
fixed latency to each. Regenerate this file with `+"`make bench`"+`; do not edit the numbers by hand.

Machine: %d CPUs (%s), %s memory, %s, moto %s, commit %s, %s; load average %s.
Wall times vary with the machine's other work; call counts do not.

## Targets (issue "Performance")

| target | goal | measured | status |
|---|---|---|---|
`, "`"+command+"`", m.CPUs, m.CPUModel, m.Memory, m.GoVersion, m.Moto, m.Commit, m.Date, m.Load)
	for _, v := range verdicts(rows) {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", v.Target, v.Goal, v.Measured, v.Status)
	}
	fmt.Fprintf(w, "\n## Results\n\n| %s |\n|%s\n", strings.Join(columns, " | "), strings.Repeat("---|", len(columns)))
	for _, r := range rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r.cells(), " | "))
	}
	fmt.Fprintf(w, "\n### Calls per operation\n\n")
	for _, r := range rows {
		fmt.Fprintf(w, "- %s: %s\n", r.label(), r.perOperation())
		if r.Note != "" {
			fmt.Fprintf(w, "  - note: %s\n", r.Note)
		}
	}
	fmt.Fprint(w, methodology)
}

const methodology = `
## Where the time goes

Profiles (` + "`SKYPLAN_CPUPROFILE=cpu.prof skyplan plan`" + `, or the same variable around ` + "`go run ./bench`" + `,
where each skyplan run overwrites the file; ` + "`SKYPLAN_MEMPROFILE`" + ` writes allocations; then
` + "`go tool pprof -top -cum bin/skyplan cpu.prof`" + `) show, at 10,000 resources:

- **Spec loading** is about half the CPU, and most of it is HCL's own lexer and parser, which
  allocate about 170 bytes per byte of source. skyplan parses files, and pieces of large files
  cut between top-level blocks, on every CPU; evaluating the blocks is about a fifth of loading.
- **Garbage collection** is about a quarter of the CPU. Go's default (GOGC 100) is kept below
  4 MiB of spec, where 10,000 resources must stay under 256 MB; above, GOGC is 300.
- **Planning, lint, cost and rendering** are the rest, linear in the resources.
- **The binary itself** costs about 50 ms to start and 70 MB of resident memory (the AWS, Google
  and Kubernetes SDKs), before any spec is read.
- On a machine shared with other work (see the load average above, against the CPU count),
  wall time is well above CPU time: the numbers here are an upper bound.

For an apply, each wave of creates costs two round trips (launch, then the batched wait) plus
two state writes (each fsynced, grouped across concurrent creates), the 3 ms the wait gathers
launches for, and the client's CPU per call. At parallelism 50 the fixed start — process start,
spec load, plan, and the first create's calls one after another — is a larger share of a shorter
run.

## How it is measured

- Specs are generated (` + "`go run ./bench -gen DIR -n N`" + ` writes one): N one-node AWS clusters
  (m5.large, us-east-1) in workspace "bench", with only the compute capability declared, 10,000
  to a file (skyplan reads files of at most 8 MiB).
- **emulator**: moto_server is the reference. The **EC2 fake** (bench/ec2fake.go) is the least of
  the EC2 query API that skyplan's observation, network lint and creates call, in memory; it pages
  and answers like moto (100 reservations a page without MaxResults; RunInstances answers pending,
  the next describe running; one default VPC that reaches the internet, as moto's after
  ` + "`emulator.(*Moto).ConnectDefaultVPC`" + `, which the harness runs after every reset), and
  ` + "`go test ./bench`" + ` checks that skyplan makes exactly the same calls against both. It exists
  because moto answers one call at a time, tens of milliseconds each and more as instances
  accumulate (its tag filters scan every instance): an apply of 200 creates at parallelism 50 needs
  hundreds of calls a second, so against moto the benchmark times moto (see "emulator busy" of
  the moto apply rows). The fake answers no sooner than 2 ms, and the proxy answers replays and
  injected errors no sooner than 2 ms, because aws-sdk-go-v2 can drop a connection whose answer
  arrives before it finished writing the request and then retries (aws/aws-sdk-go-v2#2737), which
  would add calls no real cloud causes. Calls an SDK marked as retries are noted under the row.
- **validate**: ` + "`skyplan validate`" + `; no cloud call is expected, and none is counted.
- **plan, nothing exists**: ` + "`skyplan plan -detailed-exitcode`" + ` against an empty moto, without latency
  (P4: the cost of spec, planner, lint and rendering at scale). Its calls are the compute check
  (the first page of the observation) and the network lint's inspection of the default VPC.
- **plan, all exist**: N clusters precreated (in moto each by its own RunInstances) with the
  ownership tags skyplan observes (skyplan-managed, skyplan-workspace, skyplan-address,
  skyplan-state, skyplan-node-index, Name), so plan finds them unchanged; a note says so
  otherwise. On moto a first plan records moto's answers and the measured plan gets every read
  replayed by the proxy with the latency added: moto's tag-filtered DescribeInstances takes
  seconds a page at 1,000 instances, and the wall time should be skyplan's and the latency's. The
  fake needs no replay. P1 and P2 are judged on moto's row.
- **apply, all created**: ` + "`skyplan apply -auto-approve -parallelism P`" + ` of N clusters into an empty
  emulator with the latency; every call reaches the emulator. P3 is judged on the fake's rows.
- **calls** are the calls the proxy counted in the measured run (deterministic for plan and
  validate; at parallelism > 1 an apply's count of DescribeInstances varies, as the number of
  creates that share one batched wait depends on timing). ` + "`go test ./bench`" + ` asserts exact counts
  of small cases (see ` + "`expectedCallsToday`" + ` in bench/bench_test.go); no test asserts a wall time.
- **calls × latency**: the counted calls made one after another.
- **1 read/resource at P=10**: the model of a plan whose provider reads each resource once, ten at
  a time: ceil(N / 10) × latency. Batched observation should beat it by far.
- **ideal** (apply): the wall time if every call took exactly the latency, nothing else took time
  and the creates of each wave of P overlapped perfectly: (F + (ceil(N / P) − 1) × C) × latency,
  where F is the calls of an apply of one create and C what a second create adds, both counted at
  parallelism 1 on the same emulator (every call then waits for the one before, so these are the
  lengths of the critical path; they are listed under "Calls per operation"). Counted calls divided
  by N would understate it: creates that run together share one batched wait. wall / ideal is the
  overhead of everything else: process start, spec load and plan, state writes, the emulator, CPU.
- **emulator busy**: wall time during which the emulator had at least one call in hand; close to
  the wall time, the emulator set the pace. **emulator per call**: its mean answer time.
- **wall** and **peak RSS** are measured around the skyplan process by a small launcher (this
  benchmark's own binary, re-run with ` + "`SKYPLAN_BENCH_LAUNCHER_OUT`" + `; bench/launcher.go): the time from
  its start to its exit, and its maximum resident set (getrusage). Started by the benchmark
  process directly, skyplan would report at least the benchmark's own RSS, which Linux carries
  across the exec of a vforked child — hundreds of MB after the large runs, and more than
  skyplan's at small sizes; numbers measured before this launcher existed were inflated so.
`
