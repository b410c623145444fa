package recorder

import (
	"context"

	"github.com/voicerec/backend/internal/config"

	"github.com/voicerec/backend/internal/recording"
)

// MaxLookupDigests bounds one ledger lookup: a folder of 1,000 files
// already backed up costs 10 lookups.
const MaxLookupDigests = 100

// LookupRequest asks which of the user's recordings hold content with
// these digests: a whole file's SHA-256 (base64), or a multipart upload's
// composite of its parts as the recording shows it in parts_sha256.
type LookupRequest struct {
	SHA256 []string `json:"sha256"`
}

// Validate bounds the request and wants well-formed digests.
func (r *LookupRequest) Validate() error {
	if len(r.SHA256) < 1 || len(r.SHA256) > MaxLookupDigests {
		return recording.Errorf(recording.CodeValidation, "sha256 must list 1 to %d digests", MaxLookupDigests)
	}
	for _, d := range r.SHA256 {
		if _, composite := recording.CompositeParts(d); !composite && !recording.ValidSHA256(d) {
			return recording.Errorf(recording.CodeValidation,
				"each sha256 must be the base64 of a 32-byte SHA-256, or a parts composite (<base64>-<parts>)")
		}
	}
	return nil
}

// LedgerEntry is what the ledger knows of one digest: the recordings
// holding that content, none when it is not stored.
type LedgerEntry struct {
	SHA256     string            `json:"sha256"`
	Recordings []LedgerRecording `json:"recordings"`
}

// LedgerRecording names a recording holding the content.
type LedgerRecording struct {
	ID       string           `json:"id"`
	Status   recording.Status `json:"status"`
	FileName string           `json:"file_name"`
}

// LookupResult answers every digest asked, in the order asked, and how
// this deployment cuts uploads into parts, so a client can compute the
// composite a large file of its own would be known by and ask again.
type LookupResult struct {
	Results   []LedgerEntry   `json:"results"`
	Multipart MultipartPolicy `json:"multipart"`
}

// MultipartPolicy is when an upload is multipart and the part size it
// starts from (grown to whole MiB so no upload needs more than MaxParts).
type MultipartPolicy struct {
	ThresholdBytes int64 `json:"threshold_bytes"`
	PartSizeBytes  int64 `json:"part_size_bytes"`
	MaxParts       int   `json:"max_parts"`
}

// Lookup answers which of the user's recordings hold each digest's
// content. Only digests storage verified count, and only the caller's own
// recordings are ever read.
func (s *Service) Lookup(ctx context.Context, userID string, req LookupRequest) (LookupResult, error) {
	if err := req.Validate(); err != nil {
		return LookupResult{}, err
	}
	var unique []string
	seen := map[string]bool{}
	for _, d := range req.SHA256 {
		if !seen[d] {
			seen[d] = true
			unique = append(unique, d)
		}
	}
	found, err := s.store.RecordingsByDigest(ctx, userID, unique)
	if err != nil {
		return LookupResult{}, err
	}
	out := LookupResult{Results: make([]LedgerEntry, 0, len(req.SHA256)), Multipart: MultipartPolicy{
		ThresholdBytes: s.cfg.MultipartThresholdBytes, PartSizeBytes: s.cfg.MultipartPartSize, MaxParts: config.MaxParts,
	}}
	for _, d := range req.SHA256 {
		e := LedgerEntry{SHA256: d, Recordings: []LedgerRecording{}}
		for _, r := range found[d] {
			e.Recordings = append(e.Recordings, LedgerRecording{ID: r.ID, Status: r.Status, FileName: r.FileName})
		}
		out.Results = append(out.Results, e)
	}
	return out, nil
}
