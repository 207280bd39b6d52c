package emulator

import (
	"errors"
	"testing"

	"github.com/skyplan/skyplan/internal/testenv"
)

// MotoForTest starts moto_server for one test and sets the AWS environment;
// a missing moto_server skips locally and fails under CI=true.
func MotoForTest(t testing.TB) *Moto {
	t.Helper()
	m, err := StartMoto()
	var ni ErrNotInstalled
	if errors.As(err, &ni) {
		testenv.Missing(t, "moto_server", err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	for k, v := range m.Env() {
		t.Setenv(k, v)
	}
	return m
}
