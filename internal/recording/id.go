package recording

import (
	"crypto/rand"
	"time"

	"github.com/oklog/ulid/v2"
)

// NewID returns a ULID: unique, URL- and key-safe, and sortable by creation
// time, so a user's recordings come out of DynamoDB newest first for free.
func NewID(now time.Time) string {
	return ulid.MustNew(ulid.Timestamp(now), rand.Reader).String()
}

// ValidID reports whether s has the shape of an id we issue. Anything else is
// answered like a missing resource, without a database round trip.
func ValidID(s string) bool {
	if len(s) != ulid.EncodedSize {
		return false
	}
	_, err := ulid.ParseStrict(s)
	return err == nil
}
