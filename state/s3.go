package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// S3 keeps state in one S3 object and locks with S3 conditional writes: the
// lock object is created with If-None-Match: * (only one writer can), and
// state is saved with If-Match on the ETag last read, so a writer that lost
// its lock cannot overwrite a newer state.
type S3 struct {
	Bucket, Key, Region string
	client              *s3.Client
	mu                  sync.Mutex
	etag                string // of the state object as last loaded or saved
}

var _ Backend = (*S3)(nil)

// NewS3 builds the backend with the SDK's default configuration chain
// (profiles, env, AWS_ENDPOINT_URL).
func NewS3(ctx context.Context, bucket, key, region string) (*S3, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("s3 backend: %w", err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	return &S3{Bucket: bucket, Key: key, Region: region, client: client}, nil
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
		return nil, fmt.Errorf("reading %s: %w", b.Describe(), err)
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
	etag := b.etag
	b.mu.Unlock()
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
		return fmt.Errorf("writing %s: %w", b.Describe(), err)
	}
	b.setETag(aws.ToString(out.ETag))
	return nil
}

// Lock creates the lock object only if it does not exist.
func (b *S3) Lock(ctx context.Context, info LockInfo) (func() error, error) {
	data, _ := json.Marshal(info)
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(b.lockKey()),
		Body: bytes.NewReader(data), IfNoneMatch: aws.String("*")})
	if isStatus(err, http.StatusPreconditionFailed) || isStatus(err, http.StatusConflict) {
		holder, _ := b.readLock(ctx)
		return nil, &LockedError{Holder: holder, Backend: b.Describe()}
	}
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", b.Describe(), err)
	}
	return func() error { return b.deleteLock(context.WithoutCancel(ctx), info.ID) }, nil
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

func (b *S3) deleteLock(ctx context.Context, id string) error {
	holder, err := b.readLock(ctx)
	if isStatus(err, http.StatusNotFound) {
		return ErrNoLock
	}
	if err != nil {
		return fmt.Errorf("reading lock of %s: %w", b.Describe(), err)
	}
	if holder.ID != id {
		return fmt.Errorf("lock ID %q does not match the current lock %q", id, holder.ID)
	}
	_, err = b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(b.lockKey())})
	return err
}

// ForceUnlock deletes the lock object when its ID matches.
func (b *S3) ForceUnlock(ctx context.Context, id string) error { return b.deleteLock(ctx, id) }

func isStatus(err error, code int) bool {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == code {
		return true
	}
	var ae smithy.APIError
	if code == http.StatusNotFound && errors.As(err, &ae) {
		return ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound"
	}
	return false
}
