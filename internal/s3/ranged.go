package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// RangeReader reads one version of an object through ranged GETs, as an
// io.ReaderAt: only the bytes asked for cross the network, so a parser that
// reads a file's head and tail never downloads the middle.
type RangeReader struct {
	ctx  context.Context
	s    *Store
	key  string
	etag string
	read atomic.Int64
	// contentType is the stored type as the first read's answer carried
	// it, so a caller that made no HEAD still learns it.
	contentType atomic.Pointer[string]
}

// RangeReader reads key as long as its ETag is etag: if the object is
// replaced while it is read, reads fail rather than mix two versions.
func (s *Store) RangeReader(ctx context.Context, key, etag string) *RangeReader {
	return &RangeReader{ctx: ctx, s: s, key: key, etag: etag}
}

// ReadAt reads len(p) bytes at off; fewer only at the end of the object,
// with io.EOF.
func (r *RangeReader) ReadAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	in := &awss3.GetObjectInput{
		Bucket: &r.s.bucket, Key: &r.key,
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+int64(len(p))-1)),
	}
	if r.etag != "" {
		in.IfMatch = aws.String(`"` + r.etag + `"`)
	}
	out, err := r.s.client.GetObject(r.ctx, in)
	if err != nil {
		return 0, fmt.Errorf("read %s at %d: %w", r.key, off, err)
	}
	defer out.Body.Close()
	if out.ContentType != nil {
		r.contentType.CompareAndSwap(nil, out.ContentType)
	}
	n, err := io.ReadFull(out.Body, p)
	r.read.Add(int64(n))
	if errors.Is(err, io.ErrUnexpectedEOF) || (err == io.EOF && n < len(p)) {
		return n, io.EOF
	}
	if err != nil {
		return n, fmt.Errorf("read %s at %d: %w", r.key, off, err)
	}
	return n, nil
}

// BytesRead is how many bytes the reads fetched.
func (r *RangeReader) BytesRead() int64 { return r.read.Load() }

// ContentType is the object's stored type, as answered to the first read
// ("" before any read succeeded).
func (r *RangeReader) ContentType() string {
	if ct := r.contentType.Load(); ct != nil {
		return *ct
	}
	return ""
}
