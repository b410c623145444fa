package cli

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"os"
	"slices"
	"strings"

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

// stored indexes recordings by the digest storage verified for them, for
// backup and upload to recognise content already there under any name.
type stored struct {
	byDigest  map[string]client.Recording
	partSizes map[int64][]int64 // a file's size -> part sizes of multipart recordings of that size
}

func indexStored(remote []client.Recording) stored {
	s := stored{byDigest: map[string]client.Recording{}, partSizes: map[int64][]int64{}}
	for _, r := range remote {
		// A match's id is printed and acted on: only one passing the
		// server's own check.
		if !client.ValidID(r.ID) {
			continue
		}
		d := r.VerifiedDigest()
		// An available copy wins over a rejected or trashed one.
		if old, ok := s.byDigest[d]; d != "" && (!ok || old.Status != "available") {
			s.byDigest[d] = r
		}
		if r.PartsSHA256 != "" && r.PartSize > 0 && !slices.Contains(s.partSizes[r.SizeBytes], r.PartSize) {
			s.partSizes[r.SizeBytes] = append(s.partSizes[r.SizeBytes], r.PartSize)
		}
	}
	return s
}

// keys are every verified digest a local file of this size and SHA-256 may
// be known by: its own, and the composite of its parts cut as a stored
// multipart recording of the same size was.
func (s stored) keys(path string, size int64, digest string) ([]string, error) {
	keys := []string{digest}
	for _, ps := range s.partSizes[size] {
		c, err := fileComposite(path, ps)
		if err != nil {
			return nil, err
		}
		keys = append(keys, c)
	}
	return keys, nil
}

// match is the recording holding content known by keys, an available one
// before a rejected or trashed one.
func (s stored) match(keys []string) (r client.Recording, known bool) {
	for _, k := range keys {
		if m, ok := s.byDigest[k]; ok && (!known || r.Status != "available") {
			r, known = m, true
		}
	}
	return r, known
}

// lookupStored asks the ledger which recordings hold each file's content,
// by its SHA-256 (keys[i] holds it), then, for a file not found that is
// large enough to have been uploaded in parts, by the composite of its
// parts cut as the server's answer says it cuts them (added to keys[i]).
// A folder of files already backed up by one PUT each costs one request
// per 100 files.
func lookupStored(ctx context.Context, e *env, files []localFile, keys [][]string, results []outcome, jobs int) (stored, error) {
	found := map[string][]client.LedgerMatch{}
	ask := func(digests []string) (client.MultipartPolicy, error) {
		got, policy, err := e.api.LookupAll(ctx, unique(digests))
		for d, ms := range got {
			found[d] = ms
		}
		return policy, err
	}
	var whole []string
	for i := range files {
		if results[i].err == nil {
			whole = append(whole, keys[i]...)
		}
	}
	policy, err := ask(whole)
	if err != nil {
		return stored{}, err
	}
	var again []int
	for i, f := range files {
		if results[i].err == nil && len(found[keys[i][0]]) == 0 && policy.PartSizeFor(f.size) > 0 {
			again = append(again, i)
		}
	}
	composites := make([]string, len(again))
	parallel(ctx, len(again), jobs, func(k int) {
		i := again[k]
		composites[k], results[i].err = fileComposite(files[i].path, policy.PartSizeFor(files[i].size))
	})
	if err := ctx.Err(); err != nil {
		return stored{}, err
	}
	var parts []string
	for k, i := range again {
		if results[i].err == nil {
			keys[i] = append(keys[i], composites[k])
			parts = append(parts, composites[k])
		}
	}
	if _, err := ask(parts); err != nil {
		return stored{}, err
	}
	var remote []client.Recording
	for digest, ms := range found {
		for _, m := range ms {
			r := client.Recording{ID: m.ID, Status: m.Status, FileName: m.FileName}
			if strings.Contains(digest, "-") {
				r.PartsSHA256 = digest
			} else {
				r.SHA256 = digest
			}
			remote = append(remote, r)
		}
	}
	return indexStored(remote), nil
}

func unique(ss []string) []string {
	seen := map[string]bool{}
	out := ss[:0:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
