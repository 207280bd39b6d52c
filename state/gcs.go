package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/skyplan/skyplan/internal/deadline"
)

// GCS keeps state in one GCS object, using generation preconditions: the lock
// object is written with DoesNotExist, state with GenerationMatch on the
// generation last read. Honours STORAGE_EMULATOR_HOST like every GCS client.
// The holder renews its lock (see RemoteOptions), and force-unlock refuses a
// lock that is still renewed.
type GCS struct {
	Bucket, Prefix string
	client         *storage.Client
	opts           RemoteOptions
	mu             sync.Mutex
	generation     int64  // of the state object as last loaded or saved; 0: none
	lease          *lease // of the lock this backend holds, if any
}

var _ Backend = (*GCS)(nil)

// NewGCS builds the backend with Application Default Credentials.
func NewGCS(ctx context.Context, bucket, prefix string, opts RemoteOptions) (*GCS, error) {
	var auth []option.ClientOption
	if os.Getenv("STORAGE_EMULATOR_HOST") != "" {
		auth = append(auth, option.WithoutAuthentication()) // as the client does for its emulator
	}
	copts, err := deadline.GoogleOptions(ctx, opts.CallTimeout, auth...)
	if err != nil {
		return nil, fmt.Errorf("gcs backend: %w", err)
	}
	client, err := storage.NewClient(ctx, copts...)
	if err != nil {
		return nil, fmt.Errorf("gcs backend: %w", err)
	}
	client.SetRetry(storage.WithErrorFunc(deadline.RetryStorage))
	return &GCS{Bucket: bucket, Prefix: strings.TrimSuffix(prefix, "/"), client: client, opts: opts.withDefaults()}, nil
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
	gen, held := b.generation, b.lease
	b.mu.Unlock()
	if err := held.Lost(); err != nil {
		return err
	}
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

// Lock creates the lock object only if it does not exist, then renews it
// (GenerationMatch on the generation it last wrote) until unlocked.
func (b *GCS) Lock(ctx context.Context, info LockInfo) (func() error, error) {
	gen, err := b.writeLock(ctx, info, storage.Conditions{DoesNotExist: true})
	if isGCSStatus(err, http.StatusPreconditionFailed) {
		holder, _, _ := b.readLock(ctx)
		return nil, &LockedError{Holder: holder, Backend: b.Describe()}
	}
	if err != nil {
		return nil, b.wrap("locking", err)
	}
	l := startLease(b.opts.LockRenewEvery, b.Describe(), func(ctx context.Context, now time.Time) error {
		info.Renewed = now
		next, err := b.writeLock(ctx, info, storage.Conditions{GenerationMatch: gen})
		if isGCSStatus(err, http.StatusPreconditionFailed) || isGCSStatus(err, http.StatusNotFound) {
			return errLockGone
		}
		if err == nil {
			gen = next
		}
		return err
	})
	b.mu.Lock()
	b.lease = l
	b.mu.Unlock()
	return l.release(func() error { return b.deleteLock(context.WithoutCancel(ctx), info.ID, false) }), nil
}

// writeLock writes the lock object under a precondition and returns its generation.
func (b *GCS) writeLock(ctx context.Context, info LockInfo, cond storage.Conditions) (int64, error) {
	data, _ := json.Marshal(info)
	w := b.client.Bucket(b.Bucket).Object(b.lockObject()).If(cond).NewWriter(ctx)
	w.ContentType = "application/json"
	_, werr := w.Write(data)
	err := w.Close()
	if werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return 0, err
	}
	return w.Attrs().Generation, nil
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

// deleteLock removes the lock with this ID; forced, only once its holder
// stopped renewing it.
func (b *GCS) deleteLock(ctx context.Context, id string, forced bool) error {
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
	if forced {
		if err := refuseLiveHolder(holder, b.opts.LockTTL, b.Describe()); err != nil {
			return err
		}
	}
	// Delete exactly the lock we read, not one taken since.
	return b.client.Bucket(b.Bucket).Object(b.lockObject()).If(storage.Conditions{GenerationMatch: gen}).Delete(ctx)
}

// ForceUnlock deletes the lock object when its ID matches and its holder
// has not renewed it for LockTTL.
func (b *GCS) ForceUnlock(ctx context.Context, id string) error { return b.deleteLock(ctx, id, true) }

// wrap names the operation and the object; a write into a missing bucket
// says so and what to do.
func (b *GCS) wrap(op string, err error) error {
	var te *deadline.TimeoutError
	if errors.As(err, &te) {
		return fmt.Errorf("%s %s: %w", op, b.Describe(), te)
	}
	if errors.Is(err, storage.ErrBucketNotExist) || isGCSStatus(err, http.StatusNotFound) {
		return fmt.Errorf("%s %s: state bucket %q does not exist; create it first (outside this spec, e.g. from a bootstrap spec with local state)", op, b.Describe(), b.Bucket)
	}
	return fmt.Errorf("%s %s: %w", op, b.Describe(), err)
}

func isGCSStatus(err error, code int) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == code
}
