package cli

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
)

// Backup and restore judge "already there" by content, not by name: the
// server keeps each recording's SHA-256 (the CLI always declares it and
// storage verifies it), so a renamed or moved file is still recognised and
// a changed file is not mistaken for its old self.

const defaultJobs = 4

func (e *env) backupCmd() *cobra.Command {
	var o backupOpts
	c := &cobra.Command{
		Use:   "backup DIR",
		Short: "Upload every audio file under DIR that is not backed up yet",
		Long: `Upload every audio file under DIR (subfolders included, hidden ones skipped)
whose content is not already among your recordings, judged by SHA-256. Several
files go at once; an interrupted upload resumes when backup runs again. Ends with
a summary: uploaded, already backed up, skipped, failed (with reasons).`,
		Example: "  recorder backup ~/Recordings",
		Args:    args(1, 1),
		RunE:    func(_ *cobra.Command, a []string) error { return e.backup(a[0], o) },
	}
	c.Flags().IntVarP(&o.jobs, "jobs", "j", defaultJobs, "files uploaded at once")
	c.Flags().DurationVar(&o.wait, "wait", 2*time.Minute, "how long to wait for each upload to be confirmed")
	return c
}

type backupOpts struct {
	jobs int
	wait time.Duration
}

// localFile is one candidate for backup.
type localFile struct {
	path string
	size int64
}

type outcome struct {
	path, note string
	err        error
}

func (e *env) backup(dir string, o backupOpts) error {
	if o.jobs < 1 {
		return usageError("--jobs must be at least 1")
	}
	if st, err := os.Stat(dir); err != nil {
		return err
	} else if !st.IsDir() {
		return fmt.Errorf("%s is not a folder; use `recorder upload` for single files", dir)
	}
	if err := e.needSession(); err != nil {
		return err
	}
	files, skipped, err := audioFiles(dir)
	if err != nil {
		return err
	}
	remote, err := e.list("all", 0, false)
	if err != nil {
		return err
	}
	// Only digests storage verified count: a file matches a recording by
	// its own SHA-256 (a single PUT) or by the composite of its parts cut
	// as that recording's were (a multipart upload).
	byDigest := map[string]recordingDoc{}
	partSizes := map[int64][]int64{} // a file's size -> part sizes of multipart recordings of that size
	for _, r := range remote {
		d := verifiedDigest(r)
		// An available copy wins over a rejected or trashed one.
		if old, ok := byDigest[d]; d != "" && (!ok || old.Status != "available") {
			byDigest[d] = r
		}
		if r.PartsSHA256 != "" && r.PartSize > 0 && !slices.Contains(partSizes[r.SizeBytes], r.PartSize) {
			partSizes[r.SizeBytes] = append(partSizes[r.SizeBytes], r.PartSize)
		}
	}
	// Hash first, then decide in the walk's order, so which of two files
	// with the same content is uploaded does not depend on timing.
	digests := make([]string, len(files))
	keys := make([][]string, len(files)) // every verified digest the file may be known by
	results := make([]outcome, len(files))
	e.parallel(len(files), o.jobs, func(i int) {
		results[i].path = files[i].path
		if digests[i], results[i].err = hashFile(files[i].path); results[i].err != nil {
			return
		}
		keys[i] = []string{digests[i]}
		for _, ps := range partSizes[files[i].size] {
			c, err := fileComposite(files[i].path, ps)
			if err != nil {
				results[i].err = err
				return
			}
			keys[i] = append(keys[i], c)
		}
	})
	if err := e.ctx.Err(); err != nil {
		return err
	}
	seen := map[string]string{} // digest -> the path uploading it in this run
	var todo []int
	var total int64
	for i, f := range files {
		res, digest := &results[i], digests[i]
		if res.err != nil {
			continue
		}
		var r recordingDoc
		known := false
		for _, k := range keys[i] {
			if m, ok := byDigest[k]; ok && (!known || r.Status != "available") {
				r, known = m, true
			}
		}
		first, dup := seen[digest]
		switch {
		case dup:
			res.note = "same content as " + first
		case known && r.Status == "available":
			res.note = "backed up as " + r.ID
		case known && r.Status == "deleted":
			res.note = fmt.Sprintf("in the trash as %s (`recorder trash restore %s`)", r.ID, r.ID)
		case known && r.Status == "rejected":
			res.err = fmt.Errorf("refused earlier as %s: %s", r.ID, r.RejectReason)
		default:
			seen[digest] = f.path
			todo = append(todo, i)
			total += f.size
		}
	}
	e.overall = e.newOverall(total, "backup")
	e.parallel(len(todo), o.jobs, func(k int) {
		i := todo[k]
		rec, err := e.uploadOne(files[i].path, digests[i], o.wait)
		results[i].err = err
		if err == nil {
			results[i].note = "uploaded as " + rec.ID
		}
	})
	if e.overall != nil {
		_ = e.overall.Finish()
	}
	if err := e.ctx.Err(); err != nil {
		return err
	}
	uploaded, already, failed := 0, 0, 0
	var last error
	for _, r := range results {
		switch {
		case r.err != nil:
			failed++
			last = r.err
			fmt.Fprintf(e.stdout, "failed    %s: %v\n", r.path, r.err)
		case strings.HasPrefix(r.note, "uploaded"):
			uploaded++
			fmt.Fprintf(e.stdout, "uploaded  %s (%s)\n", r.path, strings.TrimPrefix(r.note, "uploaded as "))
		default:
			already++
			if e.verbose || !strings.HasPrefix(r.note, "backed up") {
				fmt.Fprintf(e.stdout, "skipped   %s: %s\n", r.path, r.note)
			}
		}
	}
	for _, s := range skipped {
		fmt.Fprintf(e.stdout, "skipped   %s: %s\n", s.path, s.note)
	}
	fmt.Fprintf(e.stdout, "backup of %s: %d uploaded, %d already backed up, %d skipped, %d failed\n",
		dir, uploaded, already, len(skipped), failed)
	if failed > 0 {
		return &batchError{n: failed, of: len(files), verb: "backed up", last: last}
	}
	return nil
}

// audioFiles walks dir for audio files; what it passes over that looks
// like a recording (empty, unreadable) is returned as skipped, with why.
// Hidden files and folders are passed over silently.
func audioFiles(dir string) (files []localFile, skipped []outcome, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			skipped = append(skipped, outcome{path: path, note: "unreadable: " + err.Error()})
			return nil
		}
		if path != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			skipped = append(skipped, outcome{path: path, note: "unreadable: " + err.Error()})
			return nil
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if _, err := detectType(path, f); err != nil {
			return nil // not audio: not what a backup of recordings is about
		}
		if st.Size() == 0 {
			skipped = append(skipped, outcome{path: path, note: "empty"})
			return nil
		}
		files = append(files, localFile{path: path, size: st.Size()})
		return nil
	})
	return files, skipped, err
}

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

// parallel runs fn(0..n-1) on at most jobs goroutines, stopping early
// when the run is cancelled.
func (e *env) parallel(n, jobs int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(jobs, n) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		if e.ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}

// --- restore

func (e *env) restoreDirCmd() *cobra.Command {
	var jobs int
	c := &cobra.Command{
		Use:   "restore DIR",
		Short: "Download every recording not already in DIR, verifying each",
		Long: `Download every available recording into DIR under its name, skipping those
whose content is already there, and check each file's SHA-256 before it takes its
place. A different file under the same name is never overwritten: the recording
is saved as "NAME (ID).ext" instead.

The older form "restore ID..." (recording ids) still brings recordings back from
the trash; it is "trash restore ID..." now.`,
		Example: "  recorder restore ~/Recordings",
		Args:    args(1, -1),
		RunE: func(_ *cobra.Command, a []string) error {
			if allIDs(a) {
				return e.untrash(a)
			}
			if len(a) > 1 {
				return usageError("restore takes one folder")
			}
			return e.restoreDir(a[0], jobs)
		},
	}
	c.Flags().IntVarP(&jobs, "jobs", "j", defaultJobs, "files downloaded at once")
	return c
}

// allIDs: every argument is a recording id (a ULID) and none names an
// existing folder.
func allIDs(a []string) bool {
	for _, s := range a {
		if st, err := os.Stat(s); err == nil && st.IsDir() {
			return false
		}
		if len(s) != 26 || strings.ToUpper(s) != s || strings.ContainsAny(s, "ILOU/\\.") {
			return false
		}
	}
	return true
}

func (e *env) restoreDir(dir string, jobs int) error {
	if jobs < 1 {
		return usageError("--jobs must be at least 1")
	}
	if err := e.needSession(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	items, err := e.list("available", 0, true)
	if err != nil {
		return err
	}
	// Targets are chosen one by one, before any download, so two
	// recordings with the same name never race for one file.
	type job struct {
		rec    recordingDoc
		target string
	}
	var todo []job
	var results []outcome
	claimed := map[string]bool{}
	for _, r := range items {
		if !validID(r.ID) {
			results = append(results, outcome{path: safeName(r.FileName), err: fmt.Errorf("the server sent an invalid id %q; skipped", r.ID)})
			continue
		}
		target, there, err := chooseTarget(dir, r, claimed)
		switch {
		case err != nil:
			results = append(results, outcome{path: r.FileName, err: err})
		case there:
			results = append(results, outcome{path: target, note: "already there"})
		default:
			claimed[target] = true
			todo = append(todo, job{rec: r, target: target})
		}
	}
	var total int64
	for _, j := range todo {
		total += j.rec.SizeBytes
	}
	e.overall = e.newOverall(total, "restore")
	done := make([]outcome, len(todo))
	e.parallel(len(todo), jobs, func(i int) {
		j := todo[i]
		err := retrying(e.ctx, func() error {
			rec, err := e.freshDownload(j.rec)
			if err != nil {
				return err
			}
			return e.download(rec, &j.target)
		})
		if err == nil {
			// The access time is left as it is (a zero time.Time).
			_ = os.Chtimes(j.target, time.Time{}, recordingDate(j.rec))
		}
		done[i] = outcome{path: j.target, note: "downloaded " + j.rec.ID, err: err}
	})
	if e.overall != nil {
		_ = e.overall.Finish()
	}
	results = append(results, done...)
	downloaded, already, failed := 0, 0, 0
	var last error
	for _, r := range results {
		switch {
		case r.err != nil:
			failed++
			last = r.err
			fmt.Fprintf(e.stdout, "failed      %s: %v\n", r.path, r.err)
		case r.note == "already there":
			already++
		default:
			downloaded++
			fmt.Fprintf(e.stdout, "downloaded  %s\n", r.path)
		}
	}
	fmt.Fprintf(e.stdout, "restore into %s: %d downloaded, %d already there, %d failed\n", dir, downloaded, already, failed)
	if failed > 0 {
		return &batchError{n: failed, of: len(items), verb: "restored", last: last}
	}
	return nil
}

// chooseTarget picks where rec goes in dir: its name made safe, or
// "NAME (ID).ext" when a different file holds the name. rec.ID must be
// valid. there reports that a file with
// its content is already in one of those places.
func chooseTarget(dir string, rec recordingDoc, claimed map[string]bool) (target string, there bool, err error) {
	name := safeName(rec.FileName)
	var candidates []string
	for _, n := range []string{name, withID(name, rec.ID)} {
		c, err := inFolder(dir, n)
		if err != nil {
			return "", false, err
		}
		candidates = append(candidates, c)
	}
	for _, c := range candidates {
		if claimed[c] {
			continue
		}
		same, exists, err := sameContent(c, rec)
		if err != nil {
			return "", false, err
		}
		if !exists {
			return c, false, nil
		}
		if same {
			return c, true, nil
		}
	}
	return "", false, fmt.Errorf("%s and %s hold other files; not overwritten", candidates[0], filepath.Base(candidates[1]))
}

// sameContent compares a local file with a recording: by the digest storage
// verified (see verifiedDigest), or by size alone for a recording that has
// none.
func sameContent(path string, rec recordingDoc) (same, exists bool, err error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, false, nil
	}
	if err != nil {
		return false, true, err
	}
	if !st.Mode().IsRegular() || st.Size() != rec.SizeBytes {
		return false, true, nil
	}
	switch {
	case rec.PartsSHA256 != "":
		sum, err := fileComposite(path, rec.PartSize)
		return sum == rec.PartsSHA256, true, err
	case rec.SHA256 != "":
		sum, err := hashFile(path)
		return sum == rec.SHA256, true, err
	}
	return true, true, nil
}

// freshDownload returns rec with a download URL that has time left: the
// one the listing signed, or a new one from GET /v1/recordings/{id} (a
// large restore can outlast the listing's URLs).
func (e *env) freshDownload(rec recordingDoc) (recordingDoc, error) {
	if rec.Download != nil && time.Until(rec.Download.ExpiresAt) > time.Minute {
		return rec, nil
	}
	var got recordingDoc
	err := e.api.call(e.ctx, http.MethodGet, "/v1/recordings/"+url.PathEscape(rec.ID), nil, nil, &got)
	if err != nil {
		return rec, notFoundAs(err, rec.ID)
	}
	if got.Download == nil {
		return rec, fmt.Errorf("%s is %s now, nothing to download", rec.ID, got.Status)
	}
	return got, nil
}
