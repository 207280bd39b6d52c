// Command skyplan plans and applies GPU/ML cloud infrastructure from HCL specs.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/mattn/go-isatty"
	"github.com/zclconf/go-cty/cty"

	"github.com/skyplan/skyplan/internal/redact"
	"github.com/skyplan/skyplan/providers"
	_ "github.com/skyplan/skyplan/providers/all"
)

// Exit codes, stable for scripts and CI.
const (
	ExitOK       = 0
	ExitError    = 1
	ExitChanges  = 2 // plan --detailed-exitcode: changes present
	ExitFindings = 3 // lint: error findings
)

// CLI is the command tree.
type CLI struct {
	Globals

	Validate    ValidateCmd    `cmd:"" help:"Check the spec for errors without touching any cloud."`
	Fmt         FmtCmd         `cmd:"" help:"Rewrite spec files in canonical format."`
	Plan        PlanCmd        `cmd:"" help:"Show what apply would change, and why."`
	Apply       ApplyCmd       `cmd:"" help:"Make the clouds match the spec (or apply a saved plan)."`
	Show        ShowCmd        `cmd:"" help:"Show a saved plan (text, json or markdown) without touching state or clouds."`
	Graph       GraphCmd       `cmd:"" help:"Print the spec's dependency graph in Graphviz DOT."`
	Destroy     DestroyCmd     `cmd:"" help:"Delete every resource skyplan manages in this workspace."`
	Lint        LintCmd        `cmd:"" help:"Find network, credential and GPU mistakes before anything is launched."`
	Check       CheckCmd       `cmd:"" help:"Check each cloud's credentials per capability (compute, storage)."`
	Import      ImportCmd      `cmd:"" help:"Adopt an object made outside skyplan (a bucket, instances, a VM or TPU, a SkyPilot cluster)."`
	State       StateCmd       `cmd:"" help:"Inspect the state; move, forget or rebuild entries."`
	ForceUnlock ForceUnlockCmd `cmd:"" name:"force-unlock" help:"Remove a state lock left by a crashed run."`
	K8s         K8sCmd         `cmd:"" name:"k8s" help:"Kubernetes GPU helpers: detect and label GPU nodes."`
	Catalog     CatalogCmd     `cmd:"" help:"GPU/TPU offerings and prices: list them, refresh the catalog."`
	Completion  CompletionCmd  `cmd:"" help:"Print a shell completion script (bash, zsh or fish)."`
	Version     VersionCmd     `cmd:"" help:"Print the version."`
}

// Globals are flags every command accepts, plus the process's I/O.
type Globals struct {
	Chdir   string   `name:"chdir" short:"C" default:"." placeholder:"DIR" help:"Spec directory (default: current directory)."`
	Var     []string `name:"var" sep:"none" placeholder:"NAME=VALUE" help:"Set a spec variable (repeatable). Also -var."`
	VarFile []string `name:"var-file" sep:"none" placeholder:"FILE" help:"Read variables from a file (HCL or .json; repeatable)."`
	NoColor bool     `name:"no-color" help:"Disable colored output (also when NO_COLOR is set or output is not a terminal)."`

	CallTimeout  time.Duration `name:"call-timeout" placeholder:"DURATION" help:"Bound on each call to a cloud or state backend: connecting, the answer, each pause in it (default 30s; also SKYPLAN_CALL_TIMEOUT)."`
	WaitTimeout  time.Duration `name:"wait-timeout" placeholder:"DURATION" help:"Bound on each long wait: instances running or gone, operations done (default 20m; also SKYPLAN_WAIT_TIMEOUT)."`
	CapacityWait time.Duration `name:"capacity-wait" placeholder:"DURATION" help:"Bound on retrying a zone or region that refused a launch (capacity, quota) before the next candidate (default 30s; also SKYPLAN_CAPACITY_WAIT)."`

	Stdin  io.Reader `kong:"-"`
	Stdout io.Writer `kong:"-"`
	Stderr io.Writer `kong:"-"`
	Env    []string  `kong:"-"`
	// StdinTTY/StdoutTTY say whether prompts and colors make sense.
	StdinTTY  bool `kong:"-"`
	StdoutTTY bool `kong:"-"`
	// interrupted is closed on the first SIGINT/SIGTERM; hardStop is
	// cancelled then too for read-only commands, on the second for apply
	// and destroy.
	interrupted <-chan struct{}
	hardStop    context.Context
	// savedVars are a saved plan's variable values, for the spec it applies to.
	savedVars map[string]cty.Value
	// limits are the resolved --call-timeout and --wait-timeout.
	limits providers.Limits
	// secrets are the sensitive values Stdout and Stderr redact.
	secrets *redact.Secrets
}

// exitError carries an exit code; its message (if any) was already printed.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func exitCode(code int) error { return &exitError{code: code} }

// singleDashFlags are the long flags skyplan shares with Terraform, which
// Terraform users type with one dash (README lists them).
var singleDashFlags = []string{"auto-approve", "check", "chdir", "destroy", "detailed-exitcode", "help", "no-color",
	"out", "parallelism", "target", "var", "var-file", "format", "call-timeout", "wait-timeout", "capacity-wait"}

// twoStageCommands change clouds: the first interrupt lets what runs stop
// cleanly (no new action, no more waiting, state saved), the second cancels
// the calls in flight. Every other command stops at the first.
var twoStageCommands = map[string]bool{"apply": true, "destroy": true}

// normalizeArgs turns -var=x / -var x into --var (and so on), and -json into
// --format=json, so Terraform habits work. Nothing after "--" is touched.
func normalizeArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") {
			name, _, _ := strings.Cut(a[1:], "=")
			switch {
			case a == "-json":
				a = "--format=json"
			case slices.Contains(singleDashFlags, name):
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
}

// newParser builds the command-line parser; exit is called where kong
// would exit (--help).
func newParser(cli *CLI, stdout, stderr io.Writer, exit func(int)) (*kong.Kong, error) {
	return kong.New(cli,
		kong.Name("skyplan"),
		kong.Description("Declarative plan/apply for GPU and ML cloud infrastructure (AWS, GCP, Kubernetes).\n\n"+
			"Exit codes: 0 ok, 1 error, 2 changes present (plan --detailed-exitcode), 3 lint error findings."),
		kong.Writers(stdout, stderr),
		kong.Exit(exit),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Vars{"version": Version},
	)
}

// Run executes the CLI and returns the process exit code. Everything it
// prints goes through a redacting writer (see internal/redact).
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer, env []string) int {
	secrets := &redact.Secrets{}
	out, errOut := redact.NewWriter(stdout, secrets), redact.NewWriter(stderr, secrets)
	defer errOut.Flush()
	defer out.Flush()
	cli := &CLI{}
	cli.Stdin, cli.Stdout, cli.Stderr, cli.Env, cli.secrets = stdin, out, errOut, env, secrets
	cli.StdinTTY = isTerminal(stdin)
	cli.StdoutTTY = isTerminal(stdout)
	exit := -1
	parser, err := newParser(cli, out, errOut, func(code int) { exit = code })
	if err != nil {
		fmt.Fprintln(errOut, "skyplan:", err)
		return ExitError
	}
	if completeIfAsked(parser, env) {
		return ExitOK
	}
	if len(args) == 0 {
		args = []string{"--help"} // a first run shows what there is
	}
	kctx, err := parser.Parse(normalizeArgs(args))
	if exit >= 0 {
		return exit // --help
	}
	if err != nil {
		fmt.Fprintln(errOut, "Error:", err)
		return ExitError
	}
	if cli.Chdir != "." {
		if st, err := os.Stat(cli.Chdir); err != nil || !st.IsDir() {
			fmt.Fprintf(errOut, "Error: --chdir %s: not a directory\n", cli.Chdir)
			return ExitError
		}
	}
	if cli.limits, err = cli.resolveLimits(); err != nil {
		fmt.Fprintln(errOut, "Error:", err)
		return ExitError
	}

	twoStage := twoStageCommands[strings.Fields(kctx.Command())[0]]
	stopSignals := cli.handleSignals(twoStage)
	defer stopSignals()
	err = runSafely(func() error { return kctx.Run(&cli.Globals) })
	code := ExitOK
	var ee *exitError
	switch {
	case cli.wasInterrupted() && !twoStage:
		// What the command said after its context was cancelled is noise.
		fmt.Fprintln(errOut, "Error: interrupted")
		return ExitError
	case err == nil:
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintln(errOut, "Error:", ee.msg)
		}
		code = ee.code
	default:
		fmt.Fprintln(errOut, "Error:", err)
		code = ExitError
	}
	if cli.wasInterrupted() && code != ExitError {
		fmt.Fprintln(errOut, "Error: interrupted (what had started has finished, and state is saved)")
		code = ExitError
	}
	return code
}

// internalError is a panic turned into an error.
type internalError struct{ v any }

func (e *internalError) Error() string {
	return fmt.Sprintf("internal error: %v; please report it (with the command that caused it)", e.v)
}

// runSafely runs fn, turning a panic into an *internalError: a bug must end
// with exit 1 and one line, never with Go's exit code 2 (which plan
// --detailed-exitcode uses for "changes present") and a goroutine dump.
func runSafely(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &internalError{r}
		}
	}()
	return fn()
}

// handleSignals makes SIGINT and SIGTERM (what CI runners send on cancel)
// alike. For read-only commands the first cancels everything; for apply and
// destroy (twoStage) the first stops new actions and waiting (state is
// saved) and the second cancels the calls in flight. After the last stage a
// further signal has its default effect, so a stuck process can still be
// ended. The returned function stops the handling.
func (g *Globals) handleSignals(twoStage bool) (stop func()) {
	interrupted := make(chan struct{})
	hardCtx, hardCancel := context.WithCancel(context.Background())
	g.interrupted, g.hardStop = interrupted, hardCtx
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		close(interrupted)
		if !twoStage {
			signal.Stop(sigs)
			fmt.Fprintln(g.Stderr, "\nInterrupt received: stopping.")
			hardCancel()
			return
		}
		fmt.Fprintln(g.Stderr, "\nInterrupt received: no new actions will start, and running ones stop waiting for the cloud; state is saved. Interrupt again to cancel the calls in flight.")
		select {
		case <-sigs:
		case <-done:
			return
		}
		signal.Stop(sigs)
		fmt.Fprintln(g.Stderr, "\nSecond interrupt: cancelling the calls in flight; state is still saved.")
		hardCancel()
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
		hardCancel()
	}
}

// wasInterrupted reports whether a signal came.
func (g *Globals) wasInterrupted() bool {
	select {
	case <-g.interrupted:
		return true
	default:
		return false
	}
}

// resolveLimits takes --call-timeout, --wait-timeout and --capacity-wait, else their
// environment variables, else the defaults.
func (g *Globals) resolveLimits() (providers.Limits, error) {
	var l providers.Limits
	for _, d := range []struct {
		flag, env string
		val       time.Duration
		into      *time.Duration
	}{
		{"--call-timeout", "SKYPLAN_CALL_TIMEOUT", g.CallTimeout, &l.CallTimeout},
		{"--wait-timeout", "SKYPLAN_WAIT_TIMEOUT", g.WaitTimeout, &l.WaitTimeout},
		{"--capacity-wait", "SKYPLAN_CAPACITY_WAIT", g.CapacityWait, &l.CapacityWait},
	} {
		v := d.val
		if v == 0 {
			if raw := g.Getenv(d.env); raw != "" {
				parsed, err := time.ParseDuration(raw)
				if err != nil {
					return l, fmt.Errorf("%s=%q is not a duration (e.g. 30s, 2m)", d.env, raw)
				}
				if parsed <= 0 {
					return l, fmt.Errorf("%s=%q must be positive", d.env, raw)
				}
				v = parsed
			}
		} else if v < 0 {
			return l, fmt.Errorf("%s %s must be positive", d.flag, v)
		}
		*d.into = v
	}
	return l.WithDefaults(), nil
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

func main() {
	os.Exit(profiled(os.Stderr, func() int { return Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ()) }))
}

// Getenv looks a variable up in the CLI's environment.
func (g *Globals) Getenv(key string) string { return lookupEnv(g.Env, key) }

// Color reports whether output may use ANSI colors.
func (g *Globals) Color() bool {
	return !g.NoColor && g.Getenv("NO_COLOR") == "" && g.StdoutTTY
}

// Context returns the context commands run under: cancelled on the first
// interrupt, or for apply and destroy on the second. Use Interrupted to
// notice the first.
func (g *Globals) Context() context.Context {
	if g.hardStop == nil {
		return context.Background()
	}
	return g.hardStop
}

// Interrupted is closed on the first Ctrl-C.
func (g *Globals) Interrupted() <-chan struct{} { return g.interrupted }
