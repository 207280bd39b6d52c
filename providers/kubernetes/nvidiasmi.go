package kubernetes

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/skyplan/skyplan/internal/catalog"
)

// NvidiaSMIArgs is the query `skyplan k8s detect-gpu` runs on a node.
var NvidiaSMIArgs = []string{"--query-gpu=name,memory.total", "--format=csv,noheader"}

// SMIGPU is one line of nvidia-smi's query output.
type SMIGPU struct {
	Name      string
	MemoryMiB int64
}

// ParseNvidiaSMI reads `nvidia-smi --query-gpu=name,memory.total
// --format=csv[,noheader][,nounits]` output: one line per GPU, a header line
// allowed, extra columns ignored. Other nvidia-smi outputs (-L, -q, the
// table) are refused with the command to run instead.
func ParseNvidiaSMI(r io.Reader) ([]SMIGPU, error) {
	var gpus []SMIGPU
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		lower := strings.ToLower(text)
		if strings.HasPrefix(lower, "name,") || strings.HasPrefix(lower, "name ,") {
			continue // header of --format=csv
		}
		if strings.Contains(lower, "no devices were found") {
			return nil, fmt.Errorf("nvidia-smi found no GPUs on this node")
		}
		if strings.HasPrefix(lower, "nvidia-smi has failed") {
			return nil, fmt.Errorf("nvidia-smi failed: %s", text)
		}
		fields := strings.Split(text, ",")
		if len(fields) < 2 {
			return nil, fmt.Errorf("line %d: %q is not nvidia-smi query output; expected \"NAME, MEMORY\" lines from `nvidia-smi %s`", line, truncate(text, 60), strings.Join(NvidiaSMIArgs, " "))
		}
		name := strings.TrimSpace(fields[0])
		mem, err := parseMiB(fields[1])
		if err != nil || name == "" {
			return nil, fmt.Errorf("line %d: %q is not nvidia-smi query output; expected \"NAME, MEMORY\" lines from `nvidia-smi %s`", line, truncate(text, 60), strings.Join(NvidiaSMIArgs, " "))
		}
		gpus = append(gpus, SMIGPU{Name: name, MemoryMiB: mem})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading nvidia-smi output: %w", err)
	}
	if len(gpus) == 0 {
		return nil, fmt.Errorf("nvidia-smi output lists no GPUs")
	}
	return gpus, nil
}

// parseMiB reads "81559 MiB", "81559" (nounits) or "[N/A]" (0: unknown).
func parseMiB(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "[N/A]" || s == "N/A" {
		return 0, nil
	}
	s = strings.TrimSpace(strings.TrimSuffix(s, "MiB"))
	return strconv.ParseInt(s, 10, 64)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// GPUDetection is the accelerator of one node, as detect-gpu prints it.
type GPUDetection struct {
	// Accelerator is the catalog name: H100, H200, A100, A100-80GB, ...
	Accelerator string `json:"accelerator"`
	// LabelValue is what the scheduler expects in skypilot.co/accelerator.
	LabelValue string `json:"label_value"`
	Count      int    `json:"count"`
	MemoryMiB  int64  `json:"memory_mib"`
	// GPUName is nvidia-smi's name of the first GPU.
	GPUName string `json:"gpu_name"`
}

// DetectGPUs names the node's accelerator from its GPUs. Unknown models and
// mixed models are errors: a node label can name only one model, and
// skyplan does not guess.
func DetectGPUs(gpus []SMIGPU) (*GPUDetection, error) {
	if len(gpus) == 0 {
		return nil, fmt.Errorf("no GPUs")
	}
	counts := map[string]int{}
	var order []string
	for _, g := range gpus {
		m := catalog.NormalizeGPUName(g.Name, g.MemoryMiB)
		if m == "" {
			return nil, fmt.Errorf("unknown GPU model %q (%d MiB): skyplan cannot name it; label the node yourself, e.g. kubectl label node NODE %s=<model>", g.Name, g.MemoryMiB, DefaultLabelKey)
		}
		if counts[m] == 0 {
			order = append(order, m)
		}
		counts[m]++
	}
	if len(order) > 1 {
		parts := make([]string, len(order))
		for i, m := range order {
			parts[i] = fmt.Sprintf("%s ×%d", m, counts[m])
		}
		return nil, fmt.Errorf("mixed GPU models on this node (%s): a node label can name only one", strings.Join(parts, ", "))
	}
	m := order[0]
	return &GPUDetection{Accelerator: m, LabelValue: catalog.GPULabelValue(m), Count: len(gpus), MemoryMiB: gpus[0].MemoryMiB, GPUName: gpus[0].Name}, nil
}
