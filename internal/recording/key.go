package recording

import (
	"strings"
)

// KeyPrefix is where every recording object lives; the bucket's event
// notifications and the IAM policies are scoped to it.
const KeyPrefix = "recordings/"

// ObjectKey is the S3 key of a recording: built from server-generated ids
// only, never from anything the user typed. The extension is cosmetic (it
// makes the console readable) and is ignored when a key is parsed.
func ObjectKey(userID, recordingID, ext string) string {
	return KeyPrefix + userID + "/" + recordingID + ext
}

// UserPrefix is the prefix of all of a user's objects.
func UserPrefix(userID string) string { return KeyPrefix + userID + "/" }

// ParseKey splits an object key into user and recording id. ok is false
// for any key outside the layout.
func ParseKey(key string) (userID, recordingID string, ok bool) {
	rest, found := strings.CutPrefix(key, KeyPrefix)
	if !found {
		return "", "", false
	}
	userID, name, found := strings.Cut(rest, "/")
	if !found {
		return "", "", false
	}
	recordingID, _, _ = strings.Cut(name, ".")
	if !ValidID(userID) || !ValidID(recordingID) {
		return "", "", false
	}
	return userID, recordingID, true
}
