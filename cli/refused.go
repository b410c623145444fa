package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// refusedContent remembers the digests of content the server refused that
// backup has already reported, so a nightly run reports a refusal once and
// then exits 0 when nothing new failed. It lives beside the upload state:
// $XDG_STATE_HOME/recorder/refused.json.
type refusedContent struct {
	path    string
	digests map[string]string // digest -> the rejected recording's id
}

func loadRefused(getenv func(string) string) (*refusedContent, error) {
	r := &refusedContent{digests: map[string]string{}}
	dir, err := stateDir(getenv)
	if err != nil {
		return r, err // kept in memory only, for this run
	}
	r.path = filepath.Join(filepath.Dir(dir), "refused.json")
	raw, err := os.ReadFile(r.path)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(raw, &r.digests); err != nil {
		// A damaged memory only costs a refusal reported once more.
		r.digests = map[string]string{}
	}
	return r, nil
}

// save writes the file atomically: a crash leaves the old memory whole.
func (r *refusedContent) save() error {
	if err := saveJSON(r.path, r.digests); err != nil {
		return fmt.Errorf("remember refused content: %w", err)
	}
	return nil
}
