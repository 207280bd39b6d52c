package main

import (
	"context"
	"io"
	"os"
	"runtime"
	"testing"
)

// What the launcher reports is the child's peak RSS, not this process's:
// a child this process started itself would report at least the 256 MB
// held here.
func TestLauncherMeasuresTheChildAlone(t *testing.T) {
	ballast := make([]byte, 256<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	l, err := runMeasured(context.Background(), t.TempDir(), os.Environ(), io.Discard, io.Discard, "/bin/sh", "-c", "exit 3")
	if err != nil {
		t.Fatal(err)
	}
	if l.Exit != 3 || l.MaxRSSK <= 0 || l.MaxRSSK > 100<<10 {
		t.Errorf("launched: exit %d, peak RSS %d KiB; want exit 3 and far below the 256 MB this test holds", l.Exit, l.MaxRSSK)
	}
	runtime.KeepAlive(ballast)
}
