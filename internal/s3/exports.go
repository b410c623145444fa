package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	tm "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// MinStreamPartSize is the smallest part of a streamed upload. The length
// of a stream is unknown to the transfer manager, so it cannot grow the
// part to fit 10,000 parts: UploadStream does, from the caller's estimate.
const MinStreamPartSize = 8 << 20

// maxStreamParts leaves a tenth of S3's 10,000 parts for what the estimate
// missed.
const maxStreamParts = 9000

// streamPartSize is the part size for a stream of about sizeHint bytes.
func streamPartSize(sizeHint int64) int64 {
	return max(MinStreamPartSize, (sizeHint/maxStreamParts+1+(1<<20)-1)&^((1<<20)-1))
}

// streamConcurrency is how many parts are in flight at once. Memory is
// bounded by (streamConcurrency+1) part buffers and the first part: the
// transfer manager reads each part into a pooled buffer before sending it.
const streamConcurrency = 2

// UploadStream writes body (about sizeHint bytes) to key as one object
// through the transfer manager's streaming multipart upload, never holding
// more than a few parts in memory whatever the length. Nothing is visible under key until the
// upload completes; on any failure (a read error, a cancelled ctx) the
// transfer manager aborts the multipart upload, so no parts are left
// behind. Only a process killed outright leaves one: AbortUploads cleans it.
func (s *Store) UploadStream(ctx context.Context, key, contentType string, body io.Reader, sizeHint int64) (int64, error) {
	part := streamPartSize(sizeHint)
	client := tm.New(s.client, func(o *tm.Options) {
		o.PartSizeBytes = part
		o.MultipartUploadThreshold = part
		o.Concurrency = streamConcurrency
		// The abort runs on a fresh context: the one that failed may be
		// the cancelled one.
		o.FailTimeout = 30 * time.Second
	})
	counted := &countingReader{r: body}
	_, err := client.UploadObject(ctx, &tm.UploadObjectInput{
		Bucket: &s.bucket, Key: &key, Body: counted, ContentType: &contentType,
	})
	if err != nil {
		return 0, fmt.Errorf("stream upload %s: %w", key, err)
	}
	return counted.n, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Open returns an object's body to read from the start, and its size.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, 0, fmt.Errorf("open %s: %w", key, ErrNoObject)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open %s: %w", key, err)
	}
	return out.Body, aws.ToInt64(out.ContentLength), nil
}

// AbortUpload aborts every multipart upload open on key: what an earlier
// attempt at the same object left. The listing is scoped to the key, so a
// role may be allowed to list that prefix alone.
func (s *Store) AbortUpload(ctx context.Context, key string) error {
	out, err := s.client.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: &key})
	if err != nil {
		return fmt.Errorf("list multipart uploads of %s: %w", key, err)
	}
	for _, u := range out.Uploads {
		if aws.ToString(u.Key) != key {
			continue
		}
		_, err := s.client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: u.Key, UploadId: u.UploadId})
		var nsu *types.NoSuchUpload
		if err != nil && !errors.As(err, &nsu) {
			return fmt.Errorf("abort %s: %w", key, err)
		}
	}
	return nil
}

// AbortUploads aborts the multipart uploads under prefix begun before
// olderThan: what a killed streamed upload left. It returns how many. The
// listing is of the whole bucket, filtered here: MinIO lists an upload
// only for an empty prefix or its exact key.
func (s *Store) AbortUploads(ctx context.Context, prefix string, olderThan time.Time) (int, error) {
	aborted := 0
	in := &awss3.ListMultipartUploadsInput{Bucket: &s.bucket}
	for {
		out, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return aborted, fmt.Errorf("list multipart uploads under %s: %w", prefix, err)
		}
		for _, u := range out.Uploads {
			if !strings.HasPrefix(aws.ToString(u.Key), prefix) || (u.Initiated != nil && !u.Initiated.Before(olderThan)) {
				continue
			}
			_, err := s.client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: u.Key, UploadId: u.UploadId})
			var nsu *types.NoSuchUpload
			if err != nil && !errors.As(err, &nsu) {
				return aborted, fmt.Errorf("abort %s: %w", aws.ToString(u.Key), err)
			}
			aborted++
		}
		if !aws.ToBool(out.IsTruncated) {
			return aborted, nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}
