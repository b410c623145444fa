// Package recording is the domain: recordings, users and sessions, the rules
// they follow, and the one error type the rest of the backend speaks.
package recording

import (
	"crypto/sha256"
	"encoding/base64"
	"mime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Status is where a recording is in its life.
type Status string

const (
	// StatusPending: the record exists and upload URLs may be issued until
	// ExpiresAt; the object has not been confirmed. Only the reconciler
	// closes a pending record, once no URL issued for it can still land.
	StatusPending Status = "pending"
	// StatusAvailable: the object is stored and matches what was declared.
	StatusAvailable Status = "available"
	// StatusRejected: the upload did not match its declaration; the object
	// was deleted and RejectReason says why.
	StatusRejected Status = "rejected"
	// StatusDeleting: a delete started and has not finished; invisible to
	// users, finished by the next delete call or by the reconciler.
	StatusDeleting Status = "deleting"
	// StatusDeleted: in the trash ("recently deleted"). The object stays and
	// still counts against the quota until PurgeAt, when the reconciler
	// deletes it; until then it can be restored as it was.
	StatusDeleted Status = "deleted"
)

// Recording is one audio file of one user.
type Recording struct {
	UserID      string `json:"-"`
	ID          string `json:"id"`
	FileName    string `json:"file_name"`
	ContentType string `json:"content_type"`
	SizeBytes   int64  `json:"size_bytes"`
	// DurationMS is what the app declared while pending, and what the
	// server measured in the audio itself once available.
	DurationMS *int64 `json:"duration_ms,omitempty"`
	// Codec, SampleRateHz and Channels are read from the audio at
	// confirmation.
	Codec        string     `json:"codec,omitempty"`
	SampleRateHz int        `json:"sample_rate_hz,omitempty"`
	Channels     int        `json:"channels,omitempty"`
	RecordedAt   *time.Time `json:"recorded_at,omitempty"`
	Status       Status     `json:"status"`
	// RejectReason is a stable code (see the Reject* constants), RejectDetail
	// a sentence the app can show.
	RejectReason string     `json:"reject_reason,omitempty"`
	RejectDetail string     `json:"reject_detail,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UploadedAt   *time.Time `json:"uploaded_at,omitempty"`
	// ExpiresAt is the end of a pending upload's window: no upload URL
	// issued for it is valid past this instant.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// PurgeAt is when a recording in the trash is deleted for good.
	PurgeAt *time.Time `json:"purge_at,omitempty"`
	// SHA256 is the base64 SHA-256 of the whole object, and only ever one
	// that storage verified: declared by the client for a single PUT (the
	// URL signs it, so storage refuses any other body) and read back from
	// storage once available. A multipart upload has none.
	SHA256 string `json:"sha256,omitempty"`
	// PartsSHA256 is a multipart object's composite checksum as storage
	// computed it from the parts it verified (see CompositeSHA256), set at
	// confirmation; PartSize says how to cut a file to compare.
	PartsSHA256 string `json:"parts_sha256,omitempty"`
	ETag        string `json:"-"`
	Key         string `json:"-"`
	// UploadID and PartSize are a multipart upload's, set by the server when
	// the declared size is at or above MULTIPART_THRESHOLD_BYTES and never
	// taken from the client. UploadID is empty for a single-PUT upload.
	UploadID string `json:"-"`
	PartSize int64  `json:"part_size,omitempty"`
	// DueAt is when the reconciler must look at the record next (zero: it
	// needs no attention). A pending record is due once its last URL can no
	// longer land; a deleting or rejected one as soon as possible.
	DueAt time.Time `json:"-"`
	// LandBy is, for a rejected single-PUT upload, the pending record's due
	// time: until then its URL may still store a body (an app retrying after
	// the rejection), which must be deleted even if its event is lost, so
	// the record is due again then. Zero: nothing can land any more.
	LandBy time.Time `json:"-"`

	// Language is what the create asked to transcribe in (LanguageAuto
	// when it said nothing).
	Language string `json:"language,omitempty"`
	// TranscriptStatus is the transcript's status (empty: none was ever
	// started, e.g. before confirmation); TranscriptJob the engine's job
	// whose result may complete it, and TranscriptReason/Detail why one
	// was skipped, failed or is unsupported.
	TranscriptStatus TranscriptStatus `json:"transcript_status,omitempty"`
	TranscriptJob    string           `json:"-"`
	TranscriptReason string           `json:"-"`
	TranscriptDetail string           `json:"-"`
	// TranscriptLanguage is the language the transcript is in (the one
	// identified, for auto).
	TranscriptLanguage string `json:"-"`
}

// Why an upload is rejected.
const (
	RejectSizeMismatch     = "size_mismatch"
	RejectTypeMismatch     = "type_mismatch"
	RejectChecksumMismatch = "checksum_mismatch"
	RejectNotAudio         = "not_audio"
	RejectUnreadableAudio  = "unreadable_audio"
)

// MaxDurationMS is the longest recording accepted, 31 days: no voice memo
// runs longer, and a duration past it is a broken clock or a forged header.
// The API refuses a declared duration above it and the audio check rejects
// a measured one, so both speak of one bound.
const MaxDurationMS = 31 * 24 * 3600 * 1000

// Multipart reports whether the recording is uploaded in parts.
func (r Recording) Multipart() bool { return r.UploadID != "" }

// PartCount is how many parts a multipart upload has.
func (r Recording) PartCount() int {
	if r.PartSize <= 0 {
		return 0
	}
	return int((r.SizeBytes + r.PartSize - 1) / r.PartSize)
}

// PartLength is the exact size of part n (from 1): PartSize, except the
// last part, which is the remainder. 0 for a part outside the upload.
func (r Recording) PartLength(n int) int64 {
	count := r.PartCount()
	if n < 1 || n > count {
		return 0
	}
	if n < count {
		return r.PartSize
	}
	return r.SizeBytes - int64(count-1)*r.PartSize
}

// PartSizeFor is the part size of a multipart upload of size bytes: base,
// grown in whole MiB when size would need more than maxParts parts.
func PartSizeFor(size, base int64, maxParts int) int64 {
	ps := base
	if need := (size + int64(maxParts) - 1) / int64(maxParts); need > ps {
		const mib = 1 << 20
		ps = (need + mib - 1) / mib * mib
	}
	return ps
}

// Visible reports whether the owner can see the recording at all.
func (r Recording) Visible() bool { return r.Status != StatusDeleting }

// User is an account.
type User struct {
	ID             string    `json:"id"`
	Providers      []string  `json:"providers"`
	CreatedAt      time.Time `json:"created_at"`
	Email          string    `json:"email,omitempty"`
	Name           string    `json:"name,omitempty"`
	RecordingCount int64     `json:"recording_count"`
	BytesStored    int64     `json:"bytes_stored"`
	// BytesReserved and UploadsInFlight count the pending uploads whose
	// bytes are held against the quota until they are confirmed or closed.
	BytesReserved   int64 `json:"-"`
	UploadsInFlight int   `json:"-"`
	// Identities are "<provider>#<sub>" keys of the linked social accounts.
	Identities []string `json:"-"`
	Deleting   bool     `json:"-"`
	// AppleToken is the sealed Sign in with Apple refresh token, and
	// AppleClientID the client it was issued to; kept only to revoke it.
	AppleToken    []byte `json:"-"`
	AppleClientID string `json:"-"`
	// Revoke lists what must still be undone at the providers once the
	// account is being deleted, as identity keys ("apple#<sub>",
	// "kakao#<sub>"); RevokeAttempts counts the failed rounds.
	Revoke         []string `json:"-"`
	RevokeAttempts int      `json:"-"`

	// TranscriptionOff is the user's choice not to transcribe new
	// recordings. TranscribeMonth ("2006-01", UTC) is the month
	// TranscribeSeconds counts the audio sent to the engine in.
	TranscriptionOff  bool   `json:"-"`
	TranscribeMonth   string `json:"-"`
	TranscribeSeconds int64  `json:"-"`
}

// Identity is a verified social login.
type Identity struct {
	Provider, Subject, Email, Name string
}

// Key is how an identity is stored: provider and subject together.
func (i Identity) Key() string { return i.Provider + "#" + i.Subject }

// Session is a signed-in device. Only the token's hash is ever stored.
type Session struct {
	TokenHash string
	UserID    string
	// SessionID names the device session an access token belongs to;
	// empty for a token issued before refresh tokens.
	SessionID string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Limits are the per-user quotas and upload bounds.
type Limits struct {
	MaxUploadBytes int64
	MaxBytes       int64
	MaxRecordings  int64
	// MaxPending bounds uploads in flight at once, which also keeps the
	// user's reservation list small.
	MaxPending int
}

// audioTypes maps every accepted content type, aliases included, to the
// canonical type we store and the extension the object key gets.
var audioTypes = map[string]struct{ canonical, ext string }{
	"audio/mp4":      {"audio/mp4", ".m4a"},
	"audio/m4a":      {"audio/mp4", ".m4a"},
	"audio/x-m4a":    {"audio/mp4", ".m4a"},
	"audio/aac":      {"audio/aac", ".aac"},
	"audio/x-aac":    {"audio/aac", ".aac"},
	"audio/aacp":     {"audio/aac", ".aac"},
	"audio/mpeg":     {"audio/mpeg", ".mp3"},
	"audio/mp3":      {"audio/mpeg", ".mp3"},
	"audio/x-mp3":    {"audio/mpeg", ".mp3"},
	"audio/mpeg3":    {"audio/mpeg", ".mp3"},
	"audio/wav":      {"audio/wav", ".wav"},
	"audio/x-wav":    {"audio/wav", ".wav"},
	"audio/wave":     {"audio/wav", ".wav"},
	"audio/vnd.wave": {"audio/wav", ".wav"},
	"audio/ogg":      {"audio/ogg", ".ogg"},
	"audio/opus":     {"audio/opus", ".opus"},
	"audio/webm":     {"audio/webm", ".webm"},
	"audio/flac":     {"audio/flac", ".flac"},
	"audio/x-flac":   {"audio/flac", ".flac"},
	"audio/3gpp":     {"audio/3gpp", ".3gp"},
	"audio/3gpp2":    {"audio/3gpp2", ".3g2"},
	"audio/amr":      {"audio/amr", ".amr"},
	"audio/amr-wb":   {"audio/amr-wb", ".awb"},
}

// NormalizeContentType returns the canonical audio type for ct and the
// object key extension, or a CodeUnsupportedType error. Parameters such as
// "; codecs=opus" are dropped: storage signs the bare type.
func NormalizeContentType(ct string) (canonical, ext string, err error) {
	mt, _, perr := mime.ParseMediaType(ct)
	if perr != nil {
		mt = strings.ToLower(strings.TrimSpace(ct))
	}
	if t, ok := audioTypes[mt]; ok {
		return t.canonical, t.ext, nil
	}
	return "", "", Errorf(CodeUnsupportedType, "content_type %q is not a supported audio type", ct)
}

// SupportedContentTypes lists the canonical types, for error messages and docs.
func SupportedContentTypes() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range audioTypes {
		if !seen[t.canonical] {
			seen[t.canonical] = true
			out = append(out, t.canonical)
		}
	}
	return out
}

// MaxFileNameLength is in characters (runes), so Korean names get the same
// length as Latin ones.
const MaxFileNameLength = 255

// MaxFileNameBytes bounds a name's UTF-8 encoding as well: a full-length
// Korean name (255 three-byte characters, 765 bytes) fits, 255 four-byte
// emoji (1020 bytes) do not. The name ends up percent-encoded in
// Content-Disposition and again in presigned download URLs, so bytes, not
// characters, are what costs.
const MaxFileNameBytes = 768

// NormalizeFileName checks a user-given file name and returns the form to
// store: Unicode NFC, so the composed and decomposed spellings of one name
// (macOS file pickers send NFD) are one name. The rules, checked on the
// normalized form: valid UTF-8; 1 to MaxFileNameLength characters and at most
// MaxFileNameBytes bytes; no control characters, no bidirectional controls
// (U+202A-202E, U+2066-2069, U+200E, U+200F, U+061C: "ev\u202eil4pm.exe"
// displays as "evilexe.mp4"); at least one visible character (not only
// spaces, zero-width or filler characters); no path separators; not "." or
// "..".
func NormalizeFileName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", Errorf(CodeInvalidFileName, "file_name must be valid UTF-8")
	}
	if len(name) > 4*MaxFileNameBytes {
		// Far over any bound: refuse before normalizing.
		return "", Errorf(CodeInvalidFileName, "file_name must be at most %d bytes", MaxFileNameBytes)
	}
	name = norm.NFC.String(name)
	switch {
	case strings.TrimSpace(name) == "":
		return "", Errorf(CodeInvalidFileName, "file_name must not be empty")
	case utf8.RuneCountInString(name) > MaxFileNameLength:
		return "", Errorf(CodeInvalidFileName, "file_name must be at most %d characters", MaxFileNameLength)
	case len(name) > MaxFileNameBytes:
		return "", Errorf(CodeInvalidFileName, "file_name must be at most %d bytes of UTF-8", MaxFileNameBytes)
	case strings.ContainsAny(name, `/\`):
		return "", Errorf(CodeInvalidFileName, "file_name must not contain path separators")
	case name == "." || name == "..":
		return "", Errorf(CodeInvalidFileName, "file_name must not be . or ..")
	}
	visible := false
	for _, r := range name {
		switch {
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError:
			return "", Errorf(CodeInvalidFileName, "file_name must not contain control characters")
		case bidiControl(r):
			return "", Errorf(CodeInvalidFileName, "file_name must not contain bidirectional control characters")
		case !visible && isVisible(r):
			visible = true
		}
	}
	if !visible {
		return "", Errorf(CodeInvalidFileName, "file_name must contain a visible character")
	}
	return name, nil
}

// ValidateFileName reports whether NormalizeFileName accepts name.
func ValidateFileName(name string) error {
	_, err := NormalizeFileName(name)
	return err
}

// bidiControl reports the characters that reorder the text around them.
func bidiControl(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') ||
		r == '\u200e' || r == '\u200f' || r == '\u061c'
}

// isVisible reports a character that draws something: not a space, not a
// format character (zero-width space, joiners, BOM, word joiner), not a
// combining mark on its own, and not one of the letters that render blank
// (Hangul fillers, the blank Braille pattern).
func isVisible(r rune) bool {
	switch r {
	case '\u115f', '\u1160', '\u3164', '\uffa0', '\u2800':
		return false
	}
	return unicode.IsGraphic(r) && !unicode.IsSpace(r) && !unicode.In(r, unicode.Cf, unicode.Mn, unicode.Me)
}

// ValidSHA256 reports whether s is a SHA-256 digest spelled as S3 spells
// checksums: standard base64 of the 32 bytes.
func ValidSHA256(s string) bool {
	b, err := base64.StdEncoding.DecodeString(s)
	return err == nil && len(b) == sha256.Size && base64.StdEncoding.EncodeToString(b) == s
}
