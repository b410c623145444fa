package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicerec/backend/client"
)

type uploadOptions struct {
	files []string
	wait  time.Duration
	again bool
}

func newUploadCommand(e *env) *cobra.Command {
	var o uploadOptions
	c := &cobra.Command{
		Use:   "upload FILE...",
		Short: "Upload recordings; prints NAME, ID and STATUS for each file once confirmed",
		Long: `Upload recordings, one after the other, each streamed from disk. An interrupted
upload resumes when the same command runs again. For a whole folder, use backup.`,
		Args: args(1, -1),
		RunE: func(cmd *cobra.Command, files []string) error {
			o.files = files
			return runUpload(cmd.Context(), e, o)
		},
	}
	c.Flags().DurationVar(&o.wait, "wait", 2*time.Minute, "how long to wait for each upload to be confirmed")
	c.Flags().BoolVar(&o.again, "again", false, "upload even content already backed up (a second recording of it)")
	return c
}

func runUpload(ctx context.Context, e *env, o uploadOptions) error {
	if err := e.needSession(); err != nil {
		return err
	}
	d := dedup{e: e, off: o.again}
	if len(o.files) == 1 {
		rec, err := d.upload(ctx, o.files[0], o.wait)
		if err != nil {
			return fmt.Errorf("%s: %w", o.files[0], err)
		}
		return e.printTable([]string{"NAME", "ID", "STATUS"}, [][]string{{o.files[0], rec.ID, rec.Status}})
	}
	var rows [][]string
	failed := 0
	var lastErr error
	for _, path := range o.files {
		rec, err := d.upload(ctx, path, o.wait)
		if err != nil {
			failed++
			lastErr = err
			fmt.Fprintf(e.stderr, "recorder upload: %s: %v\n", path, err)
			id := rec.ID
			if id == "" {
				id = "-"
			}
			rows = append(rows, []string{path, id, "failed"})
			continue
		}
		rows = append(rows, []string{path, rec.ID, rec.Status})
	}
	if err := e.printTable([]string{"NAME", "ID", "STATUS"}, rows); err != nil {
		return err
	}
	if failed > 0 {
		return &batchError{n: failed, of: len(o.files), verb: "uploaded", last: lastErr}
	}
	return nil
}

// dedup keeps upload from making a second recording of content already
// stored, matched as backup matches it. The account is listed once per run,
// and only when a file is about to be uploaded.
type dedup struct {
	e    *env
	off  bool // --again
	have *stored
}

// upload uploads path unless its content is already an available
// recording, which it then returns, saying so on stderr.
func (d *dedup) upload(ctx context.Context, path string, wait time.Duration) (client.Recording, error) {
	if d.off {
		return uploadFile(ctx, d.e, path, "", wait)
	}
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() || st.Size() == 0 {
		// uploadFile says what is wrong with it.
		return uploadFile(ctx, d.e, path, "", wait)
	}
	digest, err := hashFile(path)
	if err != nil {
		return client.Recording{}, err
	}
	if d.have == nil {
		remote, err := d.e.list(ctx, "available", 0, false)
		if err != nil {
			return client.Recording{}, err
		}
		s := indexStored(remote)
		d.have = &s
	}
	keys, err := d.have.keys(path, st.Size(), digest)
	if err != nil {
		return client.Recording{}, err
	}
	if r, ok := d.have.match(keys); ok && r.Status == "available" {
		fmt.Fprintf(d.e.stderr, "recorder upload: %s: already backed up as %s (--again uploads it anyway)\n", path, r.ID)
		return r, nil
	}
	return uploadFile(ctx, d.e, path, digest, wait)
}

var errEmpty = errors.New("the file is empty; there is nothing to upload")

// uploadFile uploads one file and waits for its confirmation. digest is
// the file's base64 SHA-256 when the caller already computed it. The
// returned recording has its id whenever the API created one, even on
// failure.
func uploadFile(ctx context.Context, e *env, path, digest string, wait time.Duration) (rec client.Recording, err error) {
	f, err := os.Open(path)
	if err != nil {
		return rec, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return rec, err
	}
	if !st.Mode().IsRegular() {
		return rec, errors.New("not a regular file")
	}
	if st.Size() == 0 {
		return rec, errEmpty
	}
	ctype, err := detectType(path, f)
	if err != nil {
		return rec, err
	}
	// The digest is signed into the upload URL: storage itself refuses a
	// body that changed on disk or on the way.
	if digest == "" {
		if digest, err = client.SHA256(f, st.Size()); err != nil {
			return rec, err
		}
	}
	// One key for every attempt of this file, in this run and in the next
	// one after an interruption (see resumeState).
	state, err := e.resumeState(path, st, digest)
	if err != nil {
		// No place for the state (no home, a read-only disk): upload all
		// the same, without resuming.
		fmt.Fprintf(e.stderr, "recorder: %s cannot be resumed if interrupted: %v\n", filepath.Base(path), err)
		state, err = newUploadState(), nil
	}
	defer func() {
		if !client.KeepFor(err) {
			state.forget()
		}
	}()
	name := filepath.Base(path)
	u := client.FileUpload{
		File:           f,
		Declare:        client.CreateRecordingRequest{FileName: name, ContentType: ctype, SizeBytes: st.Size(), SHA256: digest},
		IdempotencyKey: state.IdempotencyKey,
		Wait:           wait,
		Progress:       func() client.Progress { return e.newBar(st.Size(), name) },
		Resumed: func(stored, count int) {
			fmt.Fprintf(e.stderr, "recorder upload: resuming %s: %d of %d parts already stored\n", name, stored, count)
		},
	}
	if at, ok := recordedAt(st.ModTime(), time.Now()); ok {
		u.Declare.RecordedAt = &at
	}
	rec, err = e.api.Upload(ctx, u)
	return rec, explainQuota(ctx, e, err, st.Size())
}

// explainQuota turns a quota refusal into the numbers a person can act on,
// read from /v1/me, in human units.
func explainQuota(ctx context.Context, e *env, err error, size int64) error {
	if !client.IsCode(err, "quota_exceeded") {
		return err
	}
	u, merr := e.api.Me(ctx)
	if merr != nil {
		return err
	}
	q := u.Quota
	switch {
	case q.BytesLimit > 0 && q.BytesUsed+q.BytesReserved+size > q.BytesLimit:
		return fmt.Errorf("quota full: %s used and %s reserved for uploads in progress, of %s; this file needs %s (free space with `recorder rm --purge` or empty the trash)",
			humanBytes(q.BytesUsed), humanBytes(q.BytesReserved), humanBytes(q.BytesLimit), humanBytes(size))
	case q.UploadsInFlightLimit > 0 && q.UploadsInFlight >= q.UploadsInFlightLimit:
		return fmt.Errorf("too many uploads in progress: %d of at most %d; let them finish or wait for the unfinished ones to expire", q.UploadsInFlight, q.UploadsInFlightLimit)
	case q.RecordingsLimit > 0 && u.RecordingCount >= q.RecordingsLimit:
		return fmt.Errorf("recording limit reached: %d of %d recordings", u.RecordingCount, q.RecordingsLimit)
	}
	return err
}

// Modification times the API takes as recorded_at: from 1970 to two days
// ahead of its clock. One day ahead of ours leaves a day for the two clocks
// to disagree.
var (
	minRecordedAt    = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxRecordedAhead = 24 * time.Hour
)

// recordedAt is the recorded_at to declare for a file modified at mtime,
// or false when there is none worth sending: a date outside the API's
// range is a broken clock or a file system's placeholder, and a made-up
// date (clamped to a bound) would be worse than the creation time the
// server falls back to.
func recordedAt(mtime, now time.Time) (time.Time, bool) {
	if mtime.Before(minRecordedAt) || mtime.After(now.Add(maxRecordedAhead)) {
		return time.Time{}, false
	}
	return mtime.UTC(), true
}
