package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// launcherEnv, set in this program's environment, makes it a launcher
// instead of the benchmark: it runs its arguments as a command, with its
// own standard streams and the rest of its environment, and writes the
// command's wall time and peak RSS as JSON to the file the variable names.
//
// skyplan is started through it because Linux carries the resident-set
// high-water mark across exec: a child started by the benchmark process
// itself (Go starts children with vfork) reports at least the benchmark's
// own RSS, which reaches hundreds of MB after the large runs. The launcher
// is small, so what it reports is skyplan's.
const launcherEnv = "SKYPLAN_BENCH_LAUNCHER_OUT"

// launched is what the launcher reports.
type launched struct {
	Wall    time.Duration
	MaxRSSK int64 // kilobytes
	Exit    int
}

// launchIfAsked runs as the launcher when launcherEnv is set, and exits.
func launchIfAsked() {
	out, ok := os.LookupEnv(launcherEnv)
	if !ok {
		return
	}
	if err := launch(out, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench launcher:", err)
		os.Exit(125)
	}
	os.Exit(0)
}

func launch(out string, args []string) error {
	if len(args) == 0 {
		return errors.New("no command")
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, launcherEnv+"=") })
	start := time.Now()
	err := cmd.Run()
	l := launched{Wall: time.Since(start)}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return err
	}
	l.Exit = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		l.MaxRSSK = ru.Maxrss // kilobytes on Linux
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o600)
}

// runMeasured runs bin through the launcher (this program again) in dir
// with env, and returns what the launcher measured.
func runMeasured(ctx context.Context, dir string, env []string, stdout, stderr io.Writer, bin string, args ...string) (launched, error) {
	self, err := os.Executable()
	if err != nil {
		return launched{}, err
	}
	report, err := os.CreateTemp("", "skyplan-bench-launched-*.json")
	if err != nil {
		return launched{}, err
	}
	report.Close()
	defer os.Remove(report.Name())
	cmd := exec.CommandContext(ctx, self, append([]string{bin}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(slices.Clone(env), launcherEnv+"="+report.Name())
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return launched{}, err
	}
	var l launched
	b, err := os.ReadFile(report.Name())
	if err == nil {
		err = json.Unmarshal(b, &l)
	}
	if err != nil {
		return launched{}, fmt.Errorf("reading what the launcher measured: %w", err)
	}
	return l, nil
}
