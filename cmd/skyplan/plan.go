package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/skyplan/skyplan/executor"
	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/state"
)

// PlanCmd is `skyplan plan`.
type PlanCmd struct {
	Out              string   `name:"out" placeholder:"FILE" help:"Save the plan to FILE for 'skyplan apply FILE' (also -out)."`
	DetailedExitcode bool     `name:"detailed-exitcode" help:"Exit 0 when there are no changes, 2 when there are, 1 on error."`
	Format           string   `name:"format" enum:"text,json,markdown" default:"text" help:"Output format: text, json or markdown (for pull-request comments)."`
	Destroy          bool     `name:"destroy" help:"Plan the deletion of everything skyplan manages in this workspace."`
	AllowReplace     []string `name:"allow-replace" placeholder:"ADDR" help:"Allow replacing this jobs_controller (repeatable)."`
	SkipLint         bool     `name:"skip-lint" help:"Plan even when static lint rules report errors."`
}

// Run plans and renders.
func (c *PlanCmd) Run(g *Globals) error {
	ctx := g.Context()
	s, err := g.openSession(ctx, "plan", true)
	if err != nil {
		return err
	}
	defer s.close()
	if !c.SkipLint {
		if err := g.staticLint(s.cfg, s.st); err != nil {
			return err
		}
	}
	p, err := s.plan(ctx, c.Destroy, c.AllowReplace)
	if err != nil {
		return err
	}
	if err := renderPlan(g, p, c.Format); err != nil {
		return err
	}
	if c.Out != "" {
		if err := planner.WriteFile(c.Out, p); err != nil {
			return fmt.Errorf("saving plan: %w", err)
		}
		fmt.Fprintf(g.Stderr, "Saved the plan to %s. Apply exactly this plan with: skyplan apply %s\n", c.Out, c.Out)
	}
	if s.reportBlocked() {
		return exitCode(ExitError)
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

// ApplyCmd is `skyplan apply [PLANFILE]`.
type ApplyCmd struct {
	PlanFile     string   `arg:"" optional:"" name:"planfile" help:"A plan saved with 'skyplan plan -out FILE'; refused if the state or spec changed since."`
	AutoApprove  bool     `name:"auto-approve" help:"Apply without asking for confirmation (for CI)."`
	Parallelism  int      `name:"parallelism" default:"10" help:"How many actions may run at once."`
	AllowReplace []string `name:"allow-replace" placeholder:"ADDR" help:"Allow replacing this jobs_controller (repeatable)."`
	SkipLint     bool     `name:"skip-lint" help:"Apply even when static lint rules report errors."`
}

// Run applies.
func (c *ApplyCmd) Run(g *Globals) error {
	return applyOrDestroy(g, "apply", false, c.PlanFile, c.AutoApprove, c.Parallelism, c.AllowReplace, c.SkipLint)
}

// DestroyCmd is `skyplan destroy`.
type DestroyCmd struct {
	AutoApprove bool `name:"auto-approve" help:"Destroy without asking for confirmation."`
	Parallelism int  `name:"parallelism" default:"10" help:"How many actions may run at once."`
}

// Run destroys.
func (c *DestroyCmd) Run(g *Globals) error {
	return applyOrDestroy(g, "destroy", true, "", c.AutoApprove, c.Parallelism, nil, true)
}

func applyOrDestroy(g *Globals, op string, destroy bool, planFile string, autoApprove bool, parallelism int, allowReplace []string, skipLint bool) error {
	ctx := g.Context()
	s, err := g.openSession(ctx, op, true)
	if err != nil {
		return err
	}
	defer s.close()
	var p *planner.Plan
	if planFile != "" {
		p, err = planner.ReadFile(planFile)
		if err != nil {
			return err
		}
		if err := p.CheckCurrent(s.st, s.cfg.Hash); err != nil {
			return err
		}
		if s.st.Serial == 0 {
			s.st.Lineage = p.Lineage // a plan made before any state existed
		}
		s.checkCapabilities(ctx)
	} else {
		if !skipLint {
			if err := g.staticLint(s.cfg, s.st); err != nil {
				return err
			}
		}
		p, err = s.plan(ctx, destroy, allowReplace)
		if err != nil {
			return err
		}
		if err := renderPlan(g, p, "text"); err != nil {
			return err
		}
	}
	if !p.HasChanges() {
		if s.reportBlocked() {
			return exitCode(ExitError)
		}
		return nil
	}
	if planFile == "" && !autoApprove {
		if err := confirm(g, op); err != nil {
			return err
		}
	}
	fmt.Fprintln(g.Stdout)
	ex := &executor.Executor{Providers: s.providers, Backend: s.backend, State: s.st, Parallelism: parallelism,
		Progress: g.Stdout, Stop: g.Interrupted()}
	res := ex.Apply(ctx, p)
	var blocked *executor.ErrBlocked
	if err := res.Err(); err != nil {
		if errors.As(res.Failed["plan"], &blocked) {
			return fmt.Errorf("%s refused, nothing was changed:\n%s", op, blocked.Error())
		}
		fmt.Fprintf(g.Stdout, "\n%s stopped. State saved to %s (serial %d).\n", strings.ToUpper(op[:1])+op[1:], s.backend.Describe(), s.st.Serial)
		return err
	}
	sum := p.Summary
	if destroy {
		fmt.Fprintf(g.Stdout, "\nDestroy complete! Resources: %d destroyed.\n", sum.Destroy)
	} else {
		fmt.Fprintf(g.Stdout, "\nApply complete! Resources: %d added, %d changed, %d replaced, %d destroyed.\n", sum.Add, sum.Change, sum.Replace, sum.Destroy)
	}
	if s.reportBlocked() {
		return exitCode(ExitError)
	}
	return nil
}

// confirm asks on a terminal; without one it refuses rather than hang or guess.
func confirm(g *Globals, op string) error {
	if !g.StdinTTY {
		return fmt.Errorf("%s needs confirmation, but stdin is not a terminal: re-run with --auto-approve, or save a plan with 'skyplan plan -out FILE' and run 'skyplan apply FILE'", op)
	}
	fmt.Fprintf(g.Stdout, "\nDo you want to %s these changes? Only 'yes' will be accepted: ", op)
	answer, err := bufio.NewReader(g.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if strings.TrimSpace(answer) != "yes" {
		return fmt.Errorf("%s cancelled; nothing was changed", op)
	}
	return nil
}

// stateRebuild rebuilds state from the ownership tags in the clouds.
func stateRebuild(ctx context.Context, s *session) (*state.State, error) {
	results := s.checkCapabilities(ctx)
	observed, _, err := s.observe(ctx, s.deniedCapabilities(results))
	if err != nil {
		return nil, err
	}
	st := s.st.Clone()
	st.Resources = nil
	for _, o := range observed {
		if prev := s.st.Resource(o.Address); prev != nil {
			o.DependsOn = prev.DependsOn
		} else if r := s.cfg.Resource(o.Address); r != nil {
			o.DependsOn = r.DependsOn
		}
		st.Set(o)
	}
	st.Serial = s.st.Serial + 1
	return st, nil
}
