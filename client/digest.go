package client

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
)

// Storage verifies a multipart upload part by part, never as a whole file,
// so a multipart recording's only verified digest is the composite of its
// parts (parts_sha256: the SHA-256 of the parts' raw digests end to end,
// "-" and the part count). To know whether a local file is that recording
// a client cuts the file at the recording's part_size and computes the
// same; a single PUT's sha256 is compared with the file's own digest.

// SHA256 is the base64 SHA-256 of the first size bytes of r, read as a
// stream.
func SHA256(r io.ReaderAt, size int64) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// PartDigests returns the SHA-256 (base64) of each partSize-long piece of
// the first size bytes of f, in one streamed pass.
func PartDigests(f io.ReaderAt, size, partSize int64) ([]string, error) {
	if partSize < 1 {
		return nil, fmt.Errorf("part size %d", partSize)
	}
	var out []string
	for off := int64(0); off < size; off += partSize {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(f, off, min(partSize, size-off))); err != nil {
			return nil, err
		}
		out = append(out, base64.StdEncoding.EncodeToString(h.Sum(nil)))
	}
	return out, nil
}

// Composite combines part digests as storage does.
func Composite(digests []string) string {
	h := sha256.New()
	for _, d := range digests {
		raw, _ := base64.StdEncoding.DecodeString(d)
		h.Write(raw)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(digests))
}
