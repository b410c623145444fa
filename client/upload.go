package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Progress hears how a transfer moves; the CLI draws a bar with it. A
// Progress may be told from several goroutines at once (parts go in
// parallel).
type Progress interface {
	// Add counts n more bytes done: sent, or found already stored.
	Add(n int64)
	// Reset voids what was added: the transfer starts over.
	Reset()
	// Finish ends the transfer, done or not.
	Finish(ok bool)
}

type noProgress struct{}

func (noProgress) Add(int64)   {}
func (noProgress) Reset()      {}
func (noProgress) Finish(bool) {}

// progressWriter counts bytes written as progress, so a body can be teed
// into it.
type progressWriter struct{ p Progress }

func (w progressWriter) Write(b []byte) (int, error) {
	w.p.Add(int64(len(b)))
	return len(b), nil
}

// FileUpload is one file to upload and how.
type FileUpload struct {
	// File holds the audio; it is read as it is sent, so memory stays
	// flat whatever its size.
	File io.ReaderAt
	// Declare is the create; its SizeBytes is how much of File is sent,
	// and its SHA256 (the whole file's) must be set.
	Declare CreateRecordingRequest
	// IdempotencyKey is the same for every attempt of this file, in this
	// run and in the next one after an interruption: the replayed create
	// answers the same recording (and multipart upload), and the parts
	// storage already holds are not sent again.
	IdempotencyKey string
	// Wait bounds the wait for the upload's confirmation.
	Wait time.Duration
	// Progress, when set, makes the Progress of the transfer once it starts.
	Progress func() Progress
	// Resumed, when set, hears that a multipart upload found stored of
	// its count parts already in storage.
	Resumed func(stored, count int)
}

// PartWorkers is how many parts are sent at once.
const PartWorkers = 4

// Upload declares the file, sends it and waits until the API confirmed
// it (available), and returns the recording. The recording has its id
// whenever the API created one, even on failure. A recording the server
// refused ends in a *RejectedError.
func (c *Client) Upload(ctx context.Context, u FileUpload) (rec Recording, err error) {
	if u.Progress == nil {
		u.Progress = func() Progress { return noProgress{} }
	}
	size := u.Declare.SizeBytes
	var created Created
	create := func() (err error) {
		created, err = c.CreateRecording(ctx, u.Declare, u.IdempotencyKey)
		return err
	}
	if err = create(); err != nil {
		return rec, err
	}
	rec = created.Recording
	if !ValidID(rec.ID) {
		// The id goes into every later request's path.
		err = fmt.Errorf("the server answered an invalid recording id %q", rec.ID)
		rec.ID = ""
		return rec, err
	}
	if created.Upload.Method == "MULTIPART" && created.Recording.Status == "pending" {
		done, err := c.uploadParts(ctx, rec.ID, created.Upload, u)
		if err != nil {
			return rec, err
		}
		return c.settle(ctx, rec, done, u.Wait)
	}
	if created.Upload.URL == "" {
		// A replay of a recording already uploaded, or whose window is over.
		if rec.Status == "available" {
			return rec, nil
		}
		if rec.Status == "rejected" {
			return rec, &RejectedError{rec}
		}
		return rec, fmt.Errorf("the upload window of recording %s is over; upload the file again", rec.ID)
	}
	bar := u.Progress()
	for n := 1; ; n++ {
		bar.Reset()
		body := io.TeeReader(io.NewSectionReader(u.File, 0, size), progressWriter{bar})
		err = c.PutPresigned(ctx, created.Upload.URL, created.Upload.Headers, body, size, "")
		if err == nil {
			break
		}
		expired := IsStatus(err, http.StatusForbidden) && time.Now().After(created.Upload.ExpiresAt.Add(-time.Minute))
		if n == MaxAttempts || !(Transient(err) || expired) {
			bar.Finish(false)
			return rec, err
		}
		if expired {
			if err = create(); err != nil { // a fresh URL for the same recording
				bar.Finish(false)
				return rec, err
			}
			if created.Upload.URL == "" {
				bar.Finish(false)
				return rec, fmt.Errorf("the upload window of recording %s is over; upload the file again", rec.ID)
			}
		}
		if err = sleep(ctx, retryDelay(err, n)); err != nil {
			return rec, err
		}
	}
	bar.Finish(true)
	// Complete has the server check the upload now instead of when the
	// storage event comes. Any failure (an older server refuses a single
	// PUT's complete with a conflict) leaves the event to confirm it.
	done, err := c.Complete(ctx, rec.ID, nil)
	if err != nil {
		return c.waitConfirmed(ctx, rec, u.Wait)
	}
	return c.settle(ctx, rec, done, u.Wait)
}

// settle returns the recording complete answered once it is final, and
// polls only while it is still pending.
func (c *Client) settle(ctx context.Context, rec, done Recording, wait time.Duration) (Recording, error) {
	switch done.Status {
	case "available":
		return done, nil
	case "rejected":
		return done, &RejectedError{done}
	}
	return c.waitConfirmed(ctx, rec, wait)
}

// RejectedError is an upload the server refused after reading it.
type RejectedError struct{ Recording Recording }

func (e *RejectedError) Error() string {
	rec := e.Recording
	reason := rec.RejectReason
	if rec.RejectDetail != "" {
		reason += ": " + rec.RejectDetail
	}
	if rec.RejectReason == "not_audio" || strings.Contains(rec.RejectReason, "audio") {
		return fmt.Sprintf("not audio: the server could not read %s as audio (%s)", rec.FileName, reason)
	}
	return "refused by the server: " + reason
}

// waitConfirmed polls until the events handler has confirmed the upload.
func (c *Client) waitConfirmed(ctx context.Context, rec Recording, wait time.Duration) (Recording, error) {
	deadline := time.Now().Add(wait)
	delay := 100 * time.Millisecond
	for {
		// This loop is the retry: a transient failure is polled again.
		got, err := c.GetRecording(Once(ctx), rec.ID)
		switch {
		case err == nil && got.Status == "available":
			return got, nil
		case err == nil && got.Status == "rejected":
			return got, &RejectedError{got}
		case err != nil && !Transient(err):
			return rec, err
		}
		if time.Now().After(deadline) {
			return rec, fmt.Errorf("%s uploaded but not confirmed within %s; check later with `recorder ls --status pending`", rec.ID, wait)
		}
		if err := sleep(ctx, delay); err != nil {
			return rec, err
		}
		delay = min(delay*2, time.Second)
	}
}

// uploadParts sends the parts storage does not hold yet, up to
// PartWorkers at once, each streamed from the file under a URL that signs
// its SHA-256, then completes the upload. It returns the recording as
// complete answered it.
func (c *Client) uploadParts(ctx context.Context, id string, up Signed, u FileUpload) (Recording, error) {
	size := u.Declare.SizeBytes
	count := up.PartCount
	if up.PartSize < 1 || int64(count) != (size+up.PartSize-1)/up.PartSize {
		return Recording{}, fmt.Errorf("the server answered %d parts of %d bytes for a file of %d bytes", count, up.PartSize, size)
	}
	partLen := func(n int) int64 {
		if n < count {
			return up.PartSize
		}
		return size - int64(count-1)*up.PartSize
	}
	// Storage checks every part against the digest its URL signs, so each
	// is hashed before it is sent: one more read of the file.
	digests, err := PartDigests(u.File, size, up.PartSize)
	if err != nil {
		return Recording{}, err
	}
	stored, err := c.storedParts(ctx, id)
	if IsCode(err, "conflict") {
		// Completed by an earlier run that was stopped before it saw the
		// answer: only the confirmation is left to wait for.
		return Recording{ID: id, Status: "pending"}, nil
	}
	if err != nil {
		return Recording{}, err
	}
	bar := u.Progress()
	var todo []int
	var resumed int64
	for n := 1; n <= count; n++ {
		if p, ok := stored[n]; ok && p.SizeBytes == partLen(n) && p.SHA256 == digests[n-1] {
			resumed += p.SizeBytes
			continue
		}
		todo = append(todo, n)
	}
	if resumed > 0 {
		if u.Resumed != nil {
			u.Resumed(count-len(todo), count)
		}
		bar.Add(resumed)
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range min(PartWorkers, len(todo)) {
		wg.Go(func() {
			for n := range jobs {
				if err := c.sendPart(pctx, id, n, digests[n-1], int64(n-1)*up.PartSize, partLen(n), u.File); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
				bar.Add(partLen(n))
			}
		})
	}
feed:
	for _, n := range todo {
		select {
		case jobs <- n:
		case <-pctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		bar.Finish(false)
		return Recording{}, firstErr
	}
	// Storage's own list, not what this run saw, is what gets completed.
	if stored, err = c.storedParts(ctx, id); err != nil {
		bar.Finish(false)
		return Recording{}, err
	}
	parts := make([]CompletedPart, 0, count)
	for n := 1; n <= count; n++ {
		p, ok := stored[n]
		if !ok || p.SizeBytes != partLen(n) || p.SHA256 != digests[n-1] {
			bar.Finish(false)
			return Recording{}, fmt.Errorf("part %d is not in storage after its upload", n)
		}
		parts = append(parts, CompletedPart{PartNumber: n, ETag: p.ETag, SHA256: digests[n-1]})
	}
	done, err := c.Complete(ctx, id, parts)
	if err != nil {
		bar.Finish(false)
		return Recording{}, err
	}
	bar.Finish(true)
	return done, nil
}

func (c *Client) storedParts(ctx context.Context, id string) (map[int]StoredPart, error) {
	list, err := c.StoredParts(ctx, id)
	if err != nil {
		return nil, err
	}
	m := make(map[int]StoredPart, len(list))
	for _, p := range list {
		m[p.PartNumber] = p
	}
	return m, nil
}

// sendPart signs part n (of the given digest) and sends it; every attempt
// signs a fresh URL, so one that expired while the machine slept is
// replaced.
func (c *Client) sendPart(ctx context.Context, id string, n int, digest string, off, length int64, f io.ReaderAt) error {
	for attempt := 1; ; attempt++ {
		signed, err := c.SignParts(ctx, id, []PartDigest{{PartNumber: n, SHA256: digest}})
		if err != nil {
			return err
		}
		if len(signed) != 1 {
			return fmt.Errorf("part %d: the API signed %d parts", n, len(signed))
		}
		p := signed[0]
		err = c.PutPresigned(ctx, p.URL, p.Headers, io.NewSectionReader(f, off, length), length, " part "+strconv.Itoa(p.PartNumber))
		if err == nil {
			return nil
		}
		refused := IsStatus(err, http.StatusForbidden) // expired, most likely
		if attempt == MaxAttempts || ctx.Err() != nil || !(Transient(err) || refused) {
			return fmt.Errorf("part %d: %w", n, err)
		}
		if err := sleep(ctx, retryDelay(err, attempt)); err != nil {
			return err
		}
	}
}

// KeepFor reports whether an upload that ended with err may be resumed
// later: it was interrupted (Ctrl-C, a network failure, a server that went
// silent), not refused.
func KeepFor(err error) bool {
	var ue *UnreachableError
	var te *TimeoutError
	return err != nil && (errors.Is(err, context.Canceled) || Transient(err) || errors.As(err, &ue) || errors.As(err, &te))
}
