package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	smithywaiter "github.com/aws/smithy-go/waiter"

	"github.com/skyplan/skyplan/providers"
)

// Waits for instances to run are batched per region: one DescribeInstances
// asks about every instance any create of the run is waiting for, where
// ec2.NewInstanceRunningWaiter would make one call per create and attempt.
// A newly awaited instance is asked about at once, after runGather, so
// launches answered together share a call; one still pending is asked
// again with the SDK waiter's backoff (2 s doubling to 30 s, jittered),
// and every poll takes all the waiting instances along.
const (
	runGather   = 3 * time.Millisecond
	runMinDelay = 2 * time.Second
	runMaxDelay = 30 * time.Second
	// idsPerPoll bounds the instance-id filter's values in one call.
	idsPerPoll = 200
)

// runningWatch is one region's batched waits.
type runningWatch struct {
	client *ec2.Client
	region string
	gather time.Duration // runGather; tests widen it

	mu      sync.Mutex
	waiting map[string]*awaited // instance ID → its poll schedule and waiters
	wake    chan struct{}
	looping bool
}

type awaited struct {
	attempt  int64
	due      time.Time
	inFlight bool
	waiters  []*runWaiter
}

// runWaiter is one caller's wait: done closes when every instance runs or
// one failed (err).
type runWaiter struct {
	remaining map[string]bool
	ran       map[string]ec2types.Instance
	err       error
	done      chan struct{}
}

func (p *Provider) runningWatch(client *ec2.Client, region string) *runningWatch {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.waits[region]
	if w == nil {
		w = &runningWatch{client: client, region: region, gather: runGather, waiting: map[string]*awaited{}, wake: make(chan struct{}, 1)}
		p.waits[region] = w
	}
	return w
}

// waitRunning waits, within the wait timeout and the run's stop-waiting,
// until every instance runs, and returns each one's last description (the
// launch's read-back). An instance that shuts down, terminates or stops
// instead fails the wait, with EC2's reason.
func (p *Provider) waitRunning(ctx context.Context, client *ec2.Client, addr, region string, ids []string) (map[string]ec2types.Instance, error) {
	var ran map[string]ec2types.Instance
	err := p.waitFor(ctx, addr, region, "waiting for "+strings.Join(ids, ", ")+" to run", func(ctx context.Context, _ time.Duration) error {
		var err error
		ran, err = p.runningWatch(client, region).await(ctx, ids)
		return err
	})
	return ran, err
}

func (w *runningWatch) await(ctx context.Context, ids []string) (map[string]ec2types.Instance, error) {
	rw := &runWaiter{remaining: map[string]bool{}, ran: map[string]ec2types.Instance{}, done: make(chan struct{})}
	due := time.Now().Add(w.gather)
	w.mu.Lock()
	for _, id := range ids {
		rw.remaining[id] = true
		a := w.waiting[id]
		if a == nil {
			a = &awaited{due: due}
			w.waiting[id] = a
		}
		a.waiters = append(a.waiters, rw)
	}
	if !w.looping {
		w.looping = true
		go w.run()
	}
	w.mu.Unlock()
	w.signal()
	select {
	case <-rw.done:
		return rw.ran, rw.err
	case <-ctx.Done():
		w.mu.Lock()
		w.leave(rw)
		w.mu.Unlock()
		return nil, ctx.Err()
	}
}

func (w *runningWatch) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// leave drops a waiter's instances nobody else awaits. Callers hold w.mu.
func (w *runningWatch) leave(rw *runWaiter) {
	for id := range rw.remaining {
		a := w.waiting[id]
		if a == nil {
			continue
		}
		a.waiters = slices.DeleteFunc(a.waiters, func(o *runWaiter) bool { return o == rw })
		if len(a.waiters) == 0 {
			delete(w.waiting, id)
		}
	}
}

// run loops; should the loop panic, every waiter gets the error instead
// of waiting out its timeout, and the next wait starts a new loop.
func (w *runningWatch) run() {
	err := providers.Safely(func() error { w.loop(); return nil })()
	if err == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.looping = false
	w.settle(slices.Collect(maps.Keys(w.waiting)), nil, err)
}

// loop polls while anything is awaited: whenever an instance is due, it
// asks about every instance not already being asked about.
func (w *runningWatch) loop() {
	for {
		w.mu.Lock()
		if len(w.waiting) == 0 {
			w.looping = false
			w.mu.Unlock()
			return
		}
		now := time.Now()
		var next time.Time
		poll := false
		for _, a := range w.waiting {
			if a.inFlight {
				continue
			}
			if !a.due.After(now) {
				poll = true
			} else if next.IsZero() || a.due.Before(next) {
				next = a.due
			}
		}
		var batch []string
		if poll {
			for id, a := range w.waiting {
				if !a.inFlight {
					a.inFlight = true
					batch = append(batch, id)
				}
			}
		}
		w.mu.Unlock()
		if poll {
			slices.Sort(batch)
			go w.poll(batch)
			continue
		}
		var timer *time.Timer
		var fire <-chan time.Time
		if !next.IsZero() {
			timer = time.NewTimer(time.Until(next))
			fire = timer.C
		}
		select {
		case <-w.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// poll asks about a batch and settles its instances. It runs apart from
// its waiters, which may leave at any time; the call is bounded by the
// per-call timeout.
func (w *runningWatch) poll(batch []string) {
	found := map[string]ec2types.Instance{}
	err := providers.Safely(func() error {
		for chunk := range slices.Chunk(batch, idsPerPoll) {
			insts, err := describeAll(context.Background(), w.client, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{filter("instance-id", chunk...)}})
			if err != nil {
				return wrapErr("", "DescribeInstances", w.region, err)
			}
			for _, inst := range insts {
				found[awssdk.ToString(inst.InstanceId)] = inst
			}
		}
		return nil
	})()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.settle(batch, found, err)
	w.signal()
}

// settle hands each instance of a batch to its waiters: running, failed
// (err, or a state it will not run from: the SDK waiter's failure states),
// or due again with the backoff. Callers hold w.mu.
func (w *runningWatch) settle(batch []string, found map[string]ec2types.Instance, err error) {
	for _, id := range batch {
		a := w.waiting[id]
		if a == nil {
			continue // its waiters left
		}
		a.inFlight = false
		inst, seen := found[id]
		failed := err
		switch {
		case err != nil:
		case !seen:
			// Not visible yet: EC2 is eventually consistent just after a launch.
		case inState(inst, []string{"shutting-down", "terminated", "stopping"}):
			failed = fmt.Errorf("instance %s is %s%s", id, inst.State.Name, stateReason(inst))
		case inst.State != nil && inst.State.Name == ec2types.InstanceStateNameRunning:
			delete(w.waiting, id)
			for _, rw := range a.waiters {
				rw.ran[id] = inst
				delete(rw.remaining, id)
				if len(rw.remaining) == 0 && rw.err == nil {
					close(rw.done)
				}
			}
			continue
		}
		if failed != nil {
			for _, rw := range slices.Clone(a.waiters) {
				if rw.err == nil {
					rw.err = failed
					w.leave(rw)
					close(rw.done)
				}
			}
			continue
		}
		a.attempt++
		delay, derr := smithywaiter.ComputeDelay(a.attempt, runMinDelay, runMaxDelay, runMaxDelay)
		if derr != nil {
			delay = runMinDelay
		}
		a.due = time.Now().Add(delay)
	}
}

// stateReason is EC2's reason for an instance's state, for messages.
func stateReason(inst ec2types.Instance) string {
	if inst.StateReason != nil && awssdk.ToString(inst.StateReason.Message) != "" {
		return " (" + awssdk.ToString(inst.StateReason.Message) + ")"
	}
	if r := awssdk.ToString(inst.StateTransitionReason); r != "" {
		return " (" + r + ")"
	}
	return ""
}
