package cloudproxy

import (
	"testing"

	"github.com/skyplan/skyplan/internal/emulator"
)

// ForTest starts a proxy to target for one test and closes it afterwards.
func ForTest(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := Start(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// MotoForTest starts moto_server (see emulator.MotoForTest) behind a proxy
// and points the AWS environment (AWS_ENDPOINT_URL) at the proxy.
func MotoForTest(t testing.TB) (*emulator.Moto, *Proxy) {
	t.Helper()
	m := emulator.MotoForTest(t)
	p := ForTest(t, m.Endpoint)
	t.Setenv("AWS_ENDPOINT_URL", p.URL)
	return m, p
}
