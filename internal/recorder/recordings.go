package recorder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

// CreateRequest declares an upload.
type CreateRequest struct {
	FileName    string     `json:"file_name"`
	ContentType string     `json:"content_type"`
	SizeBytes   *int64     `json:"size_bytes"`
	DurationMS  *int64     `json:"duration_ms"`
	RecordedAt  *time.Time `json:"recorded_at"`
	SHA256      *string    `json:"sha256"`
	// Language is what to transcribe the recording in: en-US, ko-KR or
	// auto (the default: the engine identifies it).
	Language string `json:"language"`

	// IdempotencyKeys are the Idempotency-Key values the request carried
	// (none or one is valid): a retry with the same key and the same
	// declaration gets the same recording back.
	IdempotencyKeys []string `json:"-"`

	canonical string
	ext       string
}

// Timestamps outside this range are refused: they could not be listed back
// as RFC 3339 (years past 9999) or are clearly a broken clock.
var minRecordedAt = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// maxRecordedAhead tolerates phones whose clocks run ahead.
const maxRecordedAhead = 48 * time.Hour

// Validate checks the declaration against the largest upload and the clock,
// and normalizes the name and type.
func (r *CreateRequest) Validate(maxSize int64, now time.Time) error {
	// The stored (and fingerprinted) name is the normalized one, so the NFC
	// and NFD spellings of a name are one name.
	name, err := recording.NormalizeFileName(r.FileName)
	if err != nil {
		return err
	}
	r.FileName = name
	if r.ContentType == "" {
		return recording.Errorf(recording.CodeValidation, "content_type is required")
	}
	ct, ext, err := recording.NormalizeContentType(r.ContentType)
	if err != nil {
		return err
	}
	r.canonical, r.ext = ct, ext
	switch {
	case r.SizeBytes == nil:
		return recording.Errorf(recording.CodeValidation, "size_bytes is required")
	case *r.SizeBytes < 1:
		return recording.Errorf(recording.CodeValidation, "size_bytes must be at least 1")
	case *r.SizeBytes > maxSize:
		return recording.Errorf(recording.CodeTooLarge, "size_bytes is above the maximum of %d bytes", maxSize)
	case r.DurationMS != nil && (*r.DurationMS < 0 || *r.DurationMS > recording.MaxDurationMS):
		return recording.Errorf(recording.CodeValidation, "duration_ms must be between 0 and %d", int64(recording.MaxDurationMS))
	case r.RecordedAt != nil && (r.RecordedAt.Before(minRecordedAt) || r.RecordedAt.After(now.Add(maxRecordedAhead))):
		return recording.Errorf(recording.CodeValidation, "recorded_at must be between %s and two days from now",
			minRecordedAt.Format(time.RFC3339))
	case r.SHA256 != nil && !recording.ValidSHA256(*r.SHA256):
		return recording.Errorf(recording.CodeValidation, "sha256 must be the base64 of a 32-byte SHA-256 digest")
	}
	lang, ok := recording.NormalizeLanguage(r.Language)
	if !ok {
		return recording.Errorf(recording.CodeValidation, "language must be %s, %s or %s",
			recording.LanguageEnglish, recording.LanguageKorean, recording.LanguageAuto)
	}
	r.Language = lang
	return nil
}

func (r *CreateRequest) sha256() string {
	if r.SHA256 == nil {
		return ""
	}
	return *r.SHA256
}

// fingerprint identifies the request's meaning, so a reused Idempotency-Key
// with a different request is caught.
func (r *CreateRequest) fingerprint() string {
	parts := []any{r.FileName, r.canonical, *r.SizeBytes, r.DurationMS, r.RecordedAt, r.sha256()}
	if r.Language != recording.LanguageAuto {
		// Only then, so a key's fingerprint from before languages holds.
		parts = append(parts, r.Language)
	}
	b, _ := json.Marshal(parts)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// idempotencyKey is the request's one key, or "" without one.
func (r *CreateRequest) idempotencyKey() (string, error) {
	if len(r.IdempotencyKeys) > 1 || (len(r.IdempotencyKeys) == 1 && !ValidIdempotencyKey(r.IdempotencyKeys[0])) {
		return "", recording.Errorf(recording.CodeValidation, "Idempotency-Key must be one value of 1 to 255 printable ASCII characters")
	}
	if len(r.IdempotencyKeys) == 1 {
		return r.IdempotencyKeys[0], nil
	}
	return "", nil
}

// ValidIdempotencyKey is 1 to 255 visible ASCII characters.
func ValidIdempotencyKey(k string) bool {
	if len(k) < 1 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// Created is a create's answer.
type Created struct {
	Recording recording.Recording `json:"recording"`
	// Upload is absent when a replayed create finds its recording no
	// longer pending, or its upload window over: no URL is issued then.
	// It is an *s3.SignedRequest for a single PUT, a *MultipartUpload
	// otherwise.
	Upload any `json:"upload,omitempty"`
	// Replayed: an earlier create with the same Idempotency-Key made it.
	Replayed bool `json:"-"`
}

// minUploadURLTTL is the shortest upload URL worth issuing near the end of
// a pending window.
const minUploadURLTTL = time.Second

// Create declares an upload: a pending record, held against the quota, and
// a presigned PUT (or, at MULTIPART_THRESHOLD_BYTES and above, a multipart
// upload whose parts are signed later). A retry with the same
// Idempotency-Key answers the same recording.
func (s *Service) Create(ctx context.Context, userID string, req CreateRequest) (Created, error) {
	if err := req.Validate(s.cfg.MaxUploadBytes, s.now()); err != nil {
		return Created{}, err
	}
	idemKey, err := req.idempotencyKey()
	if err != nil {
		return Created{}, err
	}
	now := s.now().UTC()
	id := recording.NewID(now)
	multipart := *req.SizeBytes >= s.cfg.MultipartThresholdBytes
	window := s.cfg.PendingUploadTTL
	if multipart {
		window = s.cfg.MultipartUploadTTL
	}
	expires := now.Add(window)
	rec := recording.Recording{
		UserID: userID, ID: id, FileName: req.FileName, ContentType: req.canonical, SizeBytes: *req.SizeBytes,
		DurationMS: req.DurationMS, RecordedAt: req.RecordedAt, Status: recording.StatusPending,
		CreatedAt: now, ExpiresAt: &expires, Key: recording.ObjectKey(userID, id, req.ext),
		SHA256: req.sha256(), DueAt: expires.Add(s.cfg.UploadGrace), Language: req.Language,
	}
	if multipart {
		// The upload is started before the record that names it, so the
		// record never points at nothing; if the record is not written (a
		// replay, the quota), the upload is aborted at once, and the
		// bucket's lifecycle rule is the backstop.
		rec.PartSize = recording.PartSizeFor(rec.SizeBytes, s.cfg.MultipartPartSize, config.MaxParts)
		// Storage verifies each part's digest, never a whole file's: a
		// declared sha256 could only be published unchecked, so it is not
		// kept (it still counts in the idempotency fingerprint). The
		// recording carries the composite of the verified parts instead.
		rec.SHA256 = ""
		// Storage is called before any DynamoDB request could check the
		// session: check it first (no-op when already checked).
		if err := s.store.CheckSession(ctx); err != nil {
			return Created{}, err
		}
		if rec.UploadID, err = s.objects.CreateMultipart(ctx, rec.Key, rec.ContentType, s3.OwnerTags(rec.UserID, rec.ID)); err != nil {
			return Created{}, err
		}
	}
	started := rec.UploadID
	rec, replayed, err := s.store.CreateUpload(ctx, rec, idemKey, req.fingerprint(), s.limits, now)
	if started != "" && (err != nil || rec.UploadID != started) {
		if aerr := s.objects.AbortMultipart(context.WithoutCancel(ctx), recording.ObjectKey(userID, id, req.ext), started); aerr != nil {
			s.log.WarnContext(ctx, "abort unused multipart upload", "recording_id", id, "error", aerr)
		}
	}
	if err != nil {
		return Created{}, err
	}
	out := Created{Recording: rec, Replayed: replayed}
	// No URL may outlive the record's window: the reconciler closes the
	// record once the window and the grace after it are over.
	ttl := s.cfg.UploadURLTTL
	if rec.ExpiresAt != nil {
		ttl = min(ttl, rec.ExpiresAt.Sub(now).Truncate(time.Second))
	}
	if rec.Status != recording.StatusPending || ttl < minUploadURLTTL {
		return out, nil
	}
	if rec.Multipart() {
		out.Upload = multipartOf(rec)
		return out, nil
	}
	upload, err := s.objects.PresignPut(ctx, rec.Key, rec.ContentType, rec.SizeBytes, rec.SHA256, s3.OwnerTags(rec.UserID, rec.ID), ttl, now)
	if err != nil {
		return Created{}, err
	}
	out.Upload = &upload
	return out, nil
}

// StatusAll lists pending, available and rejected recordings together. The
// trash is not in it: it has its own listing (status=deleted), as a phone's
// "recently deleted" is apart from the recordings.
const StatusAll = "all"

// ListRequest asks for one page of a listing.
type ListRequest struct {
	Limit  int
	Status string // a recording.Status or StatusAll
	Cursor string
	// Downloads asks for presigned GET URLs on the page's available
	// items, so an app can play a list without one request per row.
	Downloads bool
	// Query, when set, searches the listing's recordings by name and
	// transcript instead (see Search).
	Query string
}

// RecordingWithDownload is a recording with, when available and asked
// for, a signed download of its audio.
type RecordingWithDownload struct {
	recording.Recording
	Download *s3.SignedRequest `json:"download,omitempty"`
}

// Page is one page of a listing.
type Page struct {
	Items      []RecordingWithDownload `json:"items"`
	NextCursor string                  `json:"next_cursor,omitempty"`
	// Signed: an item carries a download URL (the answer must not be cached).
	Signed bool `json:"-"`
}

// List answers one page of the user's recordings of a status.
func (s *Service) List(ctx context.Context, userID string, q ListRequest) (Page, error) {
	after := ""
	if q.Cursor != "" {
		var err error
		if after, err = decodeCursor(q.Cursor, userID, q.Status); err != nil {
			return Page{}, err
		}
	}
	now := s.now()
	var items []recording.Recording
	var next string
	var err error
	if q.Status == StatusAll {
		items, next, err = s.store.ListAllRecordings(ctx, userID, q.Limit, after, now)
	} else {
		items, next, err = s.store.ListRecordings(ctx, userID, recording.Status(q.Status), q.Limit, after, now)
	}
	if err != nil {
		return Page{}, err
	}
	page := Page{Items: make([]RecordingWithDownload, len(items))}
	for i, rec := range items {
		page.Items[i].Recording = rec
		if q.Downloads && rec.Status == recording.StatusAvailable {
			if page.Items[i].Download, err = s.download(ctx, rec, now); err != nil {
				return Page{}, err
			}
			page.Signed = true
		}
	}
	if next != "" {
		page.NextCursor = encodeCursor(cursor{User: userID, Status: q.Status, After: next})
	}
	return page, nil
}

// download signs a GET of an available recording's audio, served as an
// attachment under its name. Signing is local: no request leaves the process.
func (s *Service) download(ctx context.Context, rec recording.Recording, now time.Time) (*s3.SignedRequest, error) {
	dl, err := s.objects.PresignGet(ctx, rec.Key, recording.ContentDisposition(rec.FileName),
		rec.ContentType, s.cfg.DownloadURLTTL, now)
	if err != nil {
		return nil, err
	}
	dl.Method = ""
	return &dl, nil
}

// Get answers any recording the owner can see; its status says the rest.
// Only an available recording carries a download URL: a pending one has no
// object yet, a rejected one's was deleted, and one in the trash must be
// restored before it is played.
func (s *Service) Get(ctx context.Context, userID, id string) (RecordingWithDownload, error) {
	rec, err := s.ownRecording(ctx, userID, id)
	if err != nil {
		return RecordingWithDownload{}, err
	}
	out := RecordingWithDownload{Recording: rec}
	if rec.Status == recording.StatusAvailable {
		if out.Download, err = s.download(ctx, rec, s.now()); err != nil {
			return RecordingWithDownload{}, err
		}
	}
	return out, nil
}

// RenameRequest gives a recording a new name.
type RenameRequest struct {
	FileName *string `json:"file_name"`
}

// Validate requires a name and normalizes it.
func (r *RenameRequest) Validate() error {
	if r.FileName == nil {
		return recording.Errorf(recording.CodeValidation, "file_name is required")
	}
	name, err := recording.NormalizeFileName(*r.FileName)
	if err != nil {
		return err
	}
	*r.FileName = name
	return nil
}

// Rename renames one of the user's recordings.
func (s *Service) Rename(ctx context.Context, userID, id string, req RenameRequest) (recording.Recording, error) {
	if !recording.ValidID(id) {
		return recording.Recording{}, recording.ErrNotFound
	}
	if err := req.Validate(); err != nil {
		return recording.Recording{}, err
	}
	rec, err := s.store.Rename(ctx, userID, id, *req.FileName)
	if err != nil {
		return recording.Recording{}, err
	}
	s.reindexName(ctx, rec)
	return rec, nil
}

// Delete moves an available recording to the trash, or with purge deletes
// it for good: out of view and quota at once, the object and record
// following (see lifecycle.Keeper.DeleteRecording), now or, after a
// failure, through the reconciler. The answer says which.
func (s *Service) Delete(ctx context.Context, userID, id string, purge bool) (recording.Deletion, error) {
	if !recording.ValidID(id) {
		return recording.Deletion{}, recording.ErrNotFound
	}
	return s.keeper.DeleteRecording(ctx, userID, id, purge)
}

// Restore brings a recording back from the trash as it was.
func (s *Service) Restore(ctx context.Context, userID, id string) (recording.Recording, error) {
	if !recording.ValidID(id) {
		return recording.Recording{}, recording.ErrNotFound
	}
	return s.keeper.RestoreRecording(ctx, userID, id)
}
