package cli

import (
	"strings"
	"testing"
	"time"
)

// rm says what the server did: the outcome of DELETE /v1/recordings/{id}
// (200 with a body), or, from a server that answers 204, what was asked.
func TestRemoveSaysWhatHappened(t *testing.T) {
	const id = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
	purgeAt := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	until := purgeAt.Local().Format("2006-01-02 15:04")
	inTrash := map[string]any{"id": id, "file_name": "a.wav", "status": "deleted", "purge_at": purgeAt}
	for _, tc := range []struct {
		name   string
		status int
		body   any
		purge  bool
		want   string
	}{
		{"trashed", 200, map[string]any{"outcome": "trashed", "recording": inTrash}, false,
			id + ": moved to the trash (restorable until " + until + ")"},
		{"already in the trash", 200, map[string]any{"outcome": "already_in_trash", "recording": inTrash}, false,
			id + ": already in the trash (restorable until " + until + ")"},
		{"deleted", 200, map[string]any{"outcome": "deleted"}, true, id + ": deleted for good"},
		{"the outcome over the flag", 200, map[string]any{"outcome": "deleted"}, false, id + ": deleted for good"},
		{"old server", 204, nil, false, id + ": moved to the trash"},
		{"old server, purge", 204, nil, true, id + ": deleted for good"},
		{"an outcome this CLI does not know", 200, map[string]any{"outcome": "vaporised\x1b[2J"}, false,
			id + `: the server answered "vaporised\x1b[2J"`},
		{"trashed, no date", 200, map[string]any{"outcome": "trashed", "recording": map[string]any{"id": id}}, false,
			id + ": moved to the trash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.deleteStatus, f.deleteBody = tc.status, tc.body
			args := []string{"rm", id}
			if tc.purge {
				args = append(args, "--purge")
			}
			_, errs, code := invocation(t, f.srv.URL, args...)
			if code != ExitOK || strings.TrimSpace(errs) != tc.want {
				t.Errorf("exit %d, stderr %q; want %q", code, errs, tc.want)
			}
			if q := f.lastDelete; (q == "purge=true") != tc.purge {
				t.Errorf("DELETE query %q with --purge %v", q, tc.purge)
			}
		})
	}
}
