// Package executor applies a plan: it walks the plan's dependency graph with
// bounded parallelism, calls the providers, and saves state after every
// completed step so an interrupted or crashed apply loses at most the step in
// flight (and the ownership tags recover even that on the next plan).
package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/state"
)

// Executor applies plans.
type Executor struct {
	Providers map[string]providers.Provider
	Backend   state.Writer
	State     *state.State
	// Parallelism bounds concurrent actions (default 10).
	Parallelism int
	// Progress receives one line per action start/finish (and provider notes).
	Progress io.Writer
	// Stop, when closed, stops new actions from starting, and running ones
	// stop waiting for the cloud (providers.WithStopWaiting): they return
	// what exists so far, which is saved.
	Stop <-chan struct{}
	// Now is the clock (tests may replace it).
	Now func() time.Time
	// Heartbeat is how often a running action reports that it still runs
	// (default 10s; negative: never), so a GPU launch that takes minutes
	// never looks hung, and CI systems that kill silent jobs leave it alone.
	Heartbeat time.Duration

	mu          sync.Mutex // guards State, lastSaveErr and the save group
	lastSaveErr error
	progressMu  sync.Mutex // keeps lines from parallel actions whole

	// Saves are grouped (save): requested counts save requests, durable
	// those the last finished save covered; saving is set while one runs.
	saveDone  *sync.Cond
	requested int64
	durable   int64
	saving    bool
}

// Result summarises an apply.
type Result struct {
	Done    []string
	Failed  map[string]error
	Skipped []string // not started: interrupted, or a dependency failed
	// Interrupted is true when Stop closed before every action started.
	Interrupted bool
	// SaveErr is the error of the last state save, nil when it succeeded:
	// only then does the backend hold everything this apply did.
	SaveErr error
}

// Err is a summary error, or nil when everything applied.
func (r *Result) Err() error {
	var msgs []string
	for _, addr := range slices.Sorted(maps.Keys(r.Failed)) {
		msgs = append(msgs, fmt.Sprintf("%s: %v", addr, r.Failed[addr]))
	}
	if r.Interrupted {
		msgs = append(msgs, fmt.Sprintf("interrupted: %d action(s) not started (%s); state is saved, run apply again to finish", len(r.Skipped), strings.Join(r.Skipped, ", ")))
	} else if len(r.Skipped) > 0 {
		msgs = append(msgs, fmt.Sprintf("not started because a dependency failed: %s", strings.Join(r.Skipped, ", ")))
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// ErrBlocked is returned when the plan contains a change apply must refuse.
type ErrBlocked struct{ Reasons []string }

func (e *ErrBlocked) Error() string { return strings.Join(e.Reasons, "\n") }

// Apply runs every change of the plan. ctx cancellation aborts running
// provider calls (the second Ctrl-C); Stop only prevents new ones. A plan
// with a change apply must refuse is refused whole, before anything runs,
// with an *ErrBlocked.
func (e *Executor) Apply(ctx context.Context, p *planner.Plan) (*Result, error) {
	var blocked []string
	for _, c := range p.Changes {
		if c.Blocked != "" {
			blocked = append(blocked, fmt.Sprintf("%s: %s", c.Address, c.Blocked))
		}
	}
	if len(blocked) > 0 {
		return nil, &ErrBlocked{Reasons: blocked}
	}
	res := &Result{Failed: map[string]error{}}
	if e.Now == nil {
		e.Now = time.Now
	}
	par := e.Parallelism
	if par <= 0 {
		par = 10
	}
	var changes []*planner.Change
	adopted := false
	for _, c := range p.Changes {
		switch {
		case c.Action != planner.NoOp:
			changes = append(changes, c)
		case c.Adopt && c.Prior != nil:
			// Found by its tags, unchanged, but missing from the state file.
			e.record(c, c.Prior)
			adopted = true
		}
	}
	if adopted {
		if err := e.save(ctx); err != nil {
			return nil, err
		}
	}
	res = e.walk(ctx, changes, par, res)
	e.mu.Lock()
	res.SaveErr = e.lastSaveErr
	e.mu.Unlock()
	return res, nil
}

// walk runs changes as their dependencies complete. One scheduler goroutine
// starts them, at most par at a time, always the earliest ready change in plan
// order, so with --parallelism 1 apply follows the plan line by line.
func (e *Executor) walk(ctx context.Context, changes []*planner.Change, par int, res *Result) *Result {
	pos := map[string]int{}
	for i, c := range changes {
		pos[c.Address] = i
	}
	waitingOn := make([]int, len(changes))
	dependents := make([][]int, len(changes))
	for i, c := range changes {
		for _, d := range c.DependsOn {
			if j, inPlan := pos[d]; inPlan {
				waitingOn[i]++
				dependents[j] = append(dependents[j], i)
			}
		}
	}
	var ready []int // plan positions, kept sorted
	for i := range changes {
		if waitingOn[i] == 0 {
			ready = append(ready, i)
		}
	}
	settled := make([]bool, len(changes))
	// skip marks every change that (transitively) depends on i as not started.
	var skip func(i int)
	skip = func(i int) {
		for _, j := range dependents[i] {
			if !settled[j] {
				settled[j] = true
				res.Skipped = append(res.Skipped, changes[j].Address)
				skip(j)
			}
		}
	}
	stopped := func() bool {
		if ctx.Err() != nil {
			return true
		}
		select {
		case <-e.Stop:
			return true
		default:
			return false
		}
	}
	type outcome struct {
		i   int
		err error
	}
	results := make(chan outcome)
	running := 0
	for {
		for running < par && len(ready) > 0 && !stopped() {
			i := ready[0]
			ready = ready[1:]
			running++
			go func() { results <- outcome{i, e.applyOneSafely(ctx, changes[i])} }()
		}
		if running == 0 {
			break
		}
		o := <-results
		running--
		settled[o.i] = true
		if o.err != nil {
			res.Failed[changes[o.i].Address] = o.err
			skip(o.i)
			continue
		}
		res.Done = append(res.Done, changes[o.i].Address)
		for _, j := range dependents[o.i] {
			if waitingOn[j]--; waitingOn[j] == 0 && !settled[j] {
				k, _ := slices.BinarySearch(ready, j)
				ready = slices.Insert(ready, k, j)
			}
		}
	}
	for i, c := range changes {
		if !settled[i] { // only a stop leaves a change neither run nor skipped
			res.Interrupted = true
			res.Skipped = append(res.Skipped, c.Address)
		}
	}
	sort.Strings(res.Done)
	sort.Strings(res.Skipped)
	return res
}

// verbs are an action's words: starting, done, failing, still running.
var verbs = map[planner.Action][4]string{
	planner.Create:  {"Creating", "Creation complete", "create", "creating"},
	planner.Update:  {"Modifying", "Modifications complete", "update", "modifying"},
	planner.Replace: {"Replacing", "Replacement complete", "replace", "replacing"},
	planner.Delete:  {"Destroying", "Destruction complete", "delete", "destroying"},
	planner.Move:    {"Moving", "Move complete", "move", "moving"},
	planner.Import:  {"Importing", "Import complete", "import", "importing"},
}

func (e *Executor) logf(format string, args ...any) {
	if e.Progress != nil {
		e.progressMu.Lock()
		defer e.progressMu.Unlock()
		fmt.Fprintf(e.Progress, format+"\n", args...)
	}
}

// heartbeat prints "Still creating... [1m0s elapsed]" every Heartbeat
// until the returned stop is called; stop returns once no line can follow,
// and may be called again.
func (e *Executor) heartbeat(addr, verb string, start time.Time) (stop func()) {
	every := e.Heartbeat
	if every == 0 {
		every = 10 * time.Second
	}
	if every < 0 {
		return func() {}
	}
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				e.logf("%s: Still %s... [%s elapsed]", addr, verb, e.Now().Sub(start).Round(time.Second))
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-exited
	}
}

// applyOneSafely is applyOne with a panic turned into the action's error, so
// a bug in one provider fails that action (state of the others saved)
// instead of crashing the run with Go's exit code 2.
func (e *Executor) applyOneSafely(ctx context.Context, c *planner.Change) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v; please report it", r)
		}
	}()
	return e.applyOne(ctx, c)
}

// applyOne performs one change and persists state immediately after each
// provider call that changed the cloud.
func (e *Executor) applyOne(ctx context.Context, c *planner.Change) error {
	ctx = providers.WithStopWaiting(ctx, e.Stop)
	v := verbs[c.Action]
	start := e.Now()
	e.logf("%s: %s...", c.Address, v[0])
	progress := func(msg string) {
		msg = strings.TrimPrefix(msg, c.Address+": ")
		e.logf("%s: %s [%s elapsed]", c.Address, msg, e.Now().Sub(start).Round(time.Second))
	}
	stopHeartbeat := e.heartbeat(c.Address, v[3], start)
	defer stopHeartbeat() // also when a provider panics
	var err error
	switch c.Action {
	case planner.Create:
		err = e.create(ctx, c, progress)
	case planner.Update, planner.Move, planner.Import:
		err = e.update(ctx, c, progress)
	case planner.Delete:
		err = e.delete(ctx, c, progress)
	case planner.Replace:
		if c.ReplaceMode == planner.ReplaceCreateBeforeDestroy {
			err = e.replaceCreatingFirst(ctx, c, progress)
		} else if err = e.delete(ctx, c, progress); err == nil {
			err = e.create(ctx, c, progress)
		}
	}
	if err == nil {
		err = e.deleteDeposed(ctx, c, progress)
	}
	stopHeartbeat()
	elapsed := e.Now().Sub(start).Round(time.Second)
	if err != nil {
		e.logf("%s: %s failed after %s: %v", c.Address, v[2], elapsed, err)
		return err
	}
	ids := ""
	if r := e.stateResource(c.Address); r != nil && len(r.IDs) > 0 && c.Action != planner.Delete {
		ids = fmt.Sprintf(" [id=%s]", planner.ShortList(r.IDs, 5))
	}
	e.logf("%s: %s after %s%s", c.Address, v[1], elapsed, ids)
	return nil
}

// stateResource reads one entry under the lock (actions run concurrently).
func (e *Executor) stateResource(addr string) *state.Resource {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.State.Resource(addr)
}

func (e *Executor) provider(cloud string) (providers.Provider, error) {
	p, ok := e.Providers[cloud]
	if !ok {
		return nil, fmt.Errorf("no provider configured for cloud %q", cloud)
	}
	return p, nil
}

// request is the provider request for one change, acting on the
// generation the change leaves (a delete's request names the prior's).
func (e *Executor) request(op providers.Operation, c *planner.Change, prior *state.Resource, progress func(string)) providers.ApplyRequest {
	return providers.ApplyRequest{Op: op, Workspace: e.State.Workspace, StateID: e.State.Lineage, Address: c.Address, Type: c.Type,
		Generation: c.Generation, Desired: c.After, Prior: prior, ClaimLegacy: c.ClaimLegacy, MovedFrom: c.MovedFrom, ImportID: c.ImportID, Progress: progress}
}

// replaceCreatingFirst creates the change's generation and, once it runs,
// deletes the one it replaces. A refused create puts the old entry back in
// state: the old generation was never touched and keeps running.
func (e *Executor) replaceCreatingFirst(ctx context.Context, c *planner.Change, progress func(string)) error {
	old := c.Prior
	e.mu.Lock()
	was := e.State.Resource(c.Address)
	e.mu.Unlock()
	if was != nil && was.Pending != "" {
		was = nil // an earlier run's intent: nothing to put back
	}
	progress(fmt.Sprintf("creating generation %d first; generation %d keeps running until it is up", c.Generation, old.Generation))
	if err := e.createOver(ctx, c, was, progress); err != nil {
		return fmt.Errorf("%w\n  create-before-destroy: generation %d was not deleted and keeps running", err, old.Generation)
	}
	progress(fmt.Sprintf("generation %d is up; deleting generation %d", c.Generation, old.Generation))
	if err := e.deleteGeneration(ctx, c, old, progress); err != nil {
		return fmt.Errorf("generation %d replaced it, but deleting generation %d failed (the next plan deletes it): %w", c.Generation, old.Generation, err)
	}
	return nil
}

// deleteDeposed deletes the older generations the plan found at the
// change's address, once the change itself succeeded.
func (e *Executor) deleteDeposed(ctx context.Context, c *planner.Change, progress func(string)) error {
	var errs []error
	for _, d := range c.Deposed {
		progress(fmt.Sprintf("deleting generation %d, left by an interrupted replacement", d.Generation))
		if err := e.deleteGeneration(ctx, c, d, progress); err != nil {
			errs = append(errs, fmt.Errorf("deleting generation %d: %w", d.Generation, err))
		}
	}
	return errors.Join(errs...)
}

// deleteGeneration deletes the objects of one generation that is not the
// one state records; state is left as it is (a generation that survives is
// found again, by its tags, by the next plan).
func (e *Executor) deleteGeneration(ctx context.Context, c *planner.Change, victim *state.Resource, progress func(string)) error {
	p, err := e.provider(victim.Cloud)
	if err != nil {
		return err
	}
	req := e.request(providers.OpDelete, c, victim, progress)
	req.Type, req.Desired, req.Generation = victim.Type, nil, victim.Generation
	_, err = p.Apply(ctx, req)
	return err
}

// create records the intent in state and saves it before asking the cloud,
// so a run killed between the cloud call and the next save leaves a trace:
// the next run finds the objects by their tags (or, for one left untagged,
// through the intent) and adopts them instead of making more.
func (e *Executor) create(ctx context.Context, c *planner.Change, progress func(string)) error {
	return e.createOver(ctx, c, nil, progress)
}

// createOver is create over an entry that a refused create restores (nil:
// the entry is removed).
func (e *Executor) createOver(ctx context.Context, c *planner.Change, was *state.Resource, progress func(string)) error {
	p, err := e.provider(c.Cloud)
	if err != nil {
		return err
	}
	intent := &state.Resource{Address: c.Address, Type: c.Type, Cloud: c.Cloud, Attrs: state.Attrs(c.After).Clone(),
		DependsOn: c.ResourceDependsOn, Sensitive: c.Sensitive, Pending: state.PendingCreate, Generation: c.Generation}
	e.mu.Lock()
	e.State.Set(intent)
	e.mu.Unlock()
	if err := e.save(ctx); err != nil {
		return err
	}
	// The provider sees the intent of an earlier, interrupted run (the
	// plan's prior), never this one's: only that one is evidence that an
	// untagged object by this name may be skyplan's.
	r, err := p.Apply(ctx, e.request(providers.OpCreate, c, c.Prior, progress))
	// Save whatever exists, even on error, so state never forgets an object;
	// with nothing to show, the intent stays for the next run to settle —
	// unless the provider is certain nothing was made.
	switch {
	case r != nil:
		e.record(c, r)
	case providers.IsRefused(err):
		e.mu.Lock()
		if was != nil {
			e.State.Set(was)
		} else {
			e.State.Remove(c.Address)
		}
		e.mu.Unlock()
	}
	if saveErr := e.save(ctx); saveErr != nil && err == nil {
		err = saveErr
	}
	return err
}

func (e *Executor) update(ctx context.Context, c *planner.Change, progress func(string)) error {
	if c.StateOnly {
		// Only skyplan's own settings change: take them from the spec,
		// everything else stays as observed.
		r := cloneResource(c.Prior)
		for _, a := range c.Attrs {
			r.Attrs[a.Name] = c.After[a.Name]
		}
		e.record(c, r)
		return e.save(ctx)
	}
	p, err := e.provider(c.Cloud)
	if err != nil {
		return err
	}
	r, err := p.Apply(ctx, e.request(providers.OpUpdate, c, c.Prior, progress))
	if r != nil {
		e.record(c, r)
	}
	if saveErr := e.save(ctx); saveErr != nil && err == nil {
		err = saveErr
	}
	return err
}

func (e *Executor) delete(ctx context.Context, c *planner.Change, progress func(string)) error {
	prior := c.Prior
	if prior == nil {
		prior = e.stateResource(c.Address)
	}
	if prior == nil {
		return nil
	}
	p, err := e.provider(prior.Cloud)
	if err != nil {
		return err
	}
	req := e.request(providers.OpDelete, c, prior, progress)
	req.Type, req.Desired, req.Generation = prior.Type, nil, prior.Generation
	r, err := p.Apply(ctx, req)
	e.mu.Lock()
	if r != nil {
		// Partly deleted: keep what is left in state.
		e.State.Set(r)
	} else if err == nil {
		e.State.Remove(c.Address)
	}
	e.mu.Unlock()
	if saveErr := e.save(ctx); saveErr != nil && err == nil {
		err = saveErr
	}
	return err
}

// record stores the provider's result as it is: providers return the whole
// resource (providers.Overlay of desired and observed is the one merge
// rule), so the executor only stamps what the plan knows and a provider
// does not: identity, dependencies and sensitivity.
func (e *Executor) record(c *planner.Change, r *state.Resource) {
	out := cloneResource(r)
	if out.Address == "" {
		out.Address = c.Address
	}
	if out.Type == "" {
		out.Type = c.Type
	}
	if out.Cloud == "" {
		out.Cloud = c.Cloud
	}
	out.DependsOn = c.ResourceDependsOn
	out.Sensitive = c.Sensitive
	out.Generation = c.Generation
	out.Pending, out.MovedFrom = "", ""
	e.mu.Lock()
	if c.MovedFrom != "" && c.MovedFrom != c.Address {
		e.State.Remove(c.MovedFrom)
	}
	e.State.Set(out)
	e.mu.Unlock()
}

// save returns once the state, with every change made before the call, is
// saved. Concurrent actions share saves (group commit): while one save is
// written, the callers that arrive wait, and the next save covers them all,
// so at parallelism 50 a wave of creates costs a few writes, not 100. The
// error is that of the last save that covered the caller's change.
func (e *Executor) save(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.saveDone == nil {
		e.saveDone = sync.NewCond(&e.mu)
	}
	e.requested++
	mine := e.requested
	for e.durable < mine {
		if e.saving {
			e.saveDone.Wait()
			continue
		}
		e.writeState(ctx)
	}
	return e.lastSaveErr
}

// writeState writes one snapshot covering every request so far, without
// holding e.mu while the backend writes. Callers hold e.mu.
func (e *Executor) writeState(ctx context.Context) {
	e.saving = true
	covers := e.requested
	err := errors.New("the backend panicked")
	defer func() { // even when the backend panics: the waiters must not hang
		e.saving = false
		e.durable = covers
		e.lastSaveErr = nil
		if err != nil {
			e.lastSaveErr = fmt.Errorf("saving state: %w", err)
		}
		e.saveDone.Broadcast()
	}()
	e.State.Serial++
	// The executor replaces resources in State (Set), never edits them in
	// place, so a snapshot needs only its own list: a deep copy cost more
	// than the write at 200 resources.
	snap := *e.State
	snap.Resources = slices.Clone(e.State.Resources)
	snapshot := &snap
	e.mu.Unlock()
	defer e.mu.Lock()
	err = nil
	if e.Backend != nil {
		// Saving must not be abandoned on a hard interrupt: the cloud already changed.
		err = e.Backend.Save(context.WithoutCancel(ctx), snapshot)
	}
}

func cloneResource(r *state.Resource) *state.Resource {
	out := &state.Resource{Address: r.Address, Type: r.Type, Cloud: r.Cloud, Attrs: map[string]any{}, Generation: r.Generation}
	out.IDs = append(out.IDs, r.IDs...)
	for k, v := range r.Attrs {
		out.Attrs[k] = v
	}
	if len(r.Private) > 0 {
		out.Private = map[string]string{}
		for k, v := range r.Private {
			out.Private[k] = v
		}
	}
	out.DependsOn = append(out.DependsOn, r.DependsOn...)
	out.Sensitive = append(out.Sensitive, r.Sensitive...)
	return out
}
