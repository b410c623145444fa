package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Uploads resume. Before its create, each file gets a state file under
// $XDG_STATE_HOME/recorder/uploads (~/.local/state/recorder/uploads),
// named after the file's absolute path, size and modification time and
// holding its digest and the create's Idempotency-Key. Running the same
// command again after Ctrl-C, a network failure or kill -9 replays that
// create, which answers the same recording (and, for a multipart upload,
// the same upload); the parts storage already holds (GET .../parts) are not
// sent again. The state file goes once the upload is done or can never
// finish.

// uploadState is what a resumed upload needs to find its recording again.
type uploadState struct {
	Path           string `json:"path"`
	Size           int64  `json:"size"`
	ModTimeNS      int64  `json:"mtime_ns"`
	SHA256         string `json:"sha256"`
	API            string `json:"api"`
	UserID         string `json:"user_id"`
	IdempotencyKey string `json:"idempotency_key"`

	file string
}

func stateDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "recorder", "uploads"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory for the upload state: %w", err)
	}
	return filepath.Join(home, ".local", "state", "recorder", "uploads"), nil
}

// resumeState returns the saved state of this file's unfinished upload, or
// a new one (saved before it is used, so a kill right after the create
// still resumes).
func (e *env) resumeState(path string, st os.FileInfo, digest string) (*uploadState, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	dir, err := stateDir(e.getenv)
	if err != nil {
		return nil, err
	}
	want := uploadState{Path: abs, Size: st.Size(), ModTimeNS: st.ModTime().UnixNano(), SHA256: digest,
		API: e.api.base, UserID: e.config.UserID}
	id := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%d", abs, want.Size, want.ModTimeNS)))
	want.file = filepath.Join(dir, hex.EncodeToString(id[:16])+".json")
	if raw, err := os.ReadFile(want.file); err == nil {
		var saved uploadState
		if json.Unmarshal(raw, &saved) == nil && saved.IdempotencyKey != "" && saved.Path == want.Path &&
			saved.Size == want.Size && saved.ModTimeNS == want.ModTimeNS && saved.SHA256 == want.SHA256 &&
			saved.API == want.API && saved.UserID == want.UserID {
			saved.file = want.file
			return &saved, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	want.IdempotencyKey = newUploadState().IdempotencyKey
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(want)
	tmp := want.file + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return nil, err
	}
	return &want, os.Rename(tmp, want.file)
}

// keepFor reports whether an upload that ended with err may be resumed
// later: it was interrupted (Ctrl-C, a network failure, a server that went
// silent), not refused.
func keepFor(err error) bool {
	var ue *unreachableError
	var te *timeoutError
	return err != nil && (errors.Is(err, context.Canceled) || transient(err) || errors.As(err, &ue) || errors.As(err, &te))
}

// newUploadState is a state kept in memory only.
func newUploadState() *uploadState {
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	return &uploadState{IdempotencyKey: hex.EncodeToString(key)}
}

func (s *uploadState) forget() {
	if s.file != "" {
		_ = os.Remove(s.file)
	}
}

// partWorkers is how many parts are sent at once.
const partWorkers = 4

type partDoc struct {
	PartNumber int               `json:"part_number"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers"`
	ExpiresAt  time.Time         `json:"expires_at"`
}

type storedPartDoc struct {
	PartNumber int    `json:"part_number"`
	ETag       string `json:"etag"`
	SizeBytes  int64  `json:"size_bytes"`
	SHA256     string `json:"sha256"`
}

// uploadParts sends the parts storage does not hold yet, up to partWorkers
// at once, each streamed from the file (memory stays flat whatever its
// size) under a URL that signs its SHA-256, then completes the upload. It
// returns the recording as complete answered it.
func (e *env) uploadParts(id string, up signed, f *os.File, size int64, name string) (recordingDoc, error) {
	count := up.PartCount
	if up.PartSize < 1 || int64(count) != (size+up.PartSize-1)/up.PartSize {
		return recordingDoc{}, fmt.Errorf("the server answered %d parts of %d bytes for a file of %d bytes", count, up.PartSize, size)
	}
	partLen := func(n int) int64 {
		if n < count {
			return up.PartSize
		}
		return size - int64(count-1)*up.PartSize
	}
	// Storage checks every part against the digest its URL signs, so each
	// is hashed before it is sent: one more read of the file.
	digests, err := partDigests(f, size, up.PartSize)
	if err != nil {
		return recordingDoc{}, err
	}
	stored, err := e.storedParts(id)
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == "conflict" {
		// Completed by an earlier run that was stopped before it saw the
		// answer: only the confirmation is left to wait for.
		return recordingDoc{ID: id, Status: "pending"}, nil
	}
	if err != nil {
		return recordingDoc{}, err
	}
	bar := e.newBar(size, name)
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
		fmt.Fprintf(e.stderr, "recorder upload: resuming %s: %d of %d parts already stored\n", name, count-len(todo), count)
		bar.add(resumed)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	jobs := make(chan int)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range min(partWorkers, len(todo)) {
		wg.Go(func() {
			for n := range jobs {
				if err := e.sendPart(ctx, id, n, digests[n-1], int64(n-1)*up.PartSize, partLen(n), f); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
				bar.add(partLen(n))
			}
		})
	}
feed:
	for _, n := range todo {
		select {
		case jobs <- n:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr == nil {
		firstErr = e.ctx.Err()
	}
	if firstErr != nil {
		bar.abort()
		return recordingDoc{}, firstErr
	}
	// Storage's own list, not what this run saw, is what gets completed.
	if stored, err = e.storedParts(id); err != nil {
		bar.abort()
		return recordingDoc{}, err
	}
	parts := make([]map[string]any, 0, count)
	for n := 1; n <= count; n++ {
		p, ok := stored[n]
		if !ok || p.SizeBytes != partLen(n) || p.SHA256 != digests[n-1] {
			bar.abort()
			return recordingDoc{}, fmt.Errorf("part %d is not in storage after its upload", n)
		}
		parts = append(parts, map[string]any{"part_number": n, "etag": p.ETag, "sha256": digests[n-1]})
	}
	var done recordingDoc
	err = retrying(e.ctx, func() error {
		return e.api.call(e.ctx, http.MethodPost, "/v1/recordings/"+id+"/complete", nil, map[string]any{"parts": parts}, &done)
	})
	if err != nil {
		bar.abort()
		return recordingDoc{}, err
	}
	bar.done()
	return done, nil
}

func (e *env) storedParts(id string) (map[int]storedPartDoc, error) {
	var out struct {
		Parts []storedPartDoc `json:"parts"`
	}
	err := retrying(e.ctx, func() error {
		return e.api.call(e.ctx, http.MethodGet, "/v1/recordings/"+id+"/parts", nil, nil, &out)
	})
	if err != nil {
		return nil, err
	}
	m := make(map[int]storedPartDoc, len(out.Parts))
	for _, p := range out.Parts {
		m[p.PartNumber] = p
	}
	return m, nil
}

// sendPart signs part n (of the given digest) and sends it; every attempt
// signs a fresh URL, so one that expired while the machine slept is
// replaced.
func (e *env) sendPart(ctx context.Context, id string, n int, digest string, off, length int64, f *os.File) error {
	for attempt := 1; ; attempt++ {
		var signedParts struct {
			Parts []partDoc `json:"parts"`
		}
		err := retrying(ctx, func() error {
			return e.api.call(ctx, http.MethodPost, "/v1/recordings/"+id+"/parts", nil, map[string]any{"parts": []map[string]any{{"part_number": n, "sha256": digest}}}, &signedParts)
		})
		if err != nil {
			return err
		}
		if len(signedParts.Parts) != 1 {
			return fmt.Errorf("part %d: the API signed %d parts", n, len(signedParts.Parts))
		}
		err = e.putPart(ctx, signedParts.Parts[0], f, off, length)
		if err == nil {
			return nil
		}
		var ae *APIError
		refused := errors.As(err, &ae) && ae.Status == http.StatusForbidden // expired, most likely
		if attempt == maxAttempts || ctx.Err() != nil || !(transient(err) || refused) {
			return fmt.Errorf("part %d: %w", n, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retryDelay(err, attempt)):
		}
	}
}

func (e *env) putPart(ctx context.Context, p partDoc, f *os.File, off, length int64) error {
	return e.presignedPUT(ctx, p.URL, p.Headers, io.NewSectionReader(f, off, length), length, " part "+strconv.Itoa(p.PartNumber))
}
