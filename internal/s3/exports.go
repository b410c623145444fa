package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	tm "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// StreamPartSize is the part size of a streamed upload. The length of a
// stream is unknown when it starts, so the transfer manager cannot grow the
// part to fit: 10,000 parts of 16 MiB bound an archive at 156 GiB, far
// above the largest account (QUOTA_MAX_BYTES).
const StreamPartSize = 16 << 20

// streamConcurrency is how many parts are in flight at once. Memory is
// bounded by (streamConcurrency+1) part buffers and the first part: the
// transfer manager reads each part into a pooled buffer before sending it.
const streamConcurrency = 2

// UploadStream writes body to key as one object through the transfer
// manager's streaming multipart upload, never holding more than a few parts
// in memory whatever the length. Nothing is visible under key until the
// upload completes; on any failure (a read error, a cancelled ctx) the
// transfer manager aborts the multipart upload, so no parts are left
// behind. Only a process killed outright leaves one: AbortUploads cleans it.
func (s *Store) UploadStream(ctx context.Context, key, contentType string, body io.Reader) (int64, error) {
	client := tm.New(s.client, func(o *tm.Options) {
		o.PartSizeBytes = StreamPartSize
		o.MultipartUploadThreshold = StreamPartSize
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

// AbortUploads aborts the multipart uploads under prefix begun before
// olderThan: what a killed streamed upload left. It returns how many.
func (s *Store) AbortUploads(ctx context.Context, prefix string, olderThan time.Time) (int, error) {
	aborted := 0
	in := &awss3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: &prefix}
	for {
		out, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return aborted, fmt.Errorf("list multipart uploads under %s: %w", prefix, err)
		}
		for _, u := range out.Uploads {
			if u.Initiated != nil && !u.Initiated.Before(olderThan) {
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
