package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

type createRequest struct {
	FileName    string     `json:"file_name"`
	ContentType string     `json:"content_type"`
	SizeBytes   *int64     `json:"size_bytes"`
	DurationMS  *int64     `json:"duration_ms"`
	RecordedAt  *time.Time `json:"recorded_at"`
	SHA256      *string    `json:"sha256"`

	maxSize   int64
	now       time.Time
	canonical string
	ext       string
}

// Timestamps outside this range are refused: they could not be listed back
// as RFC 3339 (years past 9999) or are clearly a broken clock.
var minRecordedAt = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// maxRecordedAhead tolerates phones whose clocks run ahead.
const maxRecordedAhead = 48 * time.Hour

func (r *createRequest) validate() error {
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
	case *r.SizeBytes > r.maxSize:
		return recording.Errorf(recording.CodeTooLarge, "size_bytes is above the maximum of %d bytes", r.maxSize)
	case r.DurationMS != nil && (*r.DurationMS < 0 || *r.DurationMS > recording.MaxDurationMS):
		return recording.Errorf(recording.CodeValidation, "duration_ms must be between 0 and %d", int64(recording.MaxDurationMS))
	case r.RecordedAt != nil && (r.RecordedAt.Before(minRecordedAt) || r.RecordedAt.After(r.now.Add(maxRecordedAhead))):
		return recording.Errorf(recording.CodeValidation, "recorded_at must be between %s and two days from now",
			minRecordedAt.Format(time.RFC3339))
	case r.SHA256 != nil && !recording.ValidSHA256(*r.SHA256):
		return recording.Errorf(recording.CodeValidation, "sha256 must be the base64 of a 32-byte SHA-256 digest")
	}
	return nil
}

func (r *createRequest) sha256() string {
	if r.SHA256 == nil {
		return ""
	}
	return *r.SHA256
}

// fingerprint identifies the request's meaning, so a reused Idempotency-Key
// with a different request is caught.
func (r *createRequest) fingerprint() string {
	b, _ := json.Marshal([]any{r.FileName, r.canonical, *r.SizeBytes, r.DurationMS, r.RecordedAt, r.sha256()})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type createResponse struct {
	Recording recording.Recording `json:"recording"`
	// Upload is absent when a replayed create finds its recording no
	// longer pending, or its upload window over: no URL is issued then.
	// It is an *s3.SignedRequest for a single PUT, a *multipartUpload
	// otherwise.
	Upload any `json:"upload,omitempty"`
}

// minUploadURLTTL is the shortest upload URL worth issuing near the end of
// a pending window.
const minUploadURLTTL = time.Second

func validIdempotencyKey(k string) bool {
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

func (s *server) createRecording(c echo.Context) error {
	req := createRequest{maxSize: s.cfg.MaxUploadBytes, now: s.now()}
	if err := decode(c, &req); err != nil {
		return err
	}
	idem := c.Request().Header.Values("Idempotency-Key")
	if len(idem) > 1 || (len(idem) == 1 && !validIdempotencyKey(idem[0])) {
		return recording.Errorf(recording.CodeValidation, "Idempotency-Key must be one value of 1 to 255 printable ASCII characters")
	}
	idemKey := ""
	if len(idem) == 1 {
		idemKey = idem[0]
	}
	ctx := c.Request().Context()
	now := s.now().UTC()
	uid := userID(c)
	id := recording.NewID(now)
	multipart := *req.SizeBytes >= s.cfg.MultipartThresholdBytes
	window := s.cfg.PendingUploadTTL
	if multipart {
		window = s.cfg.MultipartUploadTTL
	}
	expires := now.Add(window)
	rec := recording.Recording{
		UserID: uid, ID: id, FileName: req.FileName, ContentType: req.canonical, SizeBytes: *req.SizeBytes,
		DurationMS: req.DurationMS, RecordedAt: req.RecordedAt, Status: recording.StatusPending,
		CreatedAt: now, ExpiresAt: &expires, Key: recording.ObjectKey(uid, id, req.ext),
		SHA256: req.sha256(), DueAt: expires.Add(s.cfg.UploadGrace),
	}
	var err error
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
			return err
		}
		if rec.UploadID, err = s.objects.CreateMultipart(ctx, rec.Key, rec.ContentType); err != nil {
			return err
		}
	}
	started := rec.UploadID
	rec, replayed, err := s.store.CreateUpload(ctx, rec, idemKey, req.fingerprint(), s.limits, now)
	if started != "" && (err != nil || rec.UploadID != started) {
		if aerr := s.objects.AbortMultipart(context.WithoutCancel(ctx), recording.ObjectKey(uid, id, req.ext), started); aerr != nil {
			s.log.WarnContext(ctx, "abort unused multipart upload", "recording_id", id, "error", aerr)
		}
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	if replayed {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	// No URL may outlive the record's window: the reconciler closes the
	// record once the window and the grace after it are over.
	ttl := s.cfg.UploadURLTTL
	if rec.ExpiresAt != nil {
		ttl = min(ttl, rec.ExpiresAt.Sub(now).Truncate(time.Second))
	}
	if rec.Status != recording.StatusPending || ttl < minUploadURLTTL {
		return writeJSON(c, http.StatusOK, createResponse{Recording: rec})
	}
	if rec.Multipart() {
		return writeJSON(c, http.StatusCreated, createResponse{Recording: rec, Upload: multipartOf(rec)})
	}
	upload, err := s.objects.PresignPut(ctx, rec.Key, rec.ContentType, rec.SizeBytes, rec.SHA256, ttl, now)
	if err != nil {
		return err
	}
	if !replayed {
		c.Set(ctxUploadMethod, upload.Method)
	}
	return writeJSON(c, http.StatusCreated, createResponse{Recording: rec, Upload: &upload})
}

type listResponse struct {
	Items      []recordingWithDownload `json:"items"`
	NextCursor string                  `json:"next_cursor,omitempty"`
}

const (
	defaultPageSize = 50
	maxPageSize     = 100
)

// statusAll lists pending, available and rejected recordings together. The
// trash is not in it: it has its own listing (status=deleted), as a phone's
// "recently deleted" is apart from the recordings.
const statusAll = "all"

// includeDownloadURL asks for presigned GET URLs on a page's available
// items, so an app can play a list without one request per row.
const includeDownloadURL = "download_url"

// singleQuery returns a query parameter that may appear at most once.
func singleQuery(q url.Values, name string) (string, error) {
	v := q[name]
	if len(v) > 1 {
		return "", recording.Errorf(recording.CodeInvalidRequest, "query parameter %q given more than once", name)
	}
	if len(v) == 0 {
		return "", nil
	}
	return v[0], nil
}

// listQuery is what GET /v1/recordings was asked.
type listQuery struct {
	limit     int
	status    string // a recording.Status or statusAll
	cursor    string
	downloads bool
}

func parseListQuery(raw string) (listQuery, error) {
	// Parsed here rather than with c.QueryParams, which silently drops
	// pairs that are not valid URL encoding.
	q, err := url.ParseQuery(raw)
	if err != nil {
		return listQuery{}, recording.Errorf(recording.CodeInvalidRequest, "query string is not valid URL encoding")
	}
	for name := range q {
		switch name {
		case "limit", "cursor", "status", "include":
		default:
			return listQuery{}, recording.Errorf(recording.CodeInvalidRequest, "unknown query parameter %q", name)
		}
	}
	var v [4]string
	for i, name := range []string{"limit", "status", "cursor", "include"} {
		if v[i], err = singleQuery(q, name); err != nil {
			return listQuery{}, err
		}
	}
	limitStr, statusStr, include := v[0], v[1], v[3]
	lq := listQuery{limit: defaultPageSize, status: string(recording.StatusAvailable), cursor: v[2]}
	if limitStr != "" {
		n, err := strconv.Atoi(limitStr)
		if err != nil || n < 1 || n > maxPageSize {
			return listQuery{}, recording.Errorf(recording.CodeValidation, "limit must be a whole number from 1 to %d", maxPageSize)
		}
		lq.limit = n
	}
	switch statusStr {
	case "":
	case string(recording.StatusAvailable), string(recording.StatusPending), string(recording.StatusRejected),
		string(recording.StatusDeleted), statusAll:
		lq.status = statusStr
	default:
		return listQuery{}, recording.Errorf(recording.CodeValidation, "status must be available, pending, rejected, deleted or all")
	}
	switch include {
	case "":
	case includeDownloadURL:
		lq.downloads = true
	default:
		return listQuery{}, recording.Errorf(recording.CodeValidation, "include must be %s", includeDownloadURL)
	}
	return lq, nil
}

func (s *server) listRecordings(c echo.Context) error {
	lq, err := parseListQuery(c.Request().URL.RawQuery)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	uid := userID(c)
	after := ""
	if lq.cursor != "" {
		if after, err = decodeCursor(lq.cursor, uid, lq.status); err != nil {
			return err
		}
	}
	now := s.now()
	var items []recording.Recording
	var next string
	if lq.status == statusAll {
		items, next, err = s.store.ListAllRecordings(ctx, uid, lq.limit, after, now)
	} else {
		items, next, err = s.store.ListRecordings(ctx, uid, recording.Status(lq.status), lq.limit, after, now)
	}
	if err != nil {
		return err
	}
	resp := listResponse{Items: make([]recordingWithDownload, len(items))}
	signed := false
	for i, rec := range items {
		resp.Items[i].Recording = rec
		if lq.downloads && rec.Status == recording.StatusAvailable {
			if resp.Items[i].Download, err = s.download(ctx, rec, now); err != nil {
				return err
			}
			signed = true
		}
	}
	if signed {
		c.Response().Header().Set("Cache-Control", "no-store")
	}
	if next != "" {
		resp.NextCursor = encodeCursor(cursor{User: uid, Status: lq.status, After: next})
	}
	return writeJSON(c, http.StatusOK, resp)
}

// ownRecording loads the caller's visible recording. A malformed id, another
// user's id and a missing one all end here as the same not-found: the key
// includes the caller's id, so another user's record is never even read.
func (s *server) ownRecording(c echo.Context) (recording.Recording, error) {
	id := c.Param("id")
	if !recording.ValidID(id) {
		return recording.Recording{}, recording.ErrNotFound
	}
	rec, err := s.store.GetRecording(c.Request().Context(), userID(c), id)
	if err != nil {
		return recording.Recording{}, err
	}
	if !rec.Visible() {
		return recording.Recording{}, recording.ErrNotFound
	}
	return rec, nil
}

type recordingWithDownload struct {
	recording.Recording
	Download *s3.SignedRequest `json:"download,omitempty"`
}

// download signs a GET of an available recording's audio, served as an
// attachment under its name. Signing is local: no request leaves the process.
func (s *server) download(ctx context.Context, rec recording.Recording, now time.Time) (*s3.SignedRequest, error) {
	dl, err := s.objects.PresignGet(ctx, rec.Key, recording.ContentDisposition(rec.FileName),
		rec.ContentType, s.cfg.DownloadURLTTL, now)
	if err != nil {
		return nil, err
	}
	dl.Method = ""
	return &dl, nil
}

// getRecording answers 200 for every status the owner can see; the status
// says the rest. Only an available recording carries a download URL: a
// pending one has no object yet, a rejected one's was deleted, and one in
// the trash must be restored before it is played.
func (s *server) getRecording(c echo.Context) error {
	rec, err := s.ownRecording(c)
	if err != nil {
		return err
	}
	resp := recordingWithDownload{Recording: rec}
	if rec.Status == recording.StatusAvailable {
		if resp.Download, err = s.download(c.Request().Context(), rec, s.now()); err != nil {
			return err
		}
		c.Response().Header().Set("Cache-Control", "no-store")
	}
	return writeJSON(c, http.StatusOK, resp)
}

type renameRequest struct {
	FileName *string `json:"file_name"`
}

func (r *renameRequest) validate() error {
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

func (s *server) renameRecording(c echo.Context) error {
	id := c.Param("id")
	if !recording.ValidID(id) {
		return recording.ErrNotFound
	}
	var req renameRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	rec, err := s.store.Rename(c.Request().Context(), userID(c), id, *req.FileName)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, rec)
}

// deleteRecording moves an available recording to the trash, or with
// ?purge=true deletes it for good: out of view and quota at once, the object
// and record following (see lifecycle.Keeper.DeleteRecording), now or,
// after a failure, through the reconciler. The answer says which.
func (s *server) deleteRecording(c echo.Context) error {
	q, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return recording.Errorf(recording.CodeInvalidRequest, "query string is not valid URL encoding")
	}
	for name := range q {
		if name != "purge" {
			return recording.Errorf(recording.CodeInvalidRequest, "unknown query parameter %q", name)
		}
	}
	purgeStr, err := singleQuery(q, "purge")
	if err != nil {
		return err
	}
	purge := false
	switch purgeStr {
	case "", "false":
	case "true":
		purge = true
	default:
		return recording.Errorf(recording.CodeValidation, "purge must be true or false")
	}
	id := c.Param("id")
	if !recording.ValidID(id) {
		return recording.ErrNotFound
	}
	d, err := s.keeper.DeleteRecording(c.Request().Context(), userID(c), id, purge)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, d)
}

// restoreRecording brings a recording back from the trash as it was.
func (s *server) restoreRecording(c echo.Context) error {
	id := c.Param("id")
	if !recording.ValidID(id) {
		return recording.ErrNotFound
	}
	rec, err := s.keeper.RestoreRecording(c.Request().Context(), userID(c), id)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, rec)
}
