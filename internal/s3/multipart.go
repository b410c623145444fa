package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// ErrNoUpload means a multipart upload is not open: it was completed or
// aborted (or never existed). S3 answers a repeated complete with success
// for a while, MinIO with NoSuchUpload; callers check the object itself.
var ErrNoUpload = errors.New("no such multipart upload")

// ErrBadParts means storage refused a complete because of its part list:
// a part missing or with another ETag, out of order, or too small.
var ErrBadParts = errors.New("storage refused the part list")

// Part is one uploaded part of a multipart upload.
type Part struct {
	Number int    `json:"part_number"`
	ETag   string `json:"etag"`
	Size   int64  `json:"size_bytes"`
	// SHA256 is the part's digest (base64), verified by storage when the
	// part was stored.
	SHA256 string `json:"sha256,omitempty"`
}

func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// CreateMultipart starts a multipart upload of contentType to key and
// returns its upload id. The upload is SHA-256 checksummed: storage refuses
// a part without its digest or whose body does not match it, and the object
// it completes carries the composite checksum of its parts ("<base64>-N"),
// the only digest of a multipart object that storage itself verified. The
// object it completes carries tags (none if empty).
func (s *Store) CreateMultipart(ctx context.Context, key, contentType string, tags map[string]string) (string, error) {
	in := &awss3.CreateMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, ContentType: &contentType, ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
	}
	if len(tags) > 0 {
		t := tagging(tags)
		in.Tagging = &t
	}
	out, err := s.client.CreateMultipartUpload(ctx, in)
	if err != nil {
		return "", fmt.Errorf("create multipart upload %s: %w", key, err)
	}
	return aws.ToString(out.UploadId), nil
}

// PresignPart signs an UploadPart of part n of exactly size bytes whose
// SHA-256 is sha256 (base64): both headers are signed, so storage refuses a
// body of another length (403) or another digest (400).
func (s *Store) PresignPart(ctx context.Context, key, uploadID string, n int, size int64, sha256 string, ttl time.Duration, now time.Time) (SignedRequest, error) {
	req, err := s.presign.PresignUploadPart(ctx, &awss3.UploadPartInput{
		Bucket: &s.bucket, Key: &key, UploadId: &uploadID, PartNumber: aws.Int32(int32(n)), ContentLength: &size,
		ChecksumSHA256: &sha256, ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
	}, awss3.WithPresignExpires(ttl))
	if err != nil {
		return SignedRequest{}, fmt.Errorf("presign part %d: %w", n, err)
	}
	return SignedRequest{
		Method: http.MethodPut, URL: req.URL, ExpiresAt: now.Add(ttl).UTC(),
		Headers: map[string]string{"Content-Length": strconv.FormatInt(size, 10), ChecksumHeader: sha256},
	}, nil
}

// ListParts returns every part storage holds for the upload, all pages.
func (s *Store) ListParts(ctx context.Context, key, uploadID string) ([]Part, error) {
	parts := []Part{}
	p := awss3.NewListPartsPaginator(s.client, &awss3.ListPartsInput{Bucket: &s.bucket, Key: &key, UploadId: &uploadID})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if apiCode(err) == "NoSuchUpload" {
			return nil, ErrNoUpload
		}
		if err != nil {
			return nil, fmt.Errorf("list parts of %s: %w", key, err)
		}
		for _, pt := range page.Parts {
			parts = append(parts, Part{
				Number: int(aws.ToInt32(pt.PartNumber)), ETag: strings.Trim(aws.ToString(pt.ETag), `"`), Size: aws.ToInt64(pt.Size),
				SHA256: aws.ToString(pt.ChecksumSHA256),
			})
		}
	}
	return parts, nil
}

// CompleteMultipart assembles the object from parts (ascending part
// numbers, each with its digest: storage checks each against the part it
// verified). ErrNoUpload: the upload is already completed or aborted;
// ErrBadParts: storage refused the list.
func (s *Store) CompleteMultipart(ctx context.Context, key, uploadID string, parts []Part) error {
	cps := make([]types.CompletedPart, 0, len(parts))
	for _, p := range parts {
		cps = append(cps, types.CompletedPart{
			PartNumber: aws.Int32(int32(p.Number)), ETag: aws.String(`"` + strings.Trim(p.ETag, `"`) + `"`), ChecksumSHA256: &p.SHA256,
		})
	}
	_, err := s.client.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, UploadId: &uploadID, MultipartUpload: &types.CompletedMultipartUpload{Parts: cps},
	})
	switch apiCode(err) {
	case "":
	case "NoSuchUpload":
		return ErrNoUpload
	case "InvalidPart", "InvalidPartOrder", "EntityTooSmall", "BadDigest", "InvalidArgument":
		return fmt.Errorf("%w: %v", ErrBadParts, err)
	}
	if err != nil {
		return fmt.Errorf("complete multipart upload %s: %w", key, err)
	}
	return nil
}

// AbortMultipart discards an upload and its parts; an upload already
// completed or aborted is not an error.
func (s *Store) AbortMultipart(ctx context.Context, key, uploadID string) error {
	_, err := s.client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: &uploadID})
	if err != nil && apiCode(err) != "NoSuchUpload" {
		return fmt.Errorf("abort multipart upload %s: %w", key, err)
	}
	return nil
}
