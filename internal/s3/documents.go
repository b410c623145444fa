package s3

import (
	"context"
	"errors"
	"fmt"
	"io"

	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// ErrTooLarge is ReadDocument's answer for an object above its bound.
var ErrTooLarge = errors.New("object larger than its bound")

// ReadDocument reads a whole small object the backend itself wrote or had
// written (a transcription engine's output), refusing one above max bytes
// rather than trusting its length.
func (s *Store) ReadDocument(ctx context.Context, key string, max int64) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, ErrNoObject
		}
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: %w (%d bytes)", key, ErrTooLarge, max)
	}
	return b, nil
}
