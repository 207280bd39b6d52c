package crashtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/skyplan/skyplan/internal/emulator"
	"github.com/skyplan/skyplan/internal/testenv"
)

// One skyplan binary and one moto for the whole package; each test gets
// its own proxy, and each run its own workspace and bucket names.
var (
	setupOnce sync.Once
	bin       string
	moto      *emulator.Moto
	setupErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if moto != nil {
		moto.Stop()
	}
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// start builds skyplan and starts moto once, then a harness for t.
func start(t *testing.T) *Harness {
	t.Helper()
	setupOnce.Do(func() {
		if buildDir, setupErr = os.MkdirTemp("", "skyplan-crashtest-"); setupErr != nil {
			return
		}
		root, err := filepath.Abs("../..")
		if err != nil {
			setupErr = err
			return
		}
		if bin, setupErr = Build(root, buildDir); setupErr != nil {
			return
		}
		if moto, setupErr = emulator.StartMoto(); setupErr != nil {
			return
		}
		setupErr = moto.ConnectDefaultVPC(context.Background(), AWSRegion)
	})
	var ni emulator.ErrNotInstalled
	if errors.As(setupErr, &ni) {
		testenv.Missing(t, "moto_server", setupErr.Error())
	} else if setupErr != nil {
		t.Fatal(setupErr)
	}
	h, err := Start(bin, moto, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// name is a workspace (and bucket prefix) unique to this process.
func name(parts ...any) string {
	return fmt.Sprintf("crash-%s-%d", fmt.Sprint(parts...), os.Getpid()%100000)
}
