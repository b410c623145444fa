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

// Config is what login leaves behind: where the API is and the session.
type Config struct {
	API       string    `json:"api"`
	Token     string    `json:"token,omitempty"`
	UserID    string    `json:"user_id,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// RefreshToken renews Token when it expires; each refresh replaces
	// both (the file stays mode 0600).
	RefreshToken     string    `json:"refresh_token,omitempty"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at,omitzero"`
	SessionID        string    `json:"session_id,omitempty"`
}

// configPath is $XDG_CONFIG_HOME/recorder/config.json (os.UserConfigDir
// follows XDG on Linux and the platform's convention elsewhere).
func configPath(getenv func(string) string) (string, error) {
	if p := getenv("RECORDER_CONFIG"); p != "" {
		return p, nil
	}
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		var err error
		if dir, err = os.UserConfigDir(); err != nil {
			return "", fmt.Errorf("no config directory: %w", err)
		}
	}
	return filepath.Join(dir, "recorder", "config.json"), nil
}

func loadConfig(path string) (Config, error) {
	var c Config
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("%s is damaged (%v); run `recorder login` again", path, err)
	}
	return c, nil
}

// saveConfig writes the file readable by its owner only, atomically, so a
// crash never leaves half a token behind.
func saveConfig(path string, c Config) error { return saveJSON(path, c) }

// saveJSON writes v as JSON to path, readable by its owner only, through a
// temporary file renamed over it: a crash or a full disk leaves the old
// file whole, never half of a new one. The CLI keeps all its state this way.
func saveJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
