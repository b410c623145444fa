package api_test

import (
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

type lookupJSON struct {
	Results []struct {
		SHA256     string `json:"sha256"`
		Recordings []struct {
			ID       string `json:"id"`
			Status   string `json:"status"`
			FileName string `json:"file_name"`
		} `json:"recordings"`
	} `json:"results"`
}

func digestOf(body []byte) string {
	sum := sha256.Sum256(body)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// uploadDeclared uploads body with its sha256 declared, so storage
// verifies it, and waits until it is available.
func (c *client) uploadDeclared(name string, body []byte) recordingJSON {
	c.t.Helper()
	r := c.do("POST", "/v1/recordings", map[string]any{"file_name": name, "content_type": "audio/mp4", "size_bytes": len(body), "sha256": digestOf(body)})
	wantStatus(c.t, r, 201)
	var up createJSON
	r.decode(c.t, &up)
	putBytes(c.t, up, body)
	return c.waitAvailable(up.Recording.ID)
}

// lookup asks the ledger until want digests are found (the index is
// eventually consistent) or a few seconds pass.
func (c *client) lookup(digests []string, wantFound int) lookupJSON {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := c.do("POST", "/v1/recordings/lookup", map[string]any{"sha256": digests})
		wantStatus(c.t, r, 200)
		var out lookupJSON
		r.decode(c.t, &out)
		found := 0
		for _, e := range out.Results {
			if len(e.Recordings) > 0 {
				found++
			}
		}
		if found >= wantFound || time.Now().After(deadline) {
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLedgerFindsOnlyVerifiedContentOfTheCaller(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	alice, _ := login(t, s, "ledger-alice")
	bob, _ := login(t, s, "ledger-bob")

	stored := audioBytes("audio/mp4", 6000)
	rec := alice.uploadDeclared("kept.m4a", stored)
	// Declared but never uploaded: a digest the server only heard of.
	declared := audioBytes("audio/mp4", 7000)
	wantStatus(t, alice.do("POST", "/v1/recordings", map[string]any{
		"file_name": "pending.m4a", "content_type": "audio/mp4", "size_bytes": len(declared), "sha256": digestOf(declared)}), 201)
	// Bob stores content of his own, and the same content as Alice.
	bobOnly := audioBytes("audio/mp4", 8000)
	bob.uploadDeclared("bob.m4a", bobOnly)
	bobCopy := bob.uploadDeclared("copy.m4a", stored)

	got := alice.lookup([]string{digestOf(stored), digestOf(declared), digestOf(bobOnly)}, 1)
	if len(got.Results) != 3 {
		t.Fatalf("results: %+v", got)
	}
	if rs := got.Results[0].Recordings; len(rs) != 1 || rs[0].ID != rec.ID || rs[0].Status != "available" || rs[0].FileName != "kept.m4a" {
		t.Fatalf("stored content: %+v", got.Results[0])
	}
	if len(got.Results[1].Recordings) != 0 {
		t.Fatalf("a declared, unverified digest was found: %+v", got.Results[1])
	}
	if len(got.Results[2].Recordings) != 0 {
		t.Fatalf("another user's recording was revealed: %+v", got.Results[2])
	}
	if rs := bob.lookup([]string{digestOf(stored)}, 1).Results[0].Recordings; len(rs) != 1 || rs[0].ID != bobCopy.ID {
		t.Fatalf("bob's copy: %+v", rs)
	}

	// In the trash it is still held; purged, it is not.
	wantStatus(t, alice.do("DELETE", "/v1/recordings/"+rec.ID, nil), 200)
	if rs := alice.lookup([]string{digestOf(stored)}, 1).Results[0].Recordings; len(rs) != 1 || rs[0].Status != "deleted" {
		t.Fatalf("trashed: %+v", rs)
	}
	wantStatus(t, alice.do("DELETE", "/v1/recordings/"+rec.ID+"?purge=true", nil), 200)
	time.Sleep(300 * time.Millisecond)
	if rs := alice.lookup([]string{digestOf(stored)}, 0).Results[0].Recordings; len(rs) != 0 {
		t.Fatalf("purged: %+v", rs)
	}

	many := make([]string, 101)
	for i := range many {
		many[i] = digestOf([]byte{byte(i)})
	}
	wantProblem(t, alice.do("POST", "/v1/recordings/lookup", map[string]any{"sha256": many}), 400, "validation_failed")
	wantProblem(t, alice.do("POST", "/v1/recordings/lookup", map[string]any{"sha256": []string{}}), 400, "validation_failed")
	wantProblem(t, alice.do("POST", "/v1/recordings/lookup", map[string]any{"sha256": []string{"abc"}}), 400, "validation_failed")
}
