package cli

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strconv"
)

// Storage verifies a multipart upload part by part, never as a whole file,
// so a multipart recording's only verified digest is the composite of its
// parts (parts_sha256: the SHA-256 of the parts' raw digests end to end,
// "-" and the part count). To know whether a local file is that recording
// the CLI cuts the file at the recording's part_size and computes the same;
// a single PUT's sha256 is compared with the file's own digest.

// partDigests returns the SHA-256 (base64) of each partSize-long piece of
// the first size bytes of f, in one streamed pass.
func partDigests(f io.ReaderAt, size, partSize int64) ([]string, error) {
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

// composite combines part digests as storage does.
func composite(digests []string) string {
	h := sha256.New()
	for _, d := range digests {
		raw, _ := base64.StdEncoding.DecodeString(d)
		h.Write(raw)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(digests))
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
	d, err := partDigests(f, st.Size(), partSize)
	if err != nil {
		return "", err
	}
	return composite(d), nil
}

// verifiedDigest is the digest storage verified for rec, the key a local
// file is matched on: the whole file's sha256, or for a multipart upload
// the composite of its parts. "" when storage verified none.
func verifiedDigest(rec recordingDoc) string {
	if rec.PartsSHA256 != "" {
		return rec.PartsSHA256
	}
	return rec.SHA256
}
