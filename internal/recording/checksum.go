package recording

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// A multipart object has no whole-file digest that storage verified: S3 (and
// MinIO) verify each part's SHA-256 as it is stored and, at completion, give
// the object the composite checksum: the SHA-256 of the parts' raw digests
// laid end to end, in base64, followed by "-" and the number of parts. That
// is the only digest of such an object anyone checked, so it is the one a
// recording publishes (PartsSHA256), and a client that wants to know whether
// a local file is that recording computes the same from the file and the
// recording's part size.

// CompositeSHA256 is the composite checksum of parts whose digests (base64
// SHA-256) are given in part order.
func CompositeSHA256(partDigests []string) (string, error) {
	h := sha256.New()
	for i, d := range partDigests {
		raw, err := base64.StdEncoding.DecodeString(d)
		if err != nil || len(raw) != sha256.Size {
			return "", fmt.Errorf("part %d: not the base64 of a SHA-256 digest", i+1)
		}
		h.Write(raw)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(partDigests)), nil
}

// CompositeParts reports how many parts a composite checksum covers, and
// false for anything that is not one (a full-object digest, or nothing).
func CompositeParts(checksum string) (int, bool) {
	digest, count, ok := strings.Cut(checksum, "-")
	if !ok || !ValidSHA256(digest) {
		return 0, false
	}
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 || strconv.Itoa(n) != count {
		return 0, false
	}
	return n, true
}
