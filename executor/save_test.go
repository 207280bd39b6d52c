package executor

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/skyplan/skyplan/state"
)

// gatedLocal is the local backend with the first save held until release
// closes, recording how many saves reached the file.
type gatedLocal struct {
	*state.Local
	release chan struct{}
	mu      sync.Mutex
	saves   int
}

func (g *gatedLocal) Save(ctx context.Context, s *state.State) error {
	g.mu.Lock()
	g.saves++
	first := g.saves == 1
	g.mu.Unlock()
	if first {
		<-g.release
	}
	return g.Local.Save(ctx, s)
}

// Saves requested while one is written share the next: ten actions saving
// at once cost two writes, and each returns only once its change is saved.
func TestConcurrentSavesAreGrouped(t *testing.T) {
	backend := &gatedLocal{Local: state.NewLocal(filepath.Join(t.TempDir(), "state.json")), release: make(chan struct{})}
	e := &Executor{Backend: backend, State: &state.State{Version: state.Version, Lineage: "l", Workspace: "w"}}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range 10 {
		wg.Go(func() {
			e.mu.Lock()
			e.State.Set(&state.Resource{Address: fmt.Sprintf("cluster.c%d", i), Type: "cluster", Cloud: "aws"})
			e.mu.Unlock()
			errs[i] = e.save(ctx)
		})
	}
	// Every action has asked; the first save is still being written.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		e.mu.Lock()
		asked := e.requested
		e.mu.Unlock()
		if asked == 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of 10 saves requested", asked)
		}
	}
	close(backend.release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("save %d: %v", i, err)
		}
	}
	if backend.saves != 2 {
		t.Errorf("10 concurrent saves wrote %d times, want 2 (the first, then one for the rest)", backend.saves)
	}
	saved, err := backend.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(saved.Resources) != 10 || saved.Serial != 2 {
		t.Errorf("saved state: %d resources, serial %d; want 10 and 2", len(saved.Resources), saved.Serial)
	}
}
