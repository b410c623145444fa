package recorder

import (
	"context"
	"errors"
	"time"

	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

// Converger makes one recording right given its key, as lifecycle.Keeper's
// Converge does. The service names it so that a complete never has to read
// audio in the API's process: on AWS the events function does it (a
// synchronous invoke), locally and in tests the Keeper is called in-process.
// key may be empty: the record names its object.
type Converger interface {
	Converge(ctx context.Context, userID, recordingID, key string) (outcome string, err error)
}

// CompleteRequest lists every part of a multipart upload as storage
// answered it; a single PUT's complete has none.
type CompleteRequest struct {
	Parts []CompletePart `json:"parts,omitempty"`
}

// CompletePart is one uploaded part.
type CompletePart struct {
	PartNumber int    `json:"part_number"`
	ETag       string `json:"etag"`
	SHA256     string `json:"sha256"`
}

// Validate bounds the list to S3's parts and wants each part's etag and
// digest.
func (r *CompleteRequest) Validate() error {
	if len(r.Parts) < 1 || len(r.Parts) > config.MaxParts {
		return recording.Errorf(recording.CodeValidation, "parts must list 1 to %d parts", config.MaxParts)
	}
	for _, p := range r.Parts {
		if p.ETag == "" || len(p.ETag) > 128 {
			return recording.Errorf(recording.CodeValidation, "every part needs the etag storage answered for it")
		}
		if !recording.ValidSHA256(p.SHA256) {
			return recording.Errorf(recording.CodeValidation, "every part needs the sha256 (base64) its URL was signed with")
		}
	}
	return nil
}

// errPartsOfSinglePut keeps the conflict a single PUT's complete with parts
// always answered: that app's idea of the upload is not the server's.
// answerMargin is kept from a complete's deadline to answer pending when
// the convergence takes too long.
const answerMargin = time.Second

var errPartsOfSinglePut = recording.Errorf(recording.CodeConflict, "this recording is not a multipart upload: complete it with an empty body, without parts")

// Complete tells the server an upload is done, so the recording converges
// now rather than when the storage event arrives: the answer is already
// available or rejected. A multipart upload is first assembled from the
// parts the request lists; a single PUT's request is empty. A recording no
// longer pending is answered as it is, so a repeat is harmless, and one
// whose object is not there yet is answered pending (the event or the
// reconciler confirms it later).
func (s *Service) Complete(ctx context.Context, userID, id string, req CompleteRequest) (recording.Recording, error) {
	rec, err := s.ownRecording(ctx, userID, id)
	if err != nil {
		return rec, err
	}
	if rec.Multipart() {
		if err := req.Validate(); err != nil {
			return recording.Recording{}, err
		}
	} else if len(req.Parts) > 0 {
		return recording.Recording{}, errPartsOfSinglePut
	}
	if rec.Status != recording.StatusPending {
		return rec, nil
	}
	if rec.Multipart() {
		if err := s.assemble(ctx, rec, req); err != nil {
			return recording.Recording{}, err
		}
	}
	// The storage event converges it too; whoever comes first wins, and
	// the other finds nothing to do. A failure here leaves it to them, so
	// the app hears pending, not an error. A client that hangs up does not
	// cut the confirmation short; the request's deadline still bounds it.
	// Its deadline leaves the request time to read and answer the record.
	cctx := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		cctx, cancel = context.WithDeadline(cctx, dl.Add(-min(answerMargin, time.Until(dl)/4)))
		defer cancel()
	}
	if _, err := s.converger.Converge(cctx, userID, rec.ID, ""); err != nil {
		s.log.WarnContext(ctx, "converge at complete", "recording_id", rec.ID, "error", err)
	}
	rec, err = s.store.GetRecording(ctx, userID, rec.ID)
	if err != nil {
		return recording.Recording{}, err
	}
	if !rec.Visible() {
		return recording.Recording{}, recording.ErrNotFound
	}
	return rec, nil
}

// assemble completes a multipart upload in storage. An upload storage
// already completed (MinIO answers NoSuchUpload to a repeat, S3 success) is
// fine once the object is there.
func (s *Service) assemble(ctx context.Context, rec recording.Recording, req CompleteRequest) error {
	if len(req.Parts) != rec.PartCount() {
		return recording.Errorf(recording.CodeValidation, "this upload has %d parts; list each once, in order", rec.PartCount())
	}
	parts := make([]s3.Part, len(req.Parts))
	for i, p := range req.Parts {
		if p.PartNumber != i+1 {
			return recording.Errorf(recording.CodeValidation, "this upload has %d parts; list each once, in order", rec.PartCount())
		}
		parts[i] = s3.Part{Number: p.PartNumber, ETag: p.ETag, SHA256: p.SHA256}
	}
	err := s.objects.CompleteMultipart(ctx, rec.Key, rec.UploadID, parts)
	switch {
	case errors.Is(err, s3.ErrNoUpload):
		if _, herr := s.objects.Head(ctx, rec.Key); errors.Is(herr, s3.ErrNoObject) {
			return errUploadClosed
		} else if herr != nil {
			return herr
		}
	case errors.Is(err, s3.ErrBadParts):
		return recording.Errorf(recording.CodeValidation, "storage refused the part list: a part is missing, too small, or its etag or sha256 is not the one storage holds")
	case err != nil:
		return err
	}
	return nil
}
