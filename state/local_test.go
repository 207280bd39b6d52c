package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLocalSaveIsAtomicAndPrivate(t *testing.T) {
	dir := t.TempDir()
	b := NewLocal(filepath.Join(dir, "sub", "state.json"))
	ctx := context.Background()
	if st, err := b.Load(ctx); err != nil || st != nil {
		t.Fatalf("Load of a missing file = %v, %v; want nil, nil", st, err)
	}
	st := New("ws")
	st.Set(&Resource{Address: "cluster.a", Type: "cluster", Cloud: "aws", IDs: []string{"i-1", "i-2"},
		Attrs: map[string]any{"nodes": int64(2), "labels": map[string]string{"team": "ml"}, "job_clouds": []string{"aws"}, "use_spot": true}})
	st.Serial = 7
	if err := b.Save(ctx, st); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(b.Path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("state file mode %o, want 600", mode)
	}
	entries, _ := os.ReadDir(filepath.Dir(b.Path))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
	got, err := b.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, got); diff != "" {
		t.Fatalf("round trip (-saved +loaded):\n%s", diff)
	}
}

func TestUnmarshalRefusesBadState(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":     `{`,
		"newer format": `{"version": 99, "lineage": "x", "serial": 1, "resources": []}`,
		"no lineage":   `{"version": 1, "serial": 1, "resources": []}`,
	} {
		if _, err := Unmarshal([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A corrupt file is reported with its path, and Load does not replace it.
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	os.WriteFile(path, []byte("{"), 0o600)
	if _, err := NewLocal(path).Load(context.Background()); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("corrupt state: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "{" {
		t.Fatalf("corrupt state was changed")
	}
}

func TestLocalLockNamesHolderAndReleases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	first, second := NewLocal(path), NewLocal(path)
	ctx := context.Background()
	unlock, err := first.Lock(ctx, LockInfo{ID: "L1", Operation: "apply", Who: "alice@ci", Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = second.Lock(ctx, LockInfo{ID: "L2", Operation: "plan", Who: "bob"})
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.ID != "L1" {
		t.Fatalf("second Lock: %v; want LockedError naming L1", err)
	}
	for _, want := range []string{"apply by alice@ci", "lock ID L1", "skyplan force-unlock L1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("lock error %q lacks %q", err, want)
		}
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	unlock2, err := second.Lock(ctx, LockInfo{ID: "L2"})
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	unlock2()
}

func TestLocalForceUnlockClearsStaleHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	b := NewLocal(path)
	ctx := context.Background()
	if err := b.ForceUnlock(ctx, "x"); !errors.Is(err, ErrNoLock) {
		t.Fatalf("ForceUnlock with no lock: %v", err)
	}
	// A crashed run leaves its holder file but no OS lock.
	os.WriteFile(path+".lock.info", []byte(`{"id":"dead","operation":"apply","who":"gone"}`), 0o600)
	if err := b.ForceUnlock(ctx, "other"); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("ForceUnlock with the wrong ID: %v", err)
	}
	if err := b.ForceUnlock(ctx, "dead"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".lock.info"); !os.IsNotExist(err) {
		t.Fatalf("holder file still there: %v", err)
	}
}

func TestLocalForceUnlockRefusesLiveHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	holder, other := NewLocal(path), NewLocal(path)
	ctx := context.Background()
	unlock, err := holder.Lock(ctx, LockInfo{ID: "live", Operation: "apply", Who: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.ForceUnlock(ctx, "live"); err == nil || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("ForceUnlock of a live lock: %v; want refusal", err)
	}
	// The holder still holds it.
	if _, err := other.Lock(ctx, LockInfo{ID: "x"}); err == nil {
		t.Fatal("lock was taken from its live holder")
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".lock.info"); !os.IsNotExist(err) {
		t.Errorf("unlock left the holder file: %v", err)
	}
	if err := other.ForceUnlock(ctx, "live"); !errors.Is(err, ErrNoLock) {
		t.Errorf("ForceUnlock after unlock: %v, want ErrNoLock", err)
	}
}

func TestLocalLockedWithoutHolderDetails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	holder, other := NewLocal(path), NewLocal(path)
	ctx := context.Background()
	unlock, err := holder.Lock(ctx, LockInfo{ID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if info, err := os.Stat(path + ".lock.info"); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("holder file: %v, %v; want mode 0600", info, err)
	}
	os.Remove(path + ".lock.info")
	_, err = other.Lock(ctx, LockInfo{ID: "b"})
	var le *LockedError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "by another process") || !strings.Contains(err.Error(), path) {
		t.Fatalf("Lock without holder details: %v", err)
	}
}

func TestLocalSaveReplacesWithPrivateMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	// A state file someone created world-readable becomes 0600 on the next save.
	if err := os.WriteFile(path, []byte(`{"version": 1, "lineage": "old"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	b := NewLocal(path)
	st := New("ws")
	if err := b.Save(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode after Save = %v, %v; want 0600", info.Mode().Perm(), err)
	}
	got, err := b.Load(context.Background())
	if err != nil || got.Lineage != st.Lineage {
		t.Fatalf("Load after Save = %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after Save, want only the state file", len(entries))
	}
}
