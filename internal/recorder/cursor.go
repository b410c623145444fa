package recorder

import (
	"encoding/base64"
	"encoding/json"

	"github.com/voicerec/backend/internal/recording"
)

// cursor is where a listing continues. It names its owner and status, so a
// cursor from another user or another listing is refused rather than
// silently reinterpreted; the position is re-scoped to the caller's own
// partition in any case, so a cursor can never reach another user's data.
type cursor struct {
	User   string `json:"u"`
	Status string `json:"s"`
	After  string `json:"a"`
}

const maxCursorLength = 256

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errBadCursor = recording.Errorf(recording.CodeInvalidCursor, "cursor is not valid for this listing; start again without it")

func decodeCursor(s, user, status string) (string, error) {
	if len(s) > maxCursorLength {
		return "", errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", errBadCursor
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return "", errBadCursor
	}
	if c.User != user || c.Status != status || !recording.ValidID(c.After) {
		return "", errBadCursor
	}
	return c.After, nil
}
