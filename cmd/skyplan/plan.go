package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/skyplan/skyplan/executor"
	"github.com/skyplan/skyplan/internal/session"
	"github.com/skyplan/skyplan/planner"
)

// PlanCmd is `skyplan plan`.
type PlanCmd struct {
	Out              string   `name:"out" placeholder:"FILE" help:"Save the plan to FILE for 'skyplan apply FILE' (also -out). Incomplete plans and plans with lint errors are not saved."`
	DetailedExitcode bool     `name:"detailed-exitcode" help:"Exit 0 when there are no changes, 2 when there are, 1 on error (an incomplete plan is an error)."`
	Format           string   `name:"format" enum:"text,json,markdown" default:"text" help:"Output format: text, json or markdown (for pull-request comments)."`
	Destroy          bool     `name:"destroy" help:"Plan the deletion of everything skyplan manages in this workspace."`
	AllowReplace     []string `name:"allow-replace" placeholder:"ADDR" help:"Allow replacing this jobs_controller (repeatable)."`
	SkipLint         bool     `name:"skip-lint" help:"Do not gate the plan on lint errors (the plan says so)."`
	Target           []string `name:"target" placeholder:"ADDR" predictor:"address" help:"Plan only this resource and what it needs (repeatable; also -target), as Terraform's -target."`
}

// Run plans and renders.
func (c *PlanCmd) Run(g *Globals) error {
	ctx := g.Context()
	s, err := g.openSession(ctx, session.Options{Operation: "plan", Lock: true})
	if err != nil {
		return err
	}
	defer g.closeSession(s)
	p, _, err := s.Plan(ctx, session.PlanOptions{Destroy: c.Destroy, AllowReplace: c.AllowReplace, SkipLint: c.SkipLint, Targets: c.Target})
	if err != nil {
		if c.Format == "markdown" {
			// The pull-request comment says why there is no plan.
			why, findings := "skyplan plan failed: "+err.Error(), []planner.Finding(nil)
			if le := (*session.LintError)(nil); errors.As(err, &le) {
				why, findings = "lint found errors in the spec, so nothing was planned. Fix them (or plan with `--skip-lint`).", session.Findings(le.Report)
			}
			if werr := planner.WriteMarkdownFailure(g.Stdout, s.Config.Workspace, why, findings); werr != nil {
				return werr
			}
		}
		return g.lintRefusal(err)
	}
	if err := ctx.Err(); err != nil {
		return err // interrupted: a plan of what could be seen so far would mislead
	}
	if err := renderPlan(g, p, c.Format); err != nil {
		return err
	}
	if err := planProblems(g, s, p); err != nil {
		if c.Out != "" {
			fmt.Fprintf(g.Stderr, "The plan was not saved to %s.\n", c.Out)
		}
		return err
	}
	if c.Out != "" {
		if p.Variables, err = planner.EncodeVariables(s.Config.Variables); err != nil {
			return fmt.Errorf("saving plan: %w", err)
		}
		if err := planner.WriteFile(c.Out, p); err != nil {
			return fmt.Errorf("saving plan: %w", err)
		}
		fmt.Fprintf(g.Stderr, "Saved the plan to %s. Apply exactly this plan with: skyplan apply %s\n", c.Out, c.Out)
	}
	if c.DetailedExitcode && p.HasChanges() {
		return exitCode(ExitChanges)
	}
	return nil
}

func renderPlan(g *Globals, p *planner.Plan, format string) error {
	switch format {
	case "json":
		return planner.WriteJSON(g.Stdout, p)
	case "markdown":
		return planner.WriteMarkdown(g.Stdout, p)
	}
	return planner.WriteText(g.Stdout, p, planner.TextOptions{Color: g.Color()})
}

// planProblems prints, on stderr, why a plan cannot be applied as a whole —
// what could not be observed (one line per hidden resource, with its file
// and line) and lint errors — and returns exit 1 when there is any.
func planProblems(g *Globals, s *session.Session, p *planner.Plan) error {
	for _, gap := range p.Gaps {
		if len(gap.Addresses) == 0 {
			fmt.Fprintf(g.Stderr, "Error: %s\n", gap.Describe())
			continue
		}
		for _, addr := range gap.Addresses {
			where := ""
			if r := s.Config.Resource(addr); r != nil {
				rng := r.Range("cloud")
				where = fmt.Sprintf(" (%s:%d)", rng.Filename, rng.Start.Line)
			}
			fmt.Fprintf(g.Stderr, "Error: %s%s: cloud %q %s\n", addr, where, gap.Cloud, gap.Reason)
		}
	}
	var msgs []string
	if !p.Complete() {
		msgs = append(msgs, "the plan is incomplete: fix what could not be observed (see skyplan check) and plan again")
	}
	if n := p.LintErrors(); n > 0 {
		msgs = append(msgs, fmt.Sprintf("lint found %d error(s) (listed with the plan); fix them, or add --skip-lint", n))
	}
	if len(msgs) == 0 {
		return nil
	}
	return &exitError{code: ExitError, msg: strings.Join(msgs, "; ")}
}

// ApplyCmd is `skyplan apply [PLANFILE]`.
type ApplyCmd struct {
	PlanFile     string   `arg:"" optional:"" name:"planfile" help:"A plan saved with 'skyplan plan -out FILE'; refused if the state, the spec or the clouds changed since."`
	AutoApprove  bool     `name:"auto-approve" help:"Apply without asking for confirmation (for CI)."`
	Parallelism  int      `name:"parallelism" default:"10" help:"How many actions may run at once."`
	AllowReplace []string `name:"allow-replace" placeholder:"ADDR" help:"Allow replacing this jobs_controller (repeatable)."`
	SkipLint     bool     `name:"skip-lint" help:"Apply even when lint reports errors (a resource whose cloud capability is denied is then skipped, the rest applied)."`
	Target       []string `name:"target" placeholder:"ADDR" predictor:"address" help:"Apply only this resource and what it needs (repeatable; also -target). A saved plan keeps its own targets."`
}

// Run applies.
func (c *ApplyCmd) Run(g *Globals) error {
	if c.PlanFile != "" && len(c.Target) > 0 {
		return fmt.Errorf("--target cannot narrow a saved plan; make a targeted plan with skyplan plan --target ADDR -out FILE")
	}
	return applyOrDestroy(g, applyRun{op: "apply", planFile: c.PlanFile, autoApprove: c.AutoApprove, parallelism: c.Parallelism,
		allowReplace: c.AllowReplace, skipLint: c.SkipLint, targets: c.Target})
}

// DestroyCmd is `skyplan destroy`.
type DestroyCmd struct {
	AutoApprove bool     `name:"auto-approve" help:"Destroy without asking for confirmation."`
	Parallelism int      `name:"parallelism" default:"10" help:"How many actions may run at once."`
	Target      []string `name:"target" placeholder:"ADDR" predictor:"address" help:"Destroy only this resource and what depends on it (repeatable; also -target)."`
}

// Run destroys.
func (c *DestroyCmd) Run(g *Globals) error {
	return applyOrDestroy(g, applyRun{op: "destroy", destroy: true, autoApprove: c.AutoApprove, parallelism: c.Parallelism, targets: c.Target})
}

type applyRun struct {
	op           string
	destroy      bool
	planFile     string
	autoApprove  bool
	parallelism  int
	allowReplace []string
	skipLint     bool
	targets      []string
}

func applyOrDestroy(g *Globals, r applyRun) error {
	ctx := g.Context()
	var saved *planner.Plan
	if r.planFile != "" {
		var err error
		if saved, err = planner.ReadFile(r.planFile); err != nil {
			return err
		}
		// The spec is loaded with the plan's own variable values.
		if g.savedVars, err = planner.DecodeVariables(saved.Variables); err != nil {
			return fmt.Errorf("%s: %w", r.planFile, err)
		}
	}
	s, err := g.openSession(ctx, session.Options{Operation: r.op, Lock: true})
	if err != nil {
		return err
	}
	defer g.closeSession(s)
	var p *planner.Plan
	if saved != nil {
		if p, err = savedPlan(ctx, s, saved); err != nil {
			return err
		}
	} else {
		p, _, err = s.Plan(ctx, session.PlanOptions{Destroy: r.destroy, AllowReplace: r.allowReplace, SkipLint: r.skipLint, Targets: r.targets})
		if err != nil {
			return g.lintRefusal(err)
		}
		if err := renderPlan(g, p, "text"); err != nil {
			return err
		}
	}
	problems := planProblems(g, s, p)
	if refusal := applyRefusal(p); refusal != "" {
		return fmt.Errorf("%s refused, nothing was changed: %s", r.op, refusal)
	}
	if !p.HasChanges() && p.Adoptions() == 0 {
		return problems
	}
	if r.planFile == "" && !r.autoApprove && p.HasChanges() {
		if err := confirm(g, r.op); err != nil {
			return err
		}
	}
	if g.wasInterrupted() {
		return fmt.Errorf("%s interrupted before it started; nothing was changed", r.op)
	}
	fmt.Fprintln(g.Stdout)
	res, err := s.Apply(ctx, p, session.ApplyOptions{Parallelism: r.parallelism, Progress: g.Stdout, Stop: g.Interrupted()})
	var blocked *executor.ErrBlocked
	if errors.As(err, &blocked) {
		return fmt.Errorf("%s refused, nothing was changed:\n%s", r.op, blocked.Error())
	}
	if err != nil {
		return err
	}
	if err := res.Err(); err != nil {
		op := strings.ToUpper(r.op[:1]) + r.op[1:]
		if res.SaveErr != nil {
			fmt.Fprintf(g.Stdout, "\n%s stopped. Saving the state to %s FAILED: %v\n"+
				"What this run created carries skyplan's ownership tags: once the backend works again, run plan to see it (or skyplan state rebuild if the state is lost).\n",
				op, s.Backend.Describe(), res.SaveErr)
			return err
		}
		fmt.Fprintf(g.Stdout, "\n%s stopped. State saved to %s (serial %d).\n", op, s.Backend.Describe(), s.State.Serial)
		return err
	}
	sum := p.Summary
	if r.destroy {
		fmt.Fprintf(g.Stdout, "\nDestroy complete! Resources: %d destroyed.\n", sum.Destroy)
	} else {
		fmt.Fprintf(g.Stdout, "\nApply complete! Resources: %d added, %d changed, %d replaced, %d destroyed.\n", sum.Add, sum.Change, sum.Replace, sum.Destroy)
	}
	return problems
}

// applyRefusal says why a plan may not be applied at all, or "". A cloud
// that could not be observed stops everything (nobody knows what is there);
// a denied capability stops everything through the lint gate, and with
// --skip-lint only hides the resources that need it.
func applyRefusal(p *planner.Plan) string {
	for _, gap := range p.Gaps {
		if gap.Capability == "" {
			return gap.Describe()
		}
	}
	if n := p.LintErrors(); n > 0 {
		return fmt.Sprintf("lint found %d error(s) (listed with the plan); fix them, or add --skip-lint", n)
	}
	return ""
}

// savedPlan reads a plan file and makes sure applying it does exactly what
// it shows: the state and spec are those it was made from, and planning
// again now finds the clouds as the plan assumed them.
func savedPlan(ctx context.Context, s *session.Session, saved *planner.Plan) (*planner.Plan, error) {
	if err := saved.CheckCurrent(s.State, s.Config.Hash); err != nil {
		return nil, err
	}
	if s.State.Serial == 0 {
		s.State.Lineage = saved.Lineage // a plan made before any state existed
	}
	fresh, _, err := s.Plan(ctx, session.PlanOptions{Destroy: saved.Destroy, AllowReplace: allowedReplacements(saved), SkipLint: saved.LintSkipped, Targets: saved.Targets})
	if err != nil {
		return nil, err
	}
	if !fresh.Complete() {
		return nil, fmt.Errorf("cannot check the saved plan against the clouds: %s", fresh.Gaps[0].Describe())
	}
	if diffs := planner.Diverged(saved, fresh); len(diffs) > 0 {
		return nil, fmt.Errorf("saved plan is stale: the clouds changed since it was made, so applying it would not do what it shows:\n  %s\nrun skyplan plan again", strings.Join(diffs, "\n  "))
	}
	return fresh, nil
}

// allowedReplacements are the replacements a saved plan was allowed to make.
func allowedReplacements(p *planner.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		if c.Action == planner.Replace && c.Blocked == "" {
			out = append(out, c.Address)
		}
	}
	return out
}

// confirm asks on a terminal; without one it refuses rather than hang or
// guess. An interrupt while it waits for the answer cancels.
func confirm(g *Globals, op string) error {
	if !g.StdinTTY {
		return fmt.Errorf("%s needs confirmation, but stdin is not a terminal: re-run with --auto-approve, or save a plan with 'skyplan plan -out FILE' and run 'skyplan apply FILE'", op)
	}
	fmt.Fprintf(g.Stdout, "\nDo you want to %s these changes? Only 'yes' will be accepted: ", op)
	if f, ok := g.Stdout.(interface{ Flush() error }); ok {
		f.Flush() // the prompt has no newline
	}
	type reply struct {
		answer string
		err    error
	}
	got := make(chan reply, 1)
	go func() {
		answer, err := bufio.NewReader(g.Stdin).ReadString('\n')
		got <- reply{answer, err}
	}()
	var r reply
	select {
	case r = <-got:
	case <-g.Interrupted():
		return fmt.Errorf("%s cancelled; nothing was changed", op)
	}
	if r.err != nil && !errors.Is(r.err, io.EOF) {
		return r.err
	}
	if strings.TrimSpace(r.answer) != "yes" {
		return fmt.Errorf("%s cancelled; nothing was changed", op)
	}
	return nil
}
