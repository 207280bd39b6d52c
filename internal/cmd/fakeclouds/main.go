// Command fakeclouds runs skyplan's in-repo cloud fakes on 127.0.0.1 for the
// demo: Compute Engine and Cloud TPU (internal/gcpfake), GCS (fake-gcs-server)
// and a Kubernetes API with simulated GPU nodes (internal/k8sfake). It writes
// the environment that points skyplan at them to -env, then serves until
// interrupted.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/skyplan/skyplan/internal/gcpfake"
	"github.com/skyplan/skyplan/internal/k8sfake"
)

func main() {
	envFile := flag.String("env", "", "write KEY=VALUE lines for skyplan to this file (required)")
	nodes := flag.Int("nodes", 12, "simulated Kubernetes nodes")
	flag.Parse()
	if *envFile == "" {
		log.Fatal("fakeclouds: -env FILE is required")
	}
	env, closeAll, err := start(*nodes, filepath.Dir(*envFile))
	if err != nil {
		log.Fatalf("fakeclouds: %v", err)
	}
	defer closeAll()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, env[k])
	}
	// Written last and atomically: its presence means every fake is ready.
	tmp := *envFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(tmp, *envFile); err != nil {
		log.Fatal(err)
	}
	log.Printf("fakeclouds ready:\n%s", b.String())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}

func start(nodes int, dir string) (map[string]string, func(), error) {
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	gce, err := gcpfake.Start()
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, gce.Close)
	gcs, err := gcpfake.StartGCS()
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	closers = append(closers, gcs.Close)
	k8s, err := k8sfake.Start(k8sfake.SimulatedCluster(nodes)...)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	closers = append(closers, k8s.Close)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := k8s.WriteKubeconfig(kubeconfig, "fake"); err != nil {
		closeAll()
		return nil, nil, err
	}
	env := map[string]string{"KUBECONFIG": kubeconfig}
	for k, v := range gce.Env() {
		env[k] = v
	}
	for k, v := range gcs.Env() {
		env[k] = v
	}
	return env, closeAll, nil
}
