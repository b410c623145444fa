package artefact

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"

	"github.com/voicerec/backend/client"
	"github.com/voicerec/backend/internal/testenv/testaudio"
)

// feedPage is GET /v1/changes's answer, as much as the step reads.
type feedPage struct {
	Changes []struct {
		Op        string            `json:"op"`
		ID        string            `json:"id"`
		Recording *client.Recording `json:"recording"`
	} `json:"changes"`
	Cursor  string `json:"cursor"`
	HasMore bool   `json:"has_more"`
}

// stepChanges follows the change feed from its newest cursor across a
// rename, and asks the backup ledger about an upload whose digest storage
// verified.
func stepChanges(t *testing.T, f *flow) {
	ctx := context.Background()
	var latest feedPage
	decodeInto(t, f.do(t, ctx, http.MethodGet, "/v1/changes?from=latest", f.session.AccessToken, nil, nil), http.StatusOK, &latest)
	name := "회의 녹음 🎙 (2).wav"
	if _, err := f.user.RenameRecording(ctx, f.single.ID, name); err != nil {
		t.Fatalf("rename: %v", err)
	}
	var page feedPage
	decodeInto(t, f.do(t, ctx, http.MethodGet, "/v1/changes?cursor="+url.QueryEscape(latest.Cursor)+"&wait=5s", f.session.AccessToken, nil, nil), http.StatusOK, &page)
	if len(page.Changes) != 1 || page.Changes[0].Op != "upsert" || page.Changes[0].ID != f.single.ID ||
		page.Changes[0].Recording == nil || page.Changes[0].Recording.FileName != name {
		t.Fatalf("the feed after the rename: %+v; want one upsert of %s named %q", page, f.single.ID, name)
	}

	body := testaudio.Body("audio/wav", 5000, 'l')
	sum := sha256.Sum256(body)
	digest := base64.StdEncoding.EncodeToString(sum[:])
	created, err := f.user.CreateRecording(ctx, client.CreateRecordingRequest{FileName: "backed up.wav", ContentType: "audio/wav", SizeBytes: int64(len(body)), SHA256: digest}, "")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := f.user.PutPresigned(ctx, created.Upload.URL, created.Upload.Headers, bytes.NewReader(body), int64(len(body)), ""); err != nil {
		t.Fatalf("PUT: %v", err)
	}
	if _, err := f.user.Complete(ctx, created.Recording.ID, nil); err != nil {
		t.Fatalf("complete: %v", err)
	}
	// The ledger's index is eventually consistent.
	waitFor(t, "the ledger to hold "+created.Recording.ID, func() bool {
		res, _, err := f.user.Lookup(ctx, []string{digest})
		if err != nil {
			t.Fatalf("lookup: %v", err)
		}
		return len(res) == 1 && len(res[0].Recordings) == 1 && res[0].Recordings[0].ID == created.Recording.ID
	})
}
