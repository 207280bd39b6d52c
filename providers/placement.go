package providers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/skyplan/skyplan/state"
)

// Placement is one place a cluster may launch in: a zone of a region, or a
// whole region (Zone "") where the cloud picks the zone.
type Placement struct {
	Region, Zone string
}

func (p Placement) String() string {
	if p.Zone != "" {
		return p.Zone
	}
	return p.Region
}

// Placements are the candidates of desired attributes, in the order apply
// tries them: the spec's zones, else its regions (both ordered by the spec
// loader), else the single zone and region. regionOf maps a zone to its
// region.
func Placements(d state.Attrs, regionOf func(zone string) string) []Placement {
	var out []Placement
	for _, z := range d.StringList("zones") {
		out = append(out, Placement{Region: regionOf(z), Zone: z})
	}
	if len(out) > 0 {
		return out
	}
	for _, r := range d.StringList("regions") {
		out = append(out, Placement{Region: r})
	}
	if len(out) > 0 {
		return out
	}
	p := Placement{Region: d.String("region"), Zone: d.String("zone")}
	if p.Region == "" && p.Zone != "" {
		p.Region = regionOf(p.Zone)
	}
	return []Placement{p}
}

// Refusal is a cloud's "no" to one placement: no capacity there, or no
// quota. Apply moves on to the next candidate; any other error stops it.
type Refusal struct {
	Place   Placement
	Code    string
	Message string
	// Regional refusals are the region's limits (quotas): the region's
	// other candidates would be refused too, so they are skipped.
	Regional bool
	// Suggest are zones the cloud says have capacity now (EC2's hint);
	// candidates among them are tried first.
	Suggest []string
	// Skipped: not tried, because an earlier refusal covers it.
	Skipped bool
}

func (r Refusal) String() string {
	switch {
	case r.Skipped:
		return r.Place.String() + ": not tried, " + r.Code + " is a quota of region " + r.Place.Region
	case strings.Contains(r.Message, r.Code):
		return r.Place.String() + ": " + r.Message
	case r.Message != "":
		return r.Place.String() + ": " + r.Code + " (" + strings.TrimSuffix(r.Message, ".") + ")"
	}
	return r.Place.String() + ": " + r.Code
}

// CapacityError says that every candidate refused: it lists each one.
type CapacityError struct {
	Address  string
	Refusals []Refusal
	// Pinned says why only one place was tried (the nodes already running
	// there); empty when the candidates ran out.
	Pinned string
}

func (e *CapacityError) Error() string {
	var b strings.Builder
	if e.Pinned != "" {
		fmt.Fprintf(&b, "%s: %s refused the launch: %s; %s", e.Address, e.Refusals[0].Place, e.Refusals[0].Code, e.Pinned)
		if m := e.Refusals[0].Message; m != "" {
			fmt.Fprintf(&b, "\n  %s: %s", e.Refusals[0].Code, m)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "%s: every placement candidate refused (%d tried):", e.Address, len(e.Refusals))
	var tried []string
	for _, r := range e.Refusals {
		fmt.Fprintf(&b, "\n  %s", r)
		tried = append(tried, r.Place.Zone)
	}
	var suggested []string
	for _, r := range e.Refusals {
		for _, z := range r.Suggest {
			if !slices.Contains(tried, z) && !slices.Contains(suggested, z) {
				suggested = append(suggested, z)
			}
		}
	}
	if len(suggested) > 0 {
		fmt.Fprintf(&b, "\n  the cloud reports capacity in %s: add them to zones to try them", strings.Join(suggested, ", "))
	} else if len(e.Refusals) == 1 {
		b.WriteString("\n  list more candidates (zones or regions) to fail over to them")
	}
	return b.String()
}

// PinnedNote explains why a cluster with nodes launches more only where
// they run, and what moving it takes.
func PinnedNote(zone string, nodes int) string {
	return fmt.Sprintf("its %d existing node(s) are there and a cluster's nodes share one zone, so they are left as they are; "+
		"to move the whole cluster, drop %s from its zones: the plan then replaces it (create-before-destroy)", nodes, zone)
}

// IsCapacity reports whether err is (or wraps) a *CapacityError.
func IsCapacity(err error) bool {
	var ce *CapacityError
	return errors.As(err, &ce)
}

// DefaultCapacityWait bounds retrying a place that refused for capacity
// before apply moves on to the next candidate.
const DefaultCapacityWait = 30 * time.Second

// Failover launches a resource in the first of its candidate places that
// takes it. A place that refuses (Refusal) is retried with backoff for at
// most Wait, then the next is tried; a refusal's suggested zones go first;
// a regional refusal skips the region's other candidates. Each refusal is
// reported as a progress line ("us-east-1a: InsufficientInstanceCapacity;
// trying us-east-1b"); when every candidate refused, the error is a
// *CapacityError listing them all.
type Failover struct {
	Address string
	Places  []Placement
	// Refusal classifies an error of a launch attempt: non-nil for capacity
	// and quota refusals; nil ends the failover with that error.
	Refusal func(err error) *Refusal
	Wait    time.Duration
	// Pause is the first pause before retrying a place (default 2s; it
	// doubles each time).
	Pause time.Duration
	// Pinned, when set, says why Places holds one place only (see
	// CapacityError.Pinned).
	Pinned string
	Report func(format string, args ...any)
}

// Run tries the places in order with launch, which must leave nothing
// behind when it returns a refusal (so the next place starts clean), and
// returns the place that took the resource.
func (f Failover) Run(ctx context.Context, launch func(ctx context.Context, at Placement) error) (Placement, error) {
	queue := slices.Clone(f.Places)
	var refusals []Refusal
	quota := map[string]Refusal{} // region → the quota refusal that covers it
	for len(queue) > 0 {
		at := queue[0]
		queue = queue[1:]
		if q, ok := quota[at.Region]; ok {
			refusals = append(refusals, Refusal{Place: at, Code: q.Code, Skipped: true})
			continue
		}
		ref, err := f.attempt(ctx, at, launch)
		if ref == nil {
			return at, err
		}
		refusals = append(refusals, *ref)
		if ref.Regional {
			quota[at.Region] = *ref
		}
		queue = preferSuggested(queue, ref.Suggest)
		next := slices.IndexFunc(queue, func(p Placement) bool { _, skip := quota[p.Region]; return !skip })
		switch {
		case f.Pinned != "":
		case next >= 0 && ref.Regional:
			f.report("%s: %s (a quota of region %s); trying %s", at, ref.Code, at.Region, queue[next])
		case next >= 0:
			f.report("%s: %s; trying %s", at, ref.Code, queue[next])
		default:
			f.report("%s: %s; no candidates left", at, ref.Code)
		}
	}
	return Placement{}, &CapacityError{Address: f.Address, Refusals: refusals, Pinned: f.Pinned}
}

// attempt launches at one place, retrying refusals with backoff within
// Wait; it returns the last refusal, or nil and the launch's outcome.
func (f Failover) attempt(ctx context.Context, at Placement, launch func(ctx context.Context, at Placement) error) (*Refusal, error) {
	start := time.Now()
	pause := f.Pause
	if pause <= 0 {
		pause = 2 * time.Second
	}
	for {
		err := launch(ctx, at)
		if err == nil {
			return nil, nil
		}
		ref := f.Refusal(err)
		if ref == nil {
			return nil, err
		}
		ref.Place = at
		if ref.Message == "" {
			// What the attempt was doing, as its error says it (first line).
			msg, _, _ := strings.Cut(err.Error(), "\n")
			ref.Message = strings.TrimPrefix(msg, f.Address+": ")
		}
		if time.Since(start)+pause > f.Wait {
			return ref, nil
		}
		f.report("%s: %s; retrying there in %s", at, ref.Code, pause)
		if err := sleep(ctx, pause); err != nil {
			return nil, fmt.Errorf("%s: %s refused (%s); stopped before retrying: %w", f.Address, at, ref.Code, err)
		}
		pause *= 2
	}
}

func (f Failover) report(format string, args ...any) {
	if f.Report != nil {
		f.Report(format, args...)
	}
}

// preferSuggested moves the suggested zones to the front, keeping order.
func preferSuggested(queue []Placement, zones []string) []Placement {
	if len(zones) == 0 {
		return queue
	}
	var first, rest []Placement
	for _, p := range queue {
		if slices.Contains(zones, p.Zone) {
			first = append(first, p)
		} else {
			rest = append(rest, p)
		}
	}
	return append(first, rest...)
}

// sleep pauses for d, ending early with the reason (ErrStoppedWaiting, a
// cancelled context) on the run's stop or cancellation.
func sleep(ctx context.Context, d time.Duration) error {
	w, wctx := BeginWait(ctx, d)
	defer w.End()
	<-wctx.Done()
	if cause := context.Cause(wctx); !errors.Is(cause, errWaitTimeout) {
		return cause
	}
	return nil
}
