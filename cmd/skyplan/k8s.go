package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	k8s "github.com/skyplan/skyplan/providers/kubernetes"
	"k8s.io/apimachinery/pkg/labels"
)

// K8sCmd groups the Kubernetes GPU helpers.
type K8sCmd struct {
	DetectGPU K8sDetectGPUCmd `cmd:"" name:"detect-gpu" help:"Print this node's GPU model as the scheduler expects it (runs nvidia-smi; for nodes whose model labels and instance type do not tell)."`
	LabelGPUs K8sLabelGPUsCmd `cmd:"" name:"label-gpus" help:"Label GPU nodes with their accelerator model (skypilot.co/accelerator), inferred from existing labels and instance types; no pods are run."`
}

// K8sDetectGPUCmd is `skyplan k8s detect-gpu`.
type K8sDetectGPUCmd struct {
	File   string `name:"file" short:"f" placeholder:"FILE" help:"Read the output of 'nvidia-smi --query-gpu=name,memory.total --format=csv,noheader' from FILE ('-': stdin) instead of running nvidia-smi."`
	Format string `name:"format" enum:"text,label,json" default:"text" help:"Output: text (catalog name, e.g. H100 or A100-80GB), label (label value, e.g. h100) or json (name, label value, count, memory)."`
}

// Run detects the node's GPU model.
func (c *K8sDetectGPUCmd) Run(g *Globals) error {
	out, err := c.smiOutput(g)
	if err != nil {
		return err
	}
	gpus, err := k8s.ParseNvidiaSMI(bytes.NewReader(out))
	if err != nil {
		return err
	}
	det, err := k8s.DetectGPUs(gpus)
	if err != nil {
		return err
	}
	switch c.Format {
	case "json":
		enc := json.NewEncoder(g.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(det)
	case "label":
		fmt.Fprintln(g.Stdout, det.LabelValue)
	default:
		fmt.Fprintln(g.Stdout, det.Accelerator)
	}
	return nil
}

// smiOutput reads the given file or runs nvidia-smi from the CLI's PATH.
func (c *K8sDetectGPUCmd) smiOutput(g *Globals) ([]byte, error) {
	switch c.File {
	case "-":
		return io.ReadAll(g.Stdin)
	case "":
	default:
		b, err := os.ReadFile(c.File)
		if err != nil {
			return nil, fmt.Errorf("reading nvidia-smi output: %w", err)
		}
		return b, nil
	}
	query := "nvidia-smi " + strings.Join(k8s.NvidiaSMIArgs, " ")
	bin := lookPath("nvidia-smi", g.Getenv("PATH"))
	if bin == "" {
		return nil, fmt.Errorf("nvidia-smi not found in PATH: run detect-gpu on a GPU node with the NVIDIA driver installed, or pass --file with the output of `%s`", query)
	}
	ctx, cancel := context.WithTimeout(g.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, k8s.NvidiaSMIArgs...)
	cmd.Env = g.Env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String() + "\n" + string(out))
		return nil, fmt.Errorf("`%s` failed: %v: %s", query, err, msg)
	}
	return out, nil
}

// lookPath finds an executable in a PATH-style list (the CLI's own
// environment, which tests set, rather than the process's).
func lookPath(name, path string) string {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// K8sLabelGPUsCmd is `skyplan k8s label-gpus`.
type K8sLabelGPUsCmd struct {
	Context     string            `name:"context" placeholder:"NAME" help:"kubeconfig context (default: the current context)."`
	Kubeconfig  string            `name:"kubeconfig" placeholder:"FILE" help:"kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then the in-cluster service account)."`
	LabelKey    string            `name:"label-key" default:"skypilot.co/accelerator" help:"Label to set; its value is the lowercase model (a100, a100-80gb, h100, a10g, ...)."`
	Selector    string            `name:"selector" short:"l" placeholder:"SELECTOR" help:"Only nodes matching this label selector (e.g. eks.amazonaws.com/nodegroup=gpu)."`
	Override    map[string]string `name:"override" placeholder:"TYPE_OR_NODE=MODEL" help:"Model for nodes skyplan cannot recognise, by instance type or node name (repeatable)."`
	DryRun      bool              `name:"dry-run" help:"Show the labels that would be set; change nothing."`
	Yes         bool              `name:"yes" short:"y" help:"Apply without asking (required when stdin is not a terminal)."`
	Overwrite   bool              `name:"overwrite" help:"Replace a label someone else set to a different value (--remove restores it)."`
	Remove      bool              `name:"remove" help:"Remove the labels label-gpus set earlier (recorded in the skyplan.dev/owned-labels annotation), restoring any it replaced. Other labels are never touched."`
	Parallelism int               `name:"parallelism" default:"32" help:"Nodes patched at once."`
	QPS         float32           `name:"qps" default:"500" help:"Client-side limit on API requests per second."`
}

// Run plans, shows, confirms and applies the labels.
func (c *K8sLabelGPUsCmd) Run(g *Globals) error {
	if c.Parallelism < 1 {
		return fmt.Errorf("--parallelism must be at least 1")
	}
	// The selector goes to the API server: other nodes are not even listed.
	if _, err := labels.Parse(c.Selector); err != nil {
		return fmt.Errorf("--selector %q: %w", c.Selector, err)
	}
	pol := k8s.LabelPolicy{Owner: k8s.CLIOwner(), LabelKey: c.LabelKey, Overrides: c.Override, Overwrite: c.Overwrite,
		KeepUnwanted: !c.Remove, OnlyLabelKey: true}
	if err := pol.Validate(); err != nil {
		return fmt.Errorf("%s", strings.Replace(strings.Replace(err.Error(), "label_key", "--label-key", 1), "overrides", "--override", 1))
	}
	opts := k8s.ClientOptions{Kubeconfig: c.Kubeconfig, KubeconfigEnv: g.Getenv("KUBECONFIG"), Context: c.Context, QPS: c.QPS, Burst: int(2 * c.QPS), CallTimeout: g.limits.CallTimeout}
	cs, host, err := opts.Clientset()
	if err != nil {
		return err
	}
	ctx := g.Context()
	nodes, err := k8s.ListNodes(ctx, cs, c.Selector)
	if err != nil {
		return err
	}
	lp, err := k8s.PlanLabels(nodes, pol)
	if err != nil {
		return err
	}
	desired := lp.Desired
	if c.Remove {
		desired = nil
	}
	changes := c.show(g, host, lp)
	if changes == 0 {
		fmt.Fprintln(g.Stdout, "Nothing to do.")
		return nil
	}
	if c.DryRun {
		fmt.Fprintln(g.Stdout, "Dry run: no node was changed.")
		return nil
	}
	if !c.Yes {
		if !g.StdinTTY {
			return fmt.Errorf("refusing to change %d node(s) without confirmation: stdin is not a terminal; re-run with --yes (or --dry-run to only look)", changes)
		}
		fmt.Fprintf(g.Stdout, "\nChange %d node(s)? Only 'yes' will be accepted: ", changes)
		answer, _ := bufio.NewReader(g.Stdin).ReadString('\n')
		if strings.TrimSpace(answer) != "yes" {
			return fmt.Errorf("cancelled; no node was changed")
		}
	}

	start := time.Now()
	labeler := &k8s.Labeler{Client: cs, Parallelism: c.Parallelism, Progress: func(msg string) { fmt.Fprintln(g.Stderr, msg) }}
	res, err := labeler.Apply(ctx, nodes, pol, desired)
	for _, name := range res.Skipped {
		fmt.Fprintf(g.Stderr, "Warning: node %s left the cluster; not labelled\n", name)
	}
	took := time.Since(start).Round(10 * time.Millisecond)
	verb := "Labelled"
	if c.Remove {
		verb = "Removed labels from"
	}
	fmt.Fprintf(g.Stdout, "%s %d node(s) in %s.\n", verb, res.Patched, took)
	if err != nil {
		var lines []string
		for _, e := range unjoin(err) {
			lines = append(lines, "  "+e.Error())
		}
		return fmt.Errorf("%d node(s) not changed:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	return nil
}

// show prints what would change and returns the number of nodes to patch.
func (c *K8sLabelGPUsCmd) show(g *Globals, host string, lp *k8s.LabelPlan) int {
	ctxName := c.Context
	if ctxName == "" {
		ctxName = "current context"
	}
	fmt.Fprintf(g.Stdout, "Cluster %s (%s): %d node(s), %d with GPUs.\n", host, ctxName, lp.Total, lp.GPUNodes)
	if c.Remove {
		return c.showRemove(g, lp)
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(g.Stdout, "\nLabels (%s):\n", lp.LabelKey)
	changes := 0
	var undetermined []k8s.NodeLabel
	for _, nl := range lp.Nodes {
		switch nl.State {
		case k8s.StateAdd:
			changes++
			fmt.Fprintf(tw, "  +\t%s\t%s\tfrom %s\n", nl.Node, nl.Detection.Value, nl.Detection.Source)
		case k8s.StateChange, k8s.StateOverwrite:
			changes++
			fmt.Fprintf(tw, "  ~\t%s\t%s → %s\tfrom %s\n", nl.Node, nl.Current, nl.Detection.Value, nl.Detection.Source)
		case k8s.StateConflict:
			fmt.Fprintf(tw, "  !\t%s\t%s (kept)\tconflict: set by someone else; detected %s from %s; --overwrite replaces it\n", nl.Node, nl.Current, nl.Detection.Value, nl.Detection.Source)
		case k8s.StateOtherOwner:
			fmt.Fprintf(tw, "  !\t%s\t%s (kept)\tmanaged by %s\n", nl.Node, nl.Current, nl.Holder)
		case k8s.StateUndetermined:
			undetermined = append(undetermined, nl)
		}
	}
	_ = tw.Flush()
	if len(undetermined) > 0 {
		fmt.Fprintf(g.Stdout, "\nUndetermined (not labelled; pass --override TYPE_OR_NODE=MODEL, or run `skyplan k8s detect-gpu` on the node):\n")
		for _, nl := range undetermined {
			it := nl.InstanceType
			if it == "" {
				it = "no instance-type label"
			}
			fmt.Fprintf(tw, "  ?\t%s\t%d GPU(s), %s\n", nl.Node, nl.GPUs, it)
		}
		_ = tw.Flush()
	}
	fmt.Fprintf(g.Stdout, "\n%d to add, %d to change; %d already labelled, %d conflict(s), %d undetermined.\n",
		lp.Count(k8s.StateAdd), lp.Count(k8s.StateChange)+lp.Count(k8s.StateOverwrite),
		lp.Count(k8s.StateUnchanged)+lp.Count(k8s.StateForeignSame),
		lp.Count(k8s.StateConflict)+lp.Count(k8s.StateOtherOwner), len(undetermined))
	return changes
}

func (c *K8sLabelGPUsCmd) showRemove(g *Globals, lp *k8s.LabelPlan) int {
	fmt.Fprintf(g.Stdout, "\nLabels set by label-gpus to remove (%s):\n", lp.LabelKey)
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	n := 0
	for _, r := range lp.Owned {
		n++
		restore := "removed"
		if r.Replaced != nil {
			restore = "restored to " + *r.Replaced
		}
		fmt.Fprintf(tw, "  -\t%s\t%s\t%s\n", r.Node, r.Value, restore)
	}
	_ = tw.Flush()
	fmt.Fprintf(g.Stdout, "\n%d to remove.\n", n)
	return n
}

// unjoin splits an errors.Join error into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
