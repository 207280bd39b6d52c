package main

import (
	"bufio"
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
}

func describeMachine(root string) machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), Date: time.Now().UTC().Format("2006-01-02 15:04 MST")}
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

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func orDash(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// columns are the table's headings and each row's cells.
var columns = []string{"scenario", "target", "resources", "parallelism", "latency", "calls", "wall", "peak RSS",
	"calls × latency", "1 read/resource at P=10", "ideal", "wall / ideal", "moto time"}

func (r row) cells() []string {
	ratio := "-"
	if r.Ideal > 0 {
		ratio = fmt.Sprintf("%.2f", float64(r.Wall)/float64(r.Ideal))
	}
	return []string{r.Scenario, r.Target, fmt.Sprint(r.Resources), orDash(r.Parallelism), ms(r.Latency), fmt.Sprint(r.Total),
		ms(r.Wall), mib(r.PeakRSS), ms(r.serialCalls()), ms(r.oneReadModel()), ms(r.Ideal), ratio, ms(r.Emulator)}
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
	return strings.Join(parts, ", ")
}

func (r row) label() string {
	l := fmt.Sprintf("%s, %d", r.Scenario, r.Resources)
	if r.Parallelism > 0 {
		l += fmt.Sprintf(", P=%d", r.Parallelism)
	}
	return l
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
	find := func(scenario string, n, parallelism int) *row {
		for i := range rows {
			if rows[i].Scenario == scenario && rows[i].Resources == n && rows[i].Parallelism == parallelism {
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
	missing := func(target, goal string) verdict { return verdict{target, goal, "not measured in this run", "-"} }
	var out []verdict
	if r := find("plan, all exist", 1000, 0); r != nil {
		ec2 := 0
		for op, n := range r.Calls {
			if strings.HasPrefix(op, "ec2:") {
				ec2 += n
			}
		}
		out = append(out,
			verdict{"P1", "EC2 calls for plan over 1,000 existing instances ≤ 3", fmt.Sprint(ec2), status(ec2 <= 3)},
			verdict{"P2", "plan wall, 1,000 resources, 50 ms per call ≤ 1 s", ms(r.Wall), status(r.Wall <= time.Second)})
	} else {
		out = append(out, missing("P1", "EC2 calls for plan over 1,000 existing instances ≤ 3"),
			missing("P2", "plan wall, 1,000 resources, 50 ms per call ≤ 1 s"))
	}
	for _, p := range []int{10, 50} {
		goal := fmt.Sprintf("apply 200 creates, 50 ms, parallelism %d: wall ≤ 1.25 × ideal", p)
		if r := find("apply, all created", 200, p); r != nil && r.Ideal > 0 {
			ratio := float64(r.Wall) / float64(r.Ideal)
			out = append(out, verdict{"P3", goal, fmt.Sprintf("%.2f × (%s / %s)", ratio, ms(r.Wall), ms(r.Ideal)), status(ratio <= 1.25)})
		} else {
			out = append(out, missing("P3", goal))
		}
	}
	for _, s := range []string{"validate", "plan, nothing exists"} {
		goal := s + ", 10,000 resources: ≤ 1 s and ≤ 256 MB"
		if r := find(s, 10000, 0); r != nil {
			out = append(out, verdict{"P4", goal, ms(r.Wall) + ", " + mib(r.PeakRSS), status(r.Wall <= time.Second && r.PeakRSS <= 256<<20)})
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

Machine: %d CPUs (%s), %s memory, %s, moto %s, commit %s, %s.

## Targets (issue "Performance")

| target | goal | measured | status |
|---|---|---|---|
`, "`"+command+"`", m.CPUs, m.CPUModel, m.Memory, m.GoVersion, m.Moto, m.Commit, m.Date)
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
## How it is measured

- Specs are generated (` + "`go run ./bench -gen DIR -n N`" + ` writes one): N one-node AWS clusters
  (m5.large, us-east-1) in workspace "bench", with only the compute capability declared.
- **validate**: ` + "`skyplan validate`" + `; no cloud call is expected, and none is counted.
- **plan, nothing exists**: ` + "`skyplan plan -detailed-exitcode`" + ` against an empty moto, without latency
  (P4: the cost of spec, planner and rendering at scale).
- **plan, all exist**: N clusters precreated directly in moto, each by its own RunInstances with the
  ownership tags skyplan observes (skyplan-managed, skyplan-workspace, skyplan-address,
  skyplan-node-index, Name), so plan finds them unchanged. A first plan records moto's answers; the
  measured plan gets every read replayed by the proxy with the latency added, because moto's
  tag-filtered DescribeInstances is quadratic in the instances it holds (seconds per page at 1,000):
  the wall time is skyplan's and the latency's, not moto's. "moto time" shows what reached moto.
  Precreating 10,000 instances and listing them once through moto takes too long, so this scenario
  stops at 1,000 by default (` + "`-existing`" + `).
- **apply, all created**: ` + "`skyplan apply -auto-approve -parallelism P`" + ` of N clusters into an empty moto
  with the latency; every call reaches moto (nothing is replayed), so "moto time" is the emulator's
  share of the wall time. moto serves one request at a time and its tag filters slow down as
  instances accumulate: where moto time approaches the wall time, the run is bound by moto, not by
  skyplan.
- **calls** are the calls the proxy counted in the measured run (deterministic for plan and
  validate; at parallelism > 1 an apply's count can vary by a few calls, e.g. concurrent image
  lookups). The regression test ` + "`go test ./bench`" + ` asserts exact counts (see
  ` + "`expectedCallsToday`" + ` in bench/bench_test.go); no test asserts a wall time.
- **calls × latency**: the counted calls made one after another.
- **1 read/resource at P=10**: the model of a provider that reads each resource once, ten at a time:
  ceil(N / 10) × latency. Batched observation should beat it by far.
- **ideal** (apply): the critical path if every call took exactly the latency and nothing else took
  time: (calls before the first create + ceil(N / P) × calls per create) × latency, where "calls
  before the first create" are the calls of a plan of the same spec (check and observation) and
  "calls per create" is (apply calls − those) / N. wall / ideal is the overhead of everything else:
  scheduling, waits, state writes, the emulator.
- **peak RSS** is the skyplan process's maximum resident set (getrusage of the child).
`
