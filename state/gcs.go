package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
)

// GCS keeps state in one GCS object, using generation preconditions: the lock
// object is written with DoesNotExist, state with GenerationMatch on the
// generation last read. Honours STORAGE_EMULATOR_HOST like every GCS client.
type GCS struct {
	Bucket, Prefix string
	client         *storage.Client
	mu             sync.Mutex
	generation     int64 // of the state object as last loaded or saved; 0: none
}

var _ Backend = (*GCS)(nil)

// NewGCS builds the backend with Application Default Credentials.
func NewGCS(ctx context.Context, bucket, prefix string) (*GCS, error) {
	client, err := storage.NewClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("gcs backend: %w", err)
	}
	return &GCS{Bucket: bucket, Prefix: strings.TrimSuffix(prefix, "/"), client: client}, nil
}

func (b *GCS) stateObject() string { return b.Prefix + "/default.json" }
func (b *GCS) lockObject() string  { return b.Prefix + "/default.lock" }

func (b *GCS) Describe() string { return fmt.Sprintf("gs://%s/%s", b.Bucket, b.stateObject()) }

// Load reads the state object; a missing object is no state yet, but a
// missing bucket is an error (GCS reports both as a missing object, so the
// bucket is checked): a misspelt bucket must not plan as an empty state.
// Other errors of that check are ignored: object-only roles such as
// storage.objectAdmin may not read bucket metadata, and need not.
func (b *GCS) Load(ctx context.Context) (*State, error) {
	r, err := b.client.Bucket(b.Bucket).Object(b.stateObject()).NewReader(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		if _, err := b.client.Bucket(b.Bucket).Attrs(ctx); errors.Is(err, storage.ErrBucketNotExist) {
			return nil, b.wrap("reading", err)
		}
		b.setGeneration(0)
		return nil, nil
	}
	if err != nil {
		return nil, b.wrap("reading", err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", b.Describe(), err)
	}
	b.setGeneration(r.Attrs.Generation)
	s, err := Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Describe(), err)
	}
	return s, nil
}

func (b *GCS) setGeneration(g int64) {
	b.mu.Lock()
	b.generation = g
	b.mu.Unlock()
}

// Save writes only if the object is still at the generation we read.
func (b *GCS) Save(ctx context.Context, s *State) error {
	data, err := Marshal(s)
	if err != nil {
		return err
	}
	b.mu.Lock()
	gen := b.generation
	b.mu.Unlock()
	obj := b.client.Bucket(b.Bucket).Object(b.stateObject())
	if gen == 0 {
		obj = obj.If(storage.Conditions{DoesNotExist: true})
	} else {
		obj = obj.If(storage.Conditions{GenerationMatch: gen})
	}
	w := obj.NewWriter(ctx)
	w.ContentType = "application/json"
	if _, err := w.Write(data); err != nil {
		w.Close()
		return b.wrap("writing", err)
	}
	if err := w.Close(); err != nil {
		if isGCSStatus(err, http.StatusPreconditionFailed) {
			return fmt.Errorf("%s was changed by another run since it was read; refusing to overwrite it (check the lock and re-run)", b.Describe())
		}
		return b.wrap("writing", err)
	}
	b.setGeneration(w.Attrs().Generation)
	return nil
}

// Lock creates the lock object only if it does not exist.
func (b *GCS) Lock(ctx context.Context, info LockInfo) (func() error, error) {
	data, _ := json.Marshal(info)
	w := b.client.Bucket(b.Bucket).Object(b.lockObject()).If(storage.Conditions{DoesNotExist: true}).NewWriter(ctx)
	w.ContentType = "application/json"
	_, werr := w.Write(data)
	err := w.Close()
	if werr != nil && err == nil {
		err = werr
	}
	if isGCSStatus(err, http.StatusPreconditionFailed) {
		holder, _, _ := b.readLock(ctx)
		return nil, &LockedError{Holder: holder, Backend: b.Describe()}
	}
	if err != nil {
		return nil, b.wrap("locking", err)
	}
	return func() error { return b.deleteLock(context.WithoutCancel(ctx), info.ID) }, nil
}

func (b *GCS) readLock(ctx context.Context) (LockInfo, int64, error) {
	var info LockInfo
	r, err := b.client.Bucket(b.Bucket).Object(b.lockObject()).NewReader(ctx)
	if err != nil {
		return info, 0, err
	}
	defer r.Close()
	err = json.NewDecoder(r).Decode(&info)
	return info, r.Attrs.Generation, err
}

func (b *GCS) deleteLock(ctx context.Context, id string) error {
	holder, gen, err := b.readLock(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return ErrNoLock
	}
	if err != nil {
		return b.wrap("reading the lock of", err)
	}
	if holder.ID != id {
		return fmt.Errorf("lock ID %q does not match the current lock %q", id, holder.ID)
	}
	// Delete exactly the lock we read, not one taken since.
	return b.client.Bucket(b.Bucket).Object(b.lockObject()).If(storage.Conditions{GenerationMatch: gen}).Delete(ctx)
}

// ForceUnlock deletes the lock object when its ID matches.
func (b *GCS) ForceUnlock(ctx context.Context, id string) error { return b.deleteLock(ctx, id) }

// wrap names the operation and the object; a write into a missing bucket
// says so and what to do.
func (b *GCS) wrap(op string, err error) error {
	if errors.Is(err, storage.ErrBucketNotExist) || isGCSStatus(err, http.StatusNotFound) {
		return fmt.Errorf("%s %s: state bucket %q does not exist; create it first (outside this spec, e.g. from a bootstrap spec with local state)", op, b.Describe(), b.Bucket)
	}
	return fmt.Errorf("%s %s: %w", op, b.Describe(), err)
}

func isGCSStatus(err error, code int) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == code
}
