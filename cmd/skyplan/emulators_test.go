package main

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/skyplan/skyplan/internal/gcpfake"
	"github.com/skyplan/skyplan/internal/k8sfake"
)

var (
	extraGCE     *gcpfake.Server
	extraOnce    sync.Once
	extraEnv     map[string]string
	extraErr     error
	extraClosers []func()
)

// startExtraEmulators starts, once per test binary, the in-process GCP and
// Kubernetes fakes every script shares, and returns the environment that
// points skyplan at them:
//   - SKYPLAN_GCP_COMPUTE_ENDPOINT / _TPU_ENDPOINT, STORAGE_EMULATOR_HOST: working GCP;
//   - GCP_DENIED_COMPUTE_ENDPOINT / GCP_DENIED_TPU_ENDPOINT: a GCE/TPU fake that
//     answers 403 to everything (storage-only credentials);
//   - KUBECONFIG with context "fake": k8sfake.SimulatedCluster nodes.
func startExtraEmulators(t *testing.T) map[string]string {
	extraOnce.Do(func() { extraEnv, extraErr = startExtra() })
	if extraErr != nil {
		t.Fatal(extraErr)
	}
	return extraEnv
}

func startExtra() (map[string]string, error) {
	env := map[string]string{
		// No Google credentials in reach: loopback endpoints go unauthenticated.
		"GOOGLE_APPLICATION_CREDENTIALS": "",
	}
	gce, err := gcpfake.Start()
	if err != nil {
		return nil, err
	}
	extraClosers = append(extraClosers, gce.Close)
	extraGCE = gce
	for k, v := range gce.Env() {
		env[k] = v
	}
	denied, err := gcpfake.Start()
	if err != nil {
		return nil, err
	}
	extraClosers = append(extraClosers, denied.Close)
	denied.Inject("", "/**", gcpfake.Forbidden())
	env["GCP_DENIED_COMPUTE_ENDPOINT"] = denied.ComputeEndpoint()
	env["GCP_DENIED_TPU_ENDPOINT"] = denied.TPUEndpoint()
	gcs, err := gcpfake.StartGCS()
	if err != nil {
		return nil, err
	}
	extraClosers = append(extraClosers, gcs.Close)
	for k, v := range gcs.Env() {
		env[k] = v
	}
	k8s, err := k8sfake.Start(k8sfake.SimulatedCluster(12)...)
	if err != nil {
		return nil, err
	}
	extraClosers = append(extraClosers, k8s.Close)
	dir, err := os.MkdirTemp("", "skyplan-kube")
	if err != nil {
		return nil, err
	}
	extraClosers = append(extraClosers, func() { os.RemoveAll(dir) })
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := k8s.WriteKubeconfig(kubeconfig, "fake"); err != nil {
		return nil, err
	}
	env["KUBECONFIG"] = kubeconfig
	return env, nil
}

func stopExtraEmulators() {
	for i := len(extraClosers) - 1; i >= 0; i-- {
		extraClosers[i]()
	}
}
