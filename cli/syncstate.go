package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// syncStateName is the file in a synced folder that remembers where its
// feed was read up to and which local file stands for which recording.
// It is hidden, so backup and sync's own walk pass it over.
const syncStateName = ".recorder-sync.json"

// syncTrashName is the folder where sync puts the local copy of a
// recording deleted elsewhere: a deletion on another device never
// deletes a file here.
const syncTrashName = ".trash"

// syncState is what one synced folder knows of the account.
type syncState struct {
	path string
	// API and User pin the folder to one account: another account's feed
	// applied here would move its files into the trash.
	API    string `json:"api"`
	User   string `json:"user_id"`
	Cursor string `json:"cursor,omitempty"`
	// Files is by recording id.
	Files map[string]syncedFile `json:"files"`
	// Copies are local files left out of the backup, by name: their
	// content is another file's, or a recording's that another file
	// stands for, or is in the trash, or was refused. Kept so that they
	// are not hashed and looked up again on every run while unchanged.
	Copies map[string]syncedFile `json:"copies,omitempty"`
}

// syncedFile is the local copy a recording matched when sync last saw
// it. A file whose size or modification time differ has been changed
// here; until then it is not hashed again.
type syncedFile struct {
	// Name is relative to the folder, slash-separated; under ".trash/"
	// once the recording was deleted elsewhere; empty once the local file
	// was changed into another recording.
	Name   string    `json:"name"`
	Size   int64     `json:"size"`
	MTime  time.Time `json:"mtime"`
	SHA256 string    `json:"sha256"`
}

func loadSyncState(dir string) (*syncState, error) {
	s := &syncState{path: filepath.Join(dir, syncStateName), Files: map[string]syncedFile{}, Copies: map[string]syncedFile{}}
	raw, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, s); err != nil {
		return nil, fmt.Errorf("%s is damaged (%w); move it away to sync the folder from scratch", s.path, err)
	}
	if s.Files == nil {
		s.Files = map[string]syncedFile{}
	}
	if s.Copies == nil {
		s.Copies = map[string]syncedFile{}
	}
	return s, nil
}

// save replaces the state file whole, so an interrupted sync leaves the
// previous state, never half of one.
func (s *syncState) save() error { return saveJSON(s.path, s) }

// matches reports that the file at path is still the one f recorded.
func (f syncedFile) matches(st fs.FileInfo) bool {
	return st.Mode().IsRegular() && st.Size() == f.Size && st.ModTime().Equal(f.MTime)
}
