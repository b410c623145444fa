package recorder

import (
	"context"
	"errors"
	"time"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

// A recording declared at or above MULTIPART_THRESHOLD_BYTES is uploaded in
// parts straight to storage: the create answers the part size and count,
// SignParts signs part URLs (each of its exact length), ListParts says what
// storage holds (so a client that lost its state resumes), and Complete
// assembles the object, which is then confirmed through the same Keeper as a
// single PUT. The upload id and part size live on the record; the client
// never names them.

// MultipartUpload is the create's answer for a multipart recording.
type MultipartUpload struct {
	Method    string    `json:"method"`
	PartSize  int64     `json:"part_size"`
	PartCount int       `json:"part_count"`
	ExpiresAt time.Time `json:"expires_at"`
}

func multipartOf(rec recording.Recording) *MultipartUpload {
	return &MultipartUpload{Method: "MULTIPART", PartSize: rec.PartSize, PartCount: rec.PartCount(), ExpiresAt: rec.ExpiresAt.UTC()}
}

// MaxPartsPerRequest bounds one SignParts.
const MaxPartsPerRequest = 100

var (
	errNotMultipart = recording.Errorf(recording.CodeConflict, "this recording is not a multipart upload")
	errNotPending   = recording.Errorf(recording.CodeConflict, "this recording is no longer pending")
	errUploadClosed = recording.Errorf(recording.CodeConflict, "this multipart upload is no longer open (its window is over, or it was aborted)")
)

// ownMultipart loads the caller's visible multipart recording.
func (s *Service) ownMultipart(ctx context.Context, userID, id string) (recording.Recording, error) {
	rec, err := s.ownRecording(ctx, userID, id)
	if err != nil {
		return rec, err
	}
	if !rec.Multipart() {
		return rec, errNotMultipart
	}
	return rec, nil
}

// PartsRequest asks for part URLs.
type PartsRequest struct {
	Parts []PartDigest `json:"parts"`
	// PartNumbers is the form from before parts carried digests; it is
	// named only to refuse it with a sentence that says what changed.
	PartNumbers []int `json:"part_numbers"`
}

// PartDigest names a part and the SHA-256 (base64) of its body: the URL
// signs it, so storage refuses any other body.
type PartDigest struct {
	PartNumber int    `json:"part_number"`
	SHA256     string `json:"sha256"`
}

// Validate bounds the request and wants every part's digest.
func (r *PartsRequest) Validate() error {
	if r.PartNumbers != nil {
		return recording.Errorf(recording.CodeValidation, "part_numbers is no longer accepted: send parts, each with its part_number and the sha256 (base64) of its body")
	}
	if len(r.Parts) < 1 || len(r.Parts) > MaxPartsPerRequest {
		return recording.Errorf(recording.CodeValidation, "parts must list 1 to %d parts", MaxPartsPerRequest)
	}
	for _, p := range r.Parts {
		if !recording.ValidSHA256(p.SHA256) {
			return recording.Errorf(recording.CodeValidation, "part %d: sha256 must be the base64 of the 32-byte SHA-256 of the part's body", p.PartNumber)
		}
	}
	return nil
}

// PartURL is one signed UploadPart.
type PartURL struct {
	PartNumber int               `json:"part_number"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers"`
	ExpiresAt  time.Time         `json:"expires_at"`
}

// PartURLs is SignParts' answer.
type PartURLs struct {
	Parts []PartURL `json:"parts"`
}

// SignParts answers presigned UploadPart requests, each signing the exact
// Content-Length of its part. Like a single PUT's URL, none outlives the
// record's window; a client re-signs whenever one expires.
func (s *Service) SignParts(ctx context.Context, userID, id string, req PartsRequest) (PartURLs, error) {
	rec, err := s.ownMultipart(ctx, userID, id)
	if err != nil {
		return PartURLs{}, err
	}
	if err := req.Validate(); err != nil {
		return PartURLs{}, err
	}
	if rec.Status != recording.StatusPending {
		return PartURLs{}, errNotPending
	}
	count := rec.PartCount()
	seen := map[int]bool{}
	for _, p := range req.Parts {
		n := p.PartNumber
		if n < 1 || n > count {
			return PartURLs{}, recording.Errorf(recording.CodeValidation, "part numbers of this upload are 1 to %d", count)
		}
		if seen[n] {
			return PartURLs{}, recording.Errorf(recording.CodeValidation, "part %d is listed twice", n)
		}
		seen[n] = true
	}
	now := s.now().UTC()
	ttl := s.cfg.UploadURLTTL
	if rec.ExpiresAt != nil {
		ttl = min(ttl, rec.ExpiresAt.Sub(now).Truncate(time.Second))
	}
	if ttl < minUploadURLTTL {
		return PartURLs{}, errUploadClosed
	}
	out := PartURLs{Parts: make([]PartURL, 0, len(req.Parts))}
	for _, p := range req.Parts {
		sr, err := s.objects.PresignPart(ctx, rec.Key, rec.UploadID, p.PartNumber, rec.PartLength(p.PartNumber), p.SHA256, ttl, now)
		if err != nil {
			return PartURLs{}, err
		}
		out.Parts = append(out.Parts, PartURL{PartNumber: p.PartNumber, URL: sr.URL, Headers: sr.Headers, ExpiresAt: sr.ExpiresAt})
	}
	return out, nil
}

// StoredParts is ListParts' answer.
type StoredParts struct {
	Parts []s3.Part `json:"parts"`
}

// ListParts answers the parts storage already holds, every page of them.
func (s *Service) ListParts(ctx context.Context, userID, id string) (StoredParts, error) {
	rec, err := s.ownMultipart(ctx, userID, id)
	if err != nil {
		return StoredParts{}, err
	}
	if rec.Status != recording.StatusPending {
		return StoredParts{}, errNotPending
	}
	parts, err := s.objects.ListParts(ctx, rec.Key, rec.UploadID)
	if errors.Is(err, s3.ErrNoUpload) {
		return StoredParts{}, errUploadClosed
	}
	if err != nil {
		return StoredParts{}, err
	}
	return StoredParts{Parts: parts}, nil
}
