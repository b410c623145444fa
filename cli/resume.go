package cli

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
		API: e.api.Base(), UserID: e.config.UserID}
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
