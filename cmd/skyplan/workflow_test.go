package main

import (
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// workflow is the part of a GitHub Actions workflow the example is checked on.
type workflow struct {
	On struct {
		PullRequest *struct {
			Paths []string `yaml:"paths"`
		} `yaml:"pull_request"`
		Push *struct {
			Branches []string `yaml:"branches"`
		} `yaml:"push"`
	} `yaml:"on"`
	Env         map[string]string `yaml:"env"`
	Permissions map[string]string `yaml:"permissions"`
	Concurrency struct {
		Group            string `yaml:"group"`
		CancelInProgress string `yaml:"cancel-in-progress"`
	} `yaml:"concurrency"`
	Jobs map[string]struct {
		If          string            `yaml:"if"`
		Needs       string            `yaml:"needs"`
		Environment string            `yaml:"environment"`
		Permissions map[string]string `yaml:"permissions"`
		Steps       []struct {
			Name string         `yaml:"name"`
			ID   string         `yaml:"id"`
			If   string         `yaml:"if"`
			Uses string         `yaml:"uses"`
			Run  string         `yaml:"run"`
			With map[string]any `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func TestGitHubActionsExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "github-actions", "skyplan.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatalf("skyplan.yml is not a valid workflow: %v", err)
	}
	if wf.On.PullRequest == nil || wf.On.Push == nil || !slices.Contains(wf.On.Push.Branches, "main") {
		t.Fatalf("triggers: want pull_request and push to main, got %+v", wf.On)
	}
	if len(wf.Permissions) != 0 {
		t.Errorf("workflow-level permissions %v; grant them per job", wf.Permissions)
	}
	if !strings.Contains(wf.Concurrency.Group, "github.event_name == 'push'") || !strings.Contains(wf.Concurrency.CancelInProgress, "pull_request") {
		t.Errorf("concurrency must queue main's runs and cancel a pull request's older run: %+v", wf.Concurrency)
	}

	type step struct{ name, uses, run string }
	jobSteps := func(job string) []step {
		j, ok := wf.Jobs[job]
		if !ok {
			t.Fatalf("no job %q (jobs: %v)", job, slices.Sorted(maps.Keys(wf.Jobs)))
		}
		var out []step
		for _, s := range j.Steps {
			out = append(out, step{s.Name, s.Uses, s.Run})
		}
		return out
	}
	// want lists what each job must do, in order: a run containing the
	// text, or a used action.
	want := map[string][]string{
		"pull-request": {"uses:actions/checkout", "skyplan -C \"$SKYPLAN_DIR\" fmt --check", "skyplan -C \"$SKYPLAN_DIR\" validate",
			"lint --format sarif", "uses:github/codeql-action/upload-sarif", "plan --format markdown --detailed-exitcode",
			"uses:actions/github-script", "exit 1"},
		"plan-main": {"uses:actions/checkout", "plan -out plan.bin", "uses:actions/upload-artifact"},
		"apply":     {"uses:actions/checkout", "uses:actions/download-artifact", "apply plan.bin"},
	}
	for job, items := range want {
		steps := jobSteps(job)
		i := 0
		for _, s := range steps {
			if i == len(items) {
				break
			}
			w := items[i]
			if a, ok := strings.CutPrefix(w, "uses:"); ok && strings.HasPrefix(s.uses, a+"@") || !ok && strings.Contains(s.run, w) {
				i++
			}
		}
		if i < len(items) {
			t.Errorf("job %s: no step (in order) for %q", job, items[i])
		}
	}
	pr, apply := wf.Jobs["pull-request"], wf.Jobs["apply"]
	for perm, level := range map[string]string{"contents": "read", "pull-requests": "write", "security-events": "write", "id-token": "write"} {
		if pr.Permissions[perm] != level {
			t.Errorf("pull-request job: permission %s = %q, want %q", perm, pr.Permissions[perm], level)
		}
	}
	if apply.Needs != "plan-main" || apply.Permissions["id-token"] != "write" || apply.Permissions["pull-requests"] != "" {
		t.Errorf("apply job: needs %q, permissions %v", apply.Needs, apply.Permissions)
	}
	if !strings.Contains(pr.If, "pull_request") || !strings.Contains(apply.If, "push") {
		t.Errorf("jobs run on the wrong events: pull-request if %q, apply if %q", pr.If, apply.If)
	}
	// The comment step updates the comment that starts with skyplan's marker.
	for _, s := range pr.Steps {
		if strings.HasPrefix(s.Uses, "actions/github-script@") {
			script, _ := s.With["script"].(string)
			for _, w := range []string{"startsWith(marker)", "updateComment", "createComment", "split('\\n', 1)[0]"} {
				if !strings.Contains(script, w) {
					t.Errorf("comment script lacks %q", w)
				}
			}
		}
	}

	// Every skyplan command in the workflow parses with skyplan's own flags.
	n := 0
	for job, j := range wf.Jobs {
		for _, s := range j.Steps {
			for _, line := range strings.Split(s.Run, "\n") {
				args, ok := skyplanArgs(line, wf.Env)
				if !ok {
					continue
				}
				n++
				cli := &CLI{}
				parser, err := newParser(cli, io.Discard, io.Discard, func(int) {})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := parser.Parse(normalizeArgs(args)); err != nil {
					t.Errorf("job %s, step %q: skyplan %s: %v", job, s.Name, strings.Join(args, " "), err)
				}
			}
		}
	}
	if n < 6 {
		t.Errorf("found %d skyplan commands in the workflow, want at least 6", n)
	}
}

var redirect = regexp.MustCompile(`^(\d?>|>>|\||&&|;)`)

// skyplanArgs returns the arguments of a `skyplan ...` shell line, with
// "$VAR" expanded from the workflow's env and redirections dropped.
func skyplanArgs(line string, env map[string]string) ([]string, bool) {
	fields := strings.Fields(strings.TrimSpace(line))
	if len(fields) == 0 || fields[0] != "skyplan" {
		return nil, false
	}
	var args []string
	for _, f := range fields[1:] {
		if redirect.MatchString(f) {
			break
		}
		f = strings.Trim(f, `"`)
		f = os.Expand(f, func(k string) string { return env[k] })
		args = append(args, f)
	}
	return args, true
}
