package artefact

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/voicerec/backend/client"
	"github.com/voicerec/backend/internal/testenv/contract"
	"github.com/voicerec/backend/internal/testenv/testaudio"
)

// flow is what the API steps share: one signed-in user and the recordings
// the steps made.
type flow struct {
	*app
	// sub is the user's subject at the dev issuer: another sign-in with it
	// is another session of the same user.
	sub     string
	user    *client.Client
	session client.Session
	// single is an available recording uploaded with one PUT; body is its
	// audio.
	single client.Recording
	body   []byte
}

// apiStep is one row of the API's walk through the deployed artefact. The
// steps run in order, each as a subtest, and share the flow; a route the
// OpenAPI document gains is covered by adding a row here (any step may
// call any route; TestEveryRouteThroughTheArtefact names the missing ones).
type apiStep struct {
	name string
	run  func(t *testing.T, f *flow)
}

var apiSteps = []apiStep{
	{"health, readiness and the document", func(t *testing.T, f *flow) {
		ctx := context.Background()
		for _, path := range []string{"/healthz", "/readyz", "/openapi.yaml"} {
			if e := f.do(t, ctx, http.MethodGet, path, "", nil, nil); e.status != http.StatusOK {
				t.Errorf("GET %s: %d %s", path, e.status, e.body)
			}
		}
	}},
	{"sign in through the dev issuer", func(t *testing.T, f *flow) {
		ctx := context.Background()
		if e := f.do(t, ctx, http.MethodPost, "/v1/auth/nonce", "", nil, nil); e.status != http.StatusOK && e.status != http.StatusCreated {
			t.Errorf("nonce: %d %s", e.status, e.body)
		}
		f.sub = "artefact-" + requestID()
		f.user, f.session = f.signIn(t, f.sub)
		me, err := f.user.Me(ctx)
		if err != nil || me.ID != f.session.User.ID {
			t.Fatalf("me = %+v, %v; want the signed-in user %s", me, err, f.session.User.ID)
		}
	}},
	{"create, PUT to storage, complete through the events function", func(t *testing.T, f *flow) {
		ctx := context.Background()
		f.body = testaudio.Body("audio/wav", 6000, 's')
		before := len(f.d.events.logged("converge request"))
		// API Gateway joins a header sent twice with a comma, and an
		// Idempotency-Key may hold one: it stays one key.
		key := http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {"artefact-1,retry-2"}}
		declare := jsonBody(t, map[string]any{"file_name": "single take.wav", "content_type": "audio/wav", "size_bytes": len(f.body)})
		first := f.do(t, ctx, http.MethodPost, "/v1/recordings", f.session.AccessToken, key, declare)
		again := f.do(t, ctx, http.MethodPost, "/v1/recordings", f.session.AccessToken, key, declare)
		var created, replayed client.Created
		decodeInto(t, first, http.StatusCreated, &created)
		if again.status >= 300 || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("the same Idempotency-Key with a comma again: %d, Idempotent-Replayed %q: %s", again.status, again.header.Get("Idempotent-Replayed"), again.body)
		}
		decodeInto(t, again, again.status, &replayed)
		if replayed.Recording.ID != created.Recording.ID {
			t.Fatalf("replay answered %s, first create %s", replayed.Recording.ID, created.Recording.ID)
		}
		if err := f.user.PutPresigned(ctx, created.Upload.URL, created.Upload.Headers, bytes.NewReader(f.body), int64(len(f.body)), ""); err != nil {
			t.Fatalf("PUT to storage: %v", err)
		}
		rec, err := f.user.Complete(ctx, created.Recording.ID, nil)
		if err != nil || rec.Status != "available" {
			t.Fatalf("complete = %s, %v; want available", rec.Status, err)
		}
		if n := len(f.d.events.logged("converge request")); n != before+1 {
			t.Errorf("the events function logged %d converge requests during the complete; want 1 (EVENTS_FUNCTION_NAME must route the complete there)", n-before)
		}
		f.single = rec
	}},
	{"multipart upload: sign parts, list stored parts, complete", func(t *testing.T, f *flow) {
		ctx := context.Background()
		size := f.d.config.MultipartThresholdBytes + 1
		body := testaudio.Body("audio/wav", int(size), 'm')
		created, err := f.user.CreateRecording(ctx, client.CreateRecordingRequest{FileName: "long take.wav", ContentType: "audio/wav", SizeBytes: size}, "")
		if err != nil || created.Upload.Method != "MULTIPART" {
			t.Fatalf("create of %d bytes = %+v, %v; want a multipart upload", size, created.Upload, err)
		}
		digests, err := client.PartDigests(bytes.NewReader(body), size, created.Upload.PartSize)
		if err != nil {
			t.Fatal(err)
		}
		var ask []client.PartDigest
		for i, d := range digests {
			ask = append(ask, client.PartDigest{PartNumber: i + 1, SHA256: d})
		}
		urls, err := f.user.SignParts(ctx, created.Recording.ID, ask)
		if err != nil || len(urls) != len(digests) {
			t.Fatalf("sign parts = %d urls, %v; want %d", len(urls), err, len(digests))
		}
		for _, u := range urls {
			start := int64(u.PartNumber-1) * created.Upload.PartSize
			end := min(start+created.Upload.PartSize, size)
			if err := f.user.PutPresigned(ctx, u.URL, u.Headers, bytes.NewReader(body[start:end]), end-start, ""); err != nil {
				t.Fatalf("PUT part %d: %v", u.PartNumber, err)
			}
		}
		stored, err := f.user.StoredParts(ctx, created.Recording.ID)
		if err != nil || len(stored) != len(digests) {
			t.Fatalf("stored parts = %+v, %v; want %d", stored, err, len(digests))
		}
		var done []client.CompletedPart
		for i, p := range stored {
			done = append(done, client.CompletedPart{PartNumber: p.PartNumber, ETag: p.ETag, SHA256: digests[i]})
		}
		rec, err := f.user.Complete(ctx, created.Recording.ID, done)
		if err != nil || rec.Status != "available" || rec.SizeBytes != size {
			t.Fatalf("complete = %s (%d bytes), %v; want available, %d bytes", rec.Status, rec.SizeBytes, err, size)
		}
	}},
	{"list: repeated query keys stay apart, downloads signed", func(t *testing.T, f *flow) {
		ctx := context.Background()
		// rawQueryString keeps both values; queryStringParameters would
		// have joined them into one invalid status (validation_failed).
		e := f.do(t, ctx, http.MethodGet, "/v1/recordings?status=all&status=available", f.session.AccessToken, nil, nil)
		if e.status != http.StatusBadRequest || e.problemCode() != "invalid_request" {
			t.Errorf("a repeated query key: %d %s; want 400 invalid_request", e.status, e.problemCode())
		}
		page, err := f.user.ListRecordings(ctx, client.ListOptions{Status: "available", WithDownloads: true})
		if err != nil || len(page.Items) != 2 {
			t.Fatalf("list = %d items, %v; want the two uploads", len(page.Items), err)
		}
		for _, r := range page.Items {
			if r.Download == nil {
				t.Errorf("%s has no download URL", r.ID)
			}
		}
	}},
	{"get and download the same bytes", func(t *testing.T, f *flow) {
		ctx := context.Background()
		rec, err := f.user.GetRecording(ctx, f.single.ID)
		if err != nil || rec.Download == nil {
			t.Fatalf("get = %+v, %v; want a download", rec, err)
		}
		rc, err := f.user.OpenDownload(ctx, *rec.Download)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		got, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(got, f.body) {
			t.Fatalf("downloaded %d bytes (%v); want the %d uploaded", len(got), err, len(f.body))
		}
	}},
	{"rename with a base64-encoded body", func(t *testing.T, f *flow) {
		ctx := context.Background()
		// API Gateway base64-encodes a body whose type it does not take
		// for text; the adapter must decode it before the API reads it.
		name := "회의 녹음 🎙.wav"
		e := f.do(t, ctx, http.MethodPatch, "/v1/recordings/"+f.single.ID, f.session.AccessToken,
			http.Header{"Content-Type": {"application/json"}, forceBase64: {"1"}}, jsonBody(t, map[string]string{"file_name": name}))
		var rec client.Recording
		decodeInto(t, e, http.StatusOK, &rec)
		if rec.FileName != name {
			t.Errorf("renamed to %q; want %q", rec.FileName, name)
		}
	}},
	{"a cookie is no session", func(t *testing.T, f *flow) {
		ctx := context.Background()
		cookie := http.Header{"Cookie": {"session=" + f.session.AccessToken + "; theme=dark"}}
		if e := f.do(t, ctx, http.MethodGet, "/v1/me", "", cookie, nil); e.status != http.StatusUnauthorized {
			t.Errorf("GET /v1/me with the token only in a cookie: %d; want 401", e.status)
		}
		// A browser adds the cookies of the API's domain to any request.
		// The document declares none (the API reads none), and its strict
		// check calls any cookie on an accepted request a breach: the answer
		// is checked here against the request without them.
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, apiBase+"/v1/me", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+f.session.AccessToken)
		req.Header.Set("Cookie", cookie.Get("Cookie"))
		resp, err := f.unchecked.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /v1/me with a bearer token and cookies: %d %s", resp.StatusCode, raw)
		}
		req.Header.Del("Cookie")
		if err := contract.Load(t).Validate(req, nil, resp, raw); err != nil {
			t.Error(err)
		}
	}},
	{"search: ?q= finds the renamed recording", func(t *testing.T, f *flow) {
		found, err := f.user.Search(context.Background(), "회의 녹음", client.SearchOptions{})
		if err != nil || len(found) != 1 || found[0].ID != f.single.ID {
			t.Fatalf("search = %+v, %v; want the renamed recording", found, err)
		}
	}},
	{"the change feed across a rename, the backup ledger", stepChanges},
	{"transcription: PATCH /v1/me, POST and GET the transcript, Amazon's output", stepTranscripts},
	{"shares: create, list, the public page and its audio, revoke", stepShares},
	{"exports: start, the worker through the queue, the archive", stepExports},
	{"sessions: refresh, list, revoke one, revoke the others", stepSessions},
	{"delete to the trash, restore, purge", func(t *testing.T, f *flow) {
		ctx := context.Background()
		if _, err := f.user.Delete(ctx, f.single.ID, false); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if err := f.user.Restore(ctx, f.single.ID); err != nil {
			t.Fatalf("restore: %v", err)
		}
		key := f.objectKey(t, f.session.User.ID, f.single.ID)
		if del, err := f.user.Delete(ctx, f.single.ID, true); err != nil {
			t.Fatalf("purge: %+v, %v", del, err)
		}
		if ok, _ := f.stored(t, key); ok {
			t.Errorf("purged, but %s is still stored", key)
		}
		if _, err := f.user.GetRecording(ctx, f.single.ID); !client.IsStatus(err, http.StatusNotFound) {
			t.Errorf("get after purge: %v; want 404", err)
		}
	}},
	{"Kakao's unlink callback without Kakao configured", func(t *testing.T, f *flow) {
		ctx := context.Background()
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			if e := f.do(t, ctx, m, "/v1/providers/kakao/unlink", "", nil, nil); e.status < 400 || e.status >= 500 {
				t.Errorf("%s unlink: %d %s; want a refusal", m, e.status, e.body)
			}
		}
	}},
	{"sign out, delete the account", func(t *testing.T, f *flow) {
		ctx := context.Background()
		other, _ := f.signIn(t, f.session.User.ID+"-second")
		if err := other.Logout(ctx); err != nil {
			t.Fatalf("logout: %v", err)
		}
		if _, err := other.Me(ctx); !client.IsStatus(err, http.StatusUnauthorized) {
			t.Errorf("me after logout: %v; want 401", err)
		}
		if err := f.user.DeleteAccount(ctx); err != nil {
			t.Fatalf("delete account: %v", err)
		}
		if _, err := f.user.Me(ctx); !client.IsStatus(err, http.StatusUnauthorized) {
			t.Errorf("me after account deletion: %v; want 401", err)
		}
	}},
}

// TestEveryRouteThroughTheArtefact walks the API through the deployed
// artefact, step by step, and then checks that every operation of the
// OpenAPI document was called at least once.
func TestEveryRouteThroughTheArtefact(t *testing.T) {
	f := &flow{app: newApp(t)}
	for _, s := range apiSteps {
		if !t.Run(s.name, func(t *testing.T) { s.run(t, f) }) {
			t.Fatalf("step %q failed; the later steps depend on it", s.name)
		}
	}
	sent := f.sent.all()
	for _, op := range contract.Load(t).Operations() {
		called := false
		for _, r := range sent {
			if matches(op, r.Method, r.Path) {
				called = true
				break
			}
		}
		if !called {
			t.Errorf("%s %s is in openapi.yaml but no step of apiSteps (internal/testenv/artefact/api_test.go) calls it through the artefact", op.Method, op.Path)
		}
	}
}

// TestLimiterKeysOnSourceIP shows the login limiter counts the address API
// Gateway reports in requestContext.http.sourceIp, and never a forwarding
// header a client writes.
func TestLimiterKeysOnSourceIP(t *testing.T) {
	a := newApp(t)
	burst := a.d.config.LoginBurst
	attempt := func(ip, forwarded string) int {
		ctx := withSourceIP(context.Background(), ip)
		hdr := http.Header{"Content-Type": {"application/json"}, "X-Forwarded-For": {forwarded}}
		return a.do(t, ctx, http.MethodPost, "/v1/auth/login", "", hdr, jsonBody(t, map[string]string{"provider": "dev", "id_token": "not-a-token"})).status
	}
	limited := false
	for i := 0; i <= burst+1 && !limited; i++ {
		// A new forwarded address each time: were it read, no limit
		// would ever be reached.
		limited = attempt("203.0.113.9", fmt.Sprintf("192.0.2.%d", i+1)) == http.StatusTooManyRequests
	}
	if !limited {
		t.Fatalf("%d logins from one sourceIp were never limited (LOGIN_RATE_BURST %d)", burst+2, burst)
	}
	if st := attempt("203.0.113.10", "203.0.113.9"); st == http.StatusTooManyRequests {
		t.Errorf("another sourceIp was limited too: the limiter does not key on requestContext.http.sourceIp")
	}
}

// decodeInto checks an answer's status and decodes its JSON body.
func decodeInto(t *testing.T, e exchange, want int, out any) {
	t.Helper()
	if e.status != want {
		t.Fatalf("status %d, want %d: %s", e.status, want, e.body)
	}
	if err := json.Unmarshal(e.body, out); err != nil {
		t.Fatalf("decode %s: %v", e.body, err)
	}
}

// objectKey finds a recording's object key in the bucket (its extension
// is the server's choice).
func (a *app) objectKey(t *testing.T, userID, recordingID string) string {
	t.Helper()
	keys := a.listKeys(t, "recordings/"+userID+"/"+recordingID)
	if len(keys) != 1 {
		t.Fatalf("objects of %s/%s: %v; want one", userID, recordingID, keys)
	}
	return keys[0]
}

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
