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

	"github.com/alecthomas/kong"
	"github.com/mattn/go-isatty"
	"github.com/zclconf/go-cty/cty"

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

	Stdin  io.Reader `kong:"-"`
	Stdout io.Writer `kong:"-"`
	Stderr io.Writer `kong:"-"`
	Env    []string  `kong:"-"`
	// StdinTTY/StdoutTTY say whether prompts and colors make sense.
	StdinTTY  bool `kong:"-"`
	StdoutTTY bool `kong:"-"`
	// interrupted is closed on the first SIGINT/SIGTERM; hardStop is
	// cancelled on the second.
	interrupted <-chan struct{}
	hardStop    context.Context
	// savedVars are a saved plan's variable values, for the spec it applies to.
	savedVars map[string]cty.Value
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
	"out", "parallelism", "target", "var", "var-file", "format"}

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

// Run executes the CLI and returns the process exit code.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer, env []string) int {
	cli := &CLI{}
	cli.Stdin, cli.Stdout, cli.Stderr, cli.Env = stdin, stdout, stderr, env
	cli.StdinTTY = isTerminal(stdin)
	cli.StdoutTTY = isTerminal(stdout)
	exit := -1
	parser, err := newParser(cli, stdout, stderr, func(code int) { exit = code })
	if err != nil {
		fmt.Fprintln(stderr, "skyplan:", err)
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
		fmt.Fprintln(stderr, "Error:", err)
		return ExitError
	}
	if cli.Chdir != "." {
		if st, err := os.Stat(cli.Chdir); err != nil || !st.IsDir() {
			fmt.Fprintf(stderr, "Error: --chdir %s: not a directory\n", cli.Chdir)
			return ExitError
		}
	}

	interrupted := make(chan struct{})
	hardCtx, hardCancel := context.WithCancel(context.Background())
	defer hardCancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		<-sigs
		fmt.Fprintln(stderr, "\nInterrupt received: no new actions will start; waiting for running ones to finish and saving state. Press Ctrl-C again to abort them.")
		close(interrupted)
		<-sigs
		hardCancel()
	}()
	cli.interrupted = interrupted
	cli.hardStop = hardCtx

	err = kctx.Run(&cli.Globals)
	var ee *exitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintln(stderr, "Error:", ee.msg)
		}
		return ee.code
	default:
		fmt.Fprintln(stderr, "Error:", err)
		return ExitError
	}
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

func main() {
	os.Exit(Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ()))
}

// Getenv looks a variable up in the CLI's environment.
func (g *Globals) Getenv(key string) string { return lookupEnv(g.Env, key) }

// Color reports whether output may use ANSI colors.
func (g *Globals) Color() bool {
	return !g.NoColor && g.Getenv("NO_COLOR") == "" && g.StdoutTTY
}

// Context returns the context commands run under: cancelled on the second
// interrupt. Use Interrupted to notice the first.
func (g *Globals) Context() context.Context {
	if g.hardStop == nil {
		return context.Background()
	}
	return g.hardStop
}

// Interrupted is closed on the first Ctrl-C.
func (g *Globals) Interrupted() <-chan struct{} { return g.interrupted }
