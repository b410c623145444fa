package cli

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"os"

	"github.com/voicerec/backend/client"
)

// A local file is matched with a recording by the digest storage verified
// for it (client.Recording.VerifiedDigest): the whole file's SHA-256, or
// for a multipart recording the composite of its parts, which needs the
// file cut at the recording's part size.

// hashFile is the base64 SHA-256 of a whole file.
func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// fileComposite is the composite checksum the file would have as a
// multipart upload cut at partSize.
func fileComposite(path string, partSize int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	d, err := client.PartDigests(f, st.Size(), partSize)
	if err != nil {
		return "", err
	}
	return client.Composite(d), nil
}
