package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// row is one measured skyplan run.
type row struct {
	Scenario    string
	Target      string // the P1..P4 it measures, if any
	On          emulatorKind
	Resources   int
	Parallelism int
	Latency     time.Duration
	Calls       map[string]int
	Total       int
	Wall        time.Duration
	PeakRSS     int64
	// EmulatorBusy is the wall time the emulator had a call in hand;
	// EmulatorPerCall its mean answer time over the calls that reached it.
	EmulatorBusy, EmulatorPerCall time.Duration
	Replayed                      int64
	// Ideal is set for applies, from Path: see criticalPath.
	Ideal time.Duration
	Path  criticalPath
	Note  string
}

// serialCalls is what the counted calls cost one after another.
func (r row) serialCalls() time.Duration { return time.Duration(r.Total) * r.Latency }

// oneReadModel is a plan whose provider reads each resource once, 10 at
// a time (0 for applies, where it means nothing).
func (r row) oneReadModel() time.Duration {
	if r.Parallelism > 0 {
		return 0
	}
	return time.Duration(math.Ceil(float64(r.Resources)/10)) * r.Latency
}

// measure runs skyplan with counts reset before and read after.
func (h *harness) measure(ctx context.Context, r *row, dir string, codes []int, args ...string) (run, error) {
	h.proxy.ResetCounts()
	h.replayed.Store(0)
	h.proxy.SetLatency(r.Latency)
	res, err := h.runSkyplan(ctx, dir, args...)
	h.proxy.SetLatency(0)
	if err != nil {
		return res, err
	}
	if err := res.expect(codes...); err != nil {
		return res, fmt.Errorf("%s, %d resources: %w", r.Scenario, r.Resources, err)
	}
	snap := h.proxy.Snapshot()
	r.Calls, r.Total, r.EmulatorBusy, r.On = snap.Calls, snap.Total, snap.UpstreamBusy, h.on
	if snap.Retries > 0 {
		r.Note = strings.TrimPrefix(r.Note+fmt.Sprintf("; %d of the calls were SDK retries", snap.Retries), "; ")
	}
	r.Wall, r.PeakRSS, r.Replayed = res.Wall, res.PeakRSS, h.replayed.Load()
	if reached := int64(r.Total) - r.Replayed; reached > 0 {
		r.EmulatorPerCall = snap.Upstream / time.Duration(reached)
	}
	return res, nil
}

// fresh empties the emulator and writes a spec of n clusters.
func (h *harness) fresh(ctx context.Context, on emulatorKind, name string, n int) (dir string, err error) {
	if err := h.use(ctx, on); err != nil {
		return "", err
	}
	return h.specDir(name, n)
}

// validate: spec loading and static lint only; no cloud call is expected.
func (h *harness) validate(ctx context.Context, n int) (row, error) {
	r := row{Scenario: "validate", Target: "P4", Resources: n}
	dir, err := h.fresh(ctx, onMoto, "validate", n)
	if err == nil {
		_, err = h.measure(ctx, &r, dir, []int{0}, "validate")
	}
	return r, err
}

// planNothingObserved: plan of n creates against an empty moto, no latency.
func (h *harness) planNothingObserved(ctx context.Context, n int) (row, error) {
	r := row{Scenario: "plan, nothing exists", Target: "P4", Resources: n}
	dir, err := h.fresh(ctx, onMoto, "plan-empty", n)
	if err == nil {
		_, err = h.measure(ctx, &r, dir, []int{2}, "plan", "-detailed-exitcode")
	}
	return r, err
}

// planExisting: plan over n clusters that already exist, unchanged. On
// moto, a first plan records its answers and the measured plan gets them
// replayed with the latency, so its wall time is skyplan's and the
// latency's, not moto's (whose tag-filtered listing takes seconds a page
// at 1,000 instances).
func (h *harness) planExisting(ctx context.Context, on emulatorKind, n int, latency time.Duration) (row, error) {
	r := row{Scenario: "plan, all exist", Resources: n, Latency: latency}
	if on == onMoto {
		r.Target = "P1, P2"
	}
	dir, err := h.fresh(ctx, on, "plan-existing", n)
	if err != nil {
		return r, err
	}
	if err := h.precreate(ctx, n); err != nil {
		return r, err
	}
	if on == onMoto {
		h.proxy.SetReplayReads(true)
		defer h.proxy.SetReplayReads(false)
		record, err := h.runSkyplan(ctx, dir, "plan", "-detailed-exitcode")
		if err != nil {
			return r, err
		}
		if err := record.expect(0, 2); err != nil {
			return r, err
		}
	}
	res, err := h.measure(ctx, &r, dir, []int{0, 2}, "plan", "-detailed-exitcode")
	if err == nil && res.Exit == 2 {
		r.Note = "plan shows changes: the precreated instances do not match what skyplan observes"
	}
	return r, err
}

// applyCreates: apply of n one-node clusters into an empty emulator at a
// parallelism, with latency; Ideal comes from the critical path of creates
// on the same emulator (createPath).
func (h *harness) applyCreates(ctx context.Context, on emulatorKind, n, parallelism int, latency time.Duration) (row, error) {
	r := row{Scenario: "apply, all created", Resources: n, Parallelism: parallelism, Latency: latency}
	if on == onFake {
		r.Target = "P3"
	}
	path, err := h.createPath(ctx, on)
	if err != nil {
		return r, err
	}
	dir, err := h.fresh(ctx, on, "apply-p"+strconv.Itoa(parallelism), n)
	if err != nil {
		return r, err
	}
	if _, err := h.measure(ctx, &r, dir, []int{0}, "apply", "-auto-approve", "-parallelism", strconv.Itoa(parallelism)); err != nil {
		return r, err
	}
	r.Path = path
	r.Ideal = path.ideal(n, parallelism, latency)
	return r, nil
}

// criticalPath is what one create costs when nothing runs beside it, in
// calls made one after another: First is a whole apply of one create
// (check and observation, lint, shared lookups, the launch and its wait),
// PerCreate what each further create adds. Measured at parallelism 1,
// where every call waits for the one before, it does not depend on how
// many creates share a batched call at higher parallelism.
type criticalPath struct{ First, PerCreate int }

// ideal is the apply's wall time if every call took exactly the latency,
// nothing else took time and the creates of a wave overlapped perfectly:
// the first create's path, then ceil(n/parallelism) − 1 more waves.
func (c criticalPath) ideal(n, parallelism int, latency time.Duration) time.Duration {
	waves := int(math.Ceil(float64(n) / float64(parallelism)))
	return time.Duration(c.First+(waves-1)*c.PerCreate) * latency
}

// createPath measures the critical path on an emulator once: applies of
// one and of two creates at parallelism 1, without latency.
func (h *harness) createPath(ctx context.Context, on emulatorKind) (criticalPath, error) {
	if c, ok := h.paths[on]; ok {
		return c, nil
	}
	var calls [2]int
	for i, n := range []int{1, 2} {
		r := row{Scenario: "critical path", Resources: n}
		dir, err := h.fresh(ctx, on, "apply-path", n)
		if err == nil {
			_, err = h.measure(ctx, &r, dir, []int{0}, "apply", "-auto-approve", "-parallelism", "1")
		}
		if err != nil {
			return criticalPath{}, err
		}
		calls[i] = r.Total
	}
	c := criticalPath{First: calls[0], PerCreate: calls[1] - calls[0]}
	h.paths[on] = c
	return c, nil
}
