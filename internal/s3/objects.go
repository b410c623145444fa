package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// SignedRequest is a presigned URL and the headers the client must send
// with it, exactly as signed.
type SignedRequest struct {
	Method    string            `json:"method,omitempty"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// ChecksumHeader carries a body's SHA-256 (base64) on a PUT.
const ChecksumHeader = "x-amz-checksum-sha256"

// TaggingHeader carries an object's tags, URL-encoded, on a PUT.
const TaggingHeader = "x-amz-tagging"

// OwnerTags are the tags every recording's object carries from the moment
// it is stored: whose recording it is, what operators see of an object in
// the S3 console besides its key. They are known when the upload is
// created, so storage sets them with the body and nothing tags it later.
func OwnerTags(userID, recordingID string) map[string]string {
	return map[string]string{"user": userID, "recording": recordingID}
}

// tagging is the URL-encoded form S3 takes tags in; Encode sorts by key,
// so the same tags always sign the same.
func tagging(tags map[string]string) string {
	v := make(url.Values, len(tags))
	for k, t := range tags {
		v.Set(k, t)
	}
	return v.Encode()
}

// PresignPut signs a PUT of exactly size bytes of contentType to key, with
// tags (none if empty), and, when sha256 (base64) is given, of exactly that
// digest: every one of these headers is signed, so storage itself refuses
// any other body (a wrong digest is 400 XAmzContentChecksumMismatch) or
// other tags (403). The SDK is configured (awsclients.Load) to add no
// checksum of its own, so a plain HTTP client can send it.
func (s *Store) PresignPut(ctx context.Context, key, contentType string, size int64, sha256 string, tags map[string]string, ttl time.Duration, now time.Time) (SignedRequest, error) {
	in := &awss3.PutObjectInput{Bucket: &s.bucket, Key: &key, ContentType: &contentType, ContentLength: &size}
	headers := map[string]string{"Content-Type": contentType, "Content-Length": strconv.FormatInt(size, 10)}
	if sha256 != "" {
		in.ChecksumSHA256, in.ChecksumAlgorithm = &sha256, types.ChecksumAlgorithmSha256
		headers[ChecksumHeader] = sha256
	}
	if len(tags) > 0 {
		t := tagging(tags)
		in.Tagging = &t
		headers[TaggingHeader] = t
	}
	req, err := s.presign.PresignPutObject(ctx, in, awss3.WithPresignExpires(ttl))
	if err != nil {
		return SignedRequest{}, fmt.Errorf("presign upload: %w", err)
	}
	return SignedRequest{Method: http.MethodPut, URL: req.URL, ExpiresAt: now.Add(ttl).UTC(), Headers: headers}, nil
}

// PresignGet signs a GET of key whose response carries the given
// Content-Disposition and Content-Type.
func (s *Store) PresignGet(ctx context.Context, key, disposition, contentType string, ttl time.Duration, now time.Time) (SignedRequest, error) {
	req, err := s.presign.PresignGetObject(ctx, &awss3.GetObjectInput{
		Bucket: &s.bucket, Key: &key, ResponseContentDisposition: &disposition, ResponseContentType: &contentType,
	}, awss3.WithPresignExpires(ttl))
	if err != nil {
		return SignedRequest{}, fmt.Errorf("presign download: %w", err)
	}
	return SignedRequest{Method: http.MethodGet, URL: req.URL, ExpiresAt: now.Add(ttl).UTC()}, nil
}

// ErrNoObject is returned by Head for a key that does not exist.
var ErrNoObject = errors.New("no such object")

// ObjectInfo is what storage reports about an object.
type ObjectInfo struct {
	Size        int64
	ContentType string
	ETag        string
	// SHA256 is the stored checksum (base64), when the upload carried one.
	SHA256 string
	// LastModified is when storage finished writing the object.
	LastModified time.Time
}

// Head reads an object's real size, type, ETag and stored checksum.
func (s *Store) Head(ctx context.Context, key string) (ObjectInfo, error) {
	out, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		var nf *types.NotFound
		var api smithy.APIError
		if errors.As(err, &nf) || (errors.As(err, &api) && (api.ErrorCode() == "NotFound" || api.ErrorCode() == "NoSuchKey")) {
			return ObjectInfo{}, ErrNoObject
		}
		return ObjectInfo{}, fmt.Errorf("head %s: %w", key, err)
	}
	return ObjectInfo{
		Size: aws.ToInt64(out.ContentLength), ContentType: aws.ToString(out.ContentType),
		ETag: strings.Trim(aws.ToString(out.ETag), `"`), SHA256: aws.ToString(out.ChecksumSHA256),
		LastModified: aws.ToTime(out.LastModified),
	}, nil
}

// Delete removes one object; a missing object is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if _, err := s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// DeleteKeys removes objects in batches of up to 1000.
func (s *Store) DeleteKeys(ctx context.Context, keys []string) error {
	for len(keys) > 0 {
		n := min(1000, len(keys))
		objs := make([]types.ObjectIdentifier, 0, n)
		for _, k := range keys[:n] {
			objs = append(objs, types.ObjectIdentifier{Key: aws.String(k)})
		}
		keys = keys[n:]
		out, err := s.client.DeleteObjects(ctx, &awss3.DeleteObjectsInput{
			Bucket: &s.bucket, Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return fmt.Errorf("delete objects: %w", err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("delete objects: %d failed, first %s: %s", len(out.Errors), aws.ToString(e.Key), aws.ToString(e.Message))
		}
	}
	return nil
}

// DeletePrefix removes every object under prefix and returns how many.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) (int, error) {
	p := awss3.NewListObjectsV2Paginator(s.client, &awss3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, fmt.Errorf("list %s: %w", prefix, err)
		}
		keys := make([]string, 0, len(page.Contents))
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		if err := s.DeleteKeys(ctx, keys); err != nil {
			return n, err
		}
		n += len(keys)
	}
	return n, nil
}

// Tags reads an object's tags.
func (s *Store) Tags(ctx context.Context, key string) (map[string]string, error) {
	out, err := s.client.GetObjectTagging(ctx, &awss3.GetObjectTaggingInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return nil, fmt.Errorf("tags of %s: %w", key, err)
	}
	tags := make(map[string]string, len(out.TagSet))
	for _, t := range out.TagSet {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}
