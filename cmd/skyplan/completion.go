package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/posener/complete"
	"github.com/willabides/kongplete"

	"github.com/skyplan/skyplan/spec"
)

// CompletionCmd is `skyplan completion SHELL`.
type CompletionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"bash, zsh or fish."`
}

// Run prints the shell's completion script. Each script runs skyplan itself
// with COMP_LINE set to complete a word (kongplete answers), so commands,
// flags, enum values and --target addresses are always those of this build.
func (c *CompletionCmd) Run(g *Globals) error {
	bin, err := os.Executable()
	if err != nil {
		bin = "skyplan"
	}
	bin = shellQuote(bin)
	var script string
	switch c.Shell {
	case "bash":
		script = fmt.Sprintf("# skyplan completion for bash: add to ~/.bashrc\n#   source <(skyplan completion bash)\ncomplete -o default -C %s skyplan\n", bin)
	case "zsh":
		script = fmt.Sprintf("# skyplan completion for zsh: add to ~/.zshrc\n#   source <(skyplan completion zsh)\nautoload -U +X bashcompinit && bashcompinit\ncomplete -o default -C %s skyplan\n", bin)
	case "fish":
		script = fmt.Sprintf(`# skyplan completion for fish: save as ~/.config/fish/completions/skyplan.fish
#   skyplan completion fish > ~/.config/fish/completions/skyplan.fish
function __complete_skyplan
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    %s
end
complete -f -c skyplan -a "(__complete_skyplan)"
`, bin)
	}
	_, err = fmt.Fprint(g.Stdout, script)
	return err
}

func shellQuote(s string) string {
	if strings.ContainsAny(s, " '\"\\$`") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}

// completeIfAsked answers a shell's completion request (COMP_LINE set by
// the scripts above) and reports whether it did.
func completeIfAsked(parser *kong.Kong, env []string) bool {
	if lookupEnv(env, "COMP_LINE") == "" {
		return false
	}
	done := false
	kongplete.Complete(parser,
		kongplete.WithPredictor("address", complete.PredictFunc(predictAddresses)),
		kongplete.WithExitFunc(func(int) { done = true }))
	return done
}

// predictAddresses offers the resource addresses of the spec directory on
// the line (-C/--chdir DIR, else the current one). A spec that does not
// load offers nothing; completion never prints errors.
func predictAddresses(complete.Args) []string {
	// The whole line: a subcommand's Args no longer hold the global flags.
	words := strings.Fields(os.Getenv("COMP_LINE"))
	dir := "."
	for i, w := range words {
		switch {
		case (w == "-C" || w == "--chdir" || w == "-chdir") && i+1 < len(words):
			dir = words[i+1]
		case strings.HasPrefix(w, "--chdir="), strings.HasPrefix(w, "-chdir="):
			_, dir, _ = strings.Cut(w, "=")
		}
	}
	cfg, diags := spec.Load(spec.Options{Dir: dir, Env: os.Environ()})
	if diags.HasErrors() {
		return nil
	}
	out := make([]string, 0, len(cfg.Resources))
	for _, r := range cfg.Resources {
		out = append(out, r.Address())
	}
	return out
}

func lookupEnv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}
