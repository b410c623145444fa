package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicerec/backend/client"
)

type restoreOptions struct {
	dir  string
	jobs int
}

func newRestoreCommand(e *env) *cobra.Command {
	var o restoreOptions
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
		RunE: func(cmd *cobra.Command, a []string) error {
			if allIDs(a) {
				return runUntrash(cmd.Context(), e, a)
			}
			if len(a) > 1 {
				return usageError("restore takes one folder")
			}
			o.dir = a[0]
			return runRestore(cmd.Context(), e, o)
		},
	}
	c.Flags().IntVarP(&o.jobs, "jobs", "j", defaultJobs, "files downloaded at once")
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

func runRestore(ctx context.Context, e *env, o restoreOptions) error {
	dir, jobs := o.dir, o.jobs
	if jobs < 1 {
		return usageError("--jobs must be at least 1")
	}
	if err := e.needSession(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	items, err := e.list(ctx, "available", 0, true)
	if err != nil {
		return err
	}
	// Targets are chosen one by one, before any download, so two
	// recordings with the same name never race for one file.
	type job struct {
		rec    client.Recording
		target string
	}
	var todo []job
	var results []outcome
	claimed := map[string]bool{}
	for _, r := range items {
		if !client.ValidID(r.ID) {
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
	parallel(ctx, len(todo), jobs, func(i int) {
		j := todo[i]
		err := e.api.Retry(ctx, func() error {
			rec, err := freshDownload(ctx, e, j.rec)
			if err != nil {
				return err
			}
			return download(ctx, e, rec, &j.target)
		})
		if err == nil {
			// The access time is left as it is (a zero time.Time).
			_ = os.Chtimes(j.target, time.Time{}, j.rec.Date())
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
func chooseTarget(dir string, rec client.Recording, claimed map[string]bool) (target string, there bool, err error) {
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
// verified (see Recording.VerifiedDigest), or by size alone for a recording that has
// none.
func sameContent(path string, rec client.Recording) (same, exists bool, err error) {
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
func freshDownload(ctx context.Context, e *env, rec client.Recording) (client.Recording, error) {
	if rec.Download != nil && time.Until(rec.Download.ExpiresAt) > time.Minute {
		return rec, nil
	}
	// Tried once: the caller retries this step and the download together.
	got, err := e.api.GetRecording(client.Once(ctx), rec.ID)
	if err != nil {
		return rec, notFoundAs(err, rec.ID)
	}
	if got.Download == nil {
		return rec, fmt.Errorf("%s is %s now, nothing to download", rec.ID, got.Status)
	}
	return got, nil
}
