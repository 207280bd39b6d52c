package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/skyplan/skyplan/internal/deadline"
)

// S3 keeps state in one S3 object and locks with S3 conditional writes: the
// lock object is created with If-None-Match: * (only one writer can), and
// state is saved with If-Match on the ETag last read, so a writer that lost
// its lock cannot overwrite a newer state. The holder renews its lock (see
// RemoteOptions), and force-unlock refuses a lock that is still renewed.
type S3 struct {
	Bucket, Key, Region string
	client              *s3.Client
	opts                RemoteOptions
	mu                  sync.Mutex
	etag                string // of the state object as last loaded or saved
	lease               *lease // of the lock this backend holds, if any
}

var _ Backend = (*S3)(nil)

// NewS3 builds the backend with the SDK's default configuration chain
// (profiles, env, AWS_ENDPOINT_URL).
func NewS3(ctx context.Context, bucket, key, region string, opts RemoteOptions) (*S3, error) {
	cfg, err := deadline.LoadAWSConfig(ctx, opts.CallTimeout, config.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("s3 backend: %w", err)
	}
	// Emulators serve every bucket under one host, so they need path style;
	// real S3 gets virtual-hosted style, which path style is deprecated for.
	pathStyle := cfg.BaseEndpoint != nil || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		// Emulators send no checksums; the SDK would log a DEBUG line per read.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	return &S3{Bucket: bucket, Key: key, Region: region, client: client, opts: opts.withDefaults()}, nil
}

func (b *S3) Describe() string { return fmt.Sprintf("s3://%s/%s", b.Bucket, b.Key) }

func (b *S3) lockKey() string { return b.Key + ".lock" }

// Load reads the state object; a missing object is no state yet.
func (b *S3) Load(ctx context.Context) (*State, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(b.Key)})
	if isStatus(err, http.StatusNotFound) {
		b.setETag("")
		return nil, nil
	}
	if err != nil {
		return nil, b.wrap("reading", err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", b.Describe(), err)
	}
	b.setETag(aws.ToString(out.ETag))
	s, err := Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Describe(), err)
	}
	return s, nil
}

func (b *S3) setETag(e string) {
	b.mu.Lock()
	b.etag = e
	b.mu.Unlock()
}

// Save writes the state only if nobody else wrote it since we read it.
func (b *S3) Save(ctx context.Context, s *State) error {
	data, err := Marshal(s)
	if err != nil {
		return err
	}
	b.mu.Lock()
	etag, held := b.etag, b.lease
	b.mu.Unlock()
	if err := held.Lost(); err != nil {
		return err
	}
	in := &s3.PutObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(b.Key), Body: bytes.NewReader(data), ContentType: aws.String("application/json")}
	if etag == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(etag)
	}
	out, err := b.client.PutObject(ctx, in)
	if isStatus(err, http.StatusPreconditionFailed) {
		return fmt.Errorf("%s was changed by another run since it was read; refusing to overwrite it (check the lock and re-run)", b.Describe())
	}
	if err != nil {
		return b.wrap("writing", err)
	}
	b.setETag(aws.ToString(out.ETag))
	return nil
}

// Lock creates the lock object only if it does not exist, then renews it
// (If-Match on the ETag it last wrote) until unlocked.
func (b *S3) Lock(ctx context.Context, info LockInfo) (func() error, error) {
	data, _ := json.Marshal(info)
	out, err := b.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(b.lockKey()),
		Body: bytes.NewReader(data), IfNoneMatch: aws.String("*")})
	if isStatus(err, http.StatusPreconditionFailed) || isStatus(err, http.StatusConflict) {
		holder, _ := b.readLock(ctx)
		return nil, &LockedError{Holder: holder, Backend: b.Describe()}
	}
	if err != nil {
		return nil, b.wrap("locking", err)
	}
	etag := aws.ToString(out.ETag)
	l := startLease(b.opts.LockRenewEvery, b.Describe(), func(ctx context.Context, now time.Time) error {
		info.Renewed = now
		data, _ := json.Marshal(info)
		out, err := b.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(b.lockKey()),
			Body: bytes.NewReader(data), IfMatch: aws.String(etag)})
		if isStatus(err, http.StatusPreconditionFailed) || isStatus(err, http.StatusNotFound) {
			return errLockGone
		}
		if err == nil {
			etag = aws.ToString(out.ETag)
		}
		return err
	})
	b.mu.Lock()
	b.lease = l
	b.mu.Unlock()
	return l.release(func() error { return b.deleteLock(context.WithoutCancel(ctx), info.ID, false) }), nil
}

func (b *S3) readLock(ctx context.Context) (LockInfo, error) {
	var info LockInfo
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(b.lockKey())})
	if err != nil {
		return info, err
	}
	defer out.Body.Close()
	err = json.NewDecoder(out.Body).Decode(&info)
	return info, err
}

// deleteLock removes the lock with this ID; forced, only once its holder
// stopped renewing it.
func (b *S3) deleteLock(ctx context.Context, id string, forced bool) error {
	holder, err := b.readLock(ctx)
	if isStatus(err, http.StatusNotFound) {
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
	_, err = b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(b.lockKey())})
	return err
}

// ForceUnlock deletes the lock object when its ID matches and its holder
// has not renewed it for LockTTL.
func (b *S3) ForceUnlock(ctx context.Context, id string) error { return b.deleteLock(ctx, id, true) }

// wrap names the operation and the object, and keeps S3's own error code
// and message without the request IDs that only AWS support needs.
func (b *S3) wrap(op string, err error) error {
	var te *deadline.TimeoutError
	if errors.As(err, &te) {
		return fmt.Errorf("%s %s: %w", op, b.Describe(), te)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("%s %s: %w", op, b.Describe(), err)
	}
	if ae.ErrorCode() == "NoSuchBucket" {
		return fmt.Errorf("%s %s: state bucket %q does not exist in %s; create it first (outside this spec, e.g. from a bootstrap spec with local state)", op, b.Describe(), b.Bucket, b.Region)
	}
	return fmt.Errorf("%s %s: %s: %s", op, b.Describe(), ae.ErrorCode(), ae.ErrorMessage())
}

func isStatus(err error, code int) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucket" {
		return false // a missing bucket is an error, never "no state yet"
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == code {
		return true
	}
	if code == http.StatusNotFound && errors.As(err, &ae) {
		return ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound"
	}
	return false
}
