package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
	"github.com/voicerec/backend/internal/wire"
	"github.com/voicerec/backend/server/api"
)

type shareJSON struct {
	ID          string    `json:"id"`
	RecordingID string    `json:"recording_id"`
	FileName    string    `json:"file_name"`
	URL         string    `json:"url"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	Views       int64     `json:"views"`
}

func (c *client) share(recordingID string, body any) shareJSON {
	c.t.Helper()
	r := c.do("POST", "/v1/recordings/"+recordingID+"/shares", body)
	wantStatus(c.t, r, http.StatusCreated)
	if r.header.Get("Cache-Control") != "no-store" {
		c.t.Errorf("a new share's link may be cached: Cache-Control %q", r.header.Get("Cache-Control"))
	}
	var sh shareJSON
	r.decode(c.t, &sh)
	return sh
}

func (c *client) shares() []shareJSON {
	c.t.Helper()
	r := c.do("GET", "/v1/shares", nil)
	wantStatus(c.t, r, http.StatusOK)
	var l struct{ Items []shareJSON }
	r.decode(c.t, &l)
	return l.Items
}

// visitor opens shared links as anyone on the internet does: no token,
// redirects not followed, so the audio's redirect itself is seen.
func visitor(t *testing.T, base string) *client {
	c := newClient(t, base, "")
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// open fetches a link's page (or its audio, with suffix "/audio").
func (c *client) open(link, suffix string) result {
	c.t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do("GET", u.Path+suffix, nil)
}

// wantGone checks the one page every link that does not work gets.
func wantGone(t *testing.T, r result, what string) {
	t.Helper()
	if r.status != http.StatusNotFound || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") ||
		!bytes.Contains(r.body, []byte(`id="gone"`)) {
		t.Fatalf("%s: status %d %q, want the 404 page: %.300s", what, r.status, r.header.Get("Content-Type"), r.body)
	}
	wantPublicHeaders(t, r, what)
}

func wantPublicHeaders(t *testing.T, r result, what string) {
	t.Helper()
	for name, want := range map[string]string{
		"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow",
	} {
		if got := r.header.Get(name); got != want {
			t.Errorf("%s: %s %q, want %q", what, name, got, want)
		}
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'; style-src 'sha256-") ||
		strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
		t.Errorf("%s: CSP %q is not the strict one", what, csp)
	}
}

// playAudio follows the audio's redirect to storage and returns the body.
func playAudio(t *testing.T, v *client, link string) []byte {
	t.Helper()
	r := v.open(link, "/audio")
	wantStatus(t, r, http.StatusFound)
	loc := r.header.Get("Location")
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	if exp, _ := strconv.Atoi(u.Query().Get("X-Amz-Expires")); exp < 1 || exp > 60 {
		t.Errorf("the audio's storage URL lives %q seconds, want at most 60", u.Query().Get("X-Amz-Expires"))
	}
	status, body := fetch(t, loc)
	if status != http.StatusOK {
		t.Fatalf("storage answered %d to the share's audio URL", status)
	}
	return body
}

// A share plays its recording to anyone with the link and nobody else,
// tells its owner how often it was opened, and stops at once when revoked.
func TestShareLinkPlaysUntilRevoked(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	alice, _ := login(t, s, "share-owner")
	bob, _ := login(t, s, "share-stranger")
	body := audioBytes("audio/mp4", 7000)
	rec := alice.upload(`Lecture <3> "notes".m4a`, "audio/mp4", body)

	sh := alice.share(rec.ID, map[string]string{"expires_in": "24h"})
	if sh.RecordingID != rec.ID || len(sh.ID) != 32 || sh.Views != 0 ||
		sh.ExpiresAt.Sub(sh.CreatedAt) != 24*time.Hour {
		t.Fatalf("share: %+v", sh)
	}
	token := sh.URL[strings.LastIndex(sh.URL, "/")+1:]
	if !strings.HasPrefix(sh.URL, s.APIURL+"/s/") || len(token) != 32 {
		t.Fatalf("link %q", sh.URL)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(raw) < 16 {
		t.Fatalf("the token carries fewer than 128 random bits: %q", token)
	}

	v := visitor(t, s.APIURL)
	page := v.open(sh.URL, "")
	wantStatus(t, page, http.StatusOK)
	wantPublicHeaders(t, page, "the page")
	html := string(page.body)
	for _, want := range []string{
		`<meta property="og:title" content="Lecture &lt;3&gt; &#34;notes&#34;.m4a">`,
		`<meta name="robots" content="noindex, nofollow">`,
		`<h1 id="name">Lecture &lt;3&gt; &#34;notes&#34;.m4a</h1>`,
		`src="` + token + `/audio"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %s:\n%s", want, html)
		}
	}
	for _, leak := range []string{"share-owner", rec.ID, sh.ID} {
		if strings.Contains(html, leak) {
			t.Errorf("the page shows %q, which is not the recording's name, date, duration or transcript", leak)
		}
	}
	if got := playAudio(t, v, sh.URL); !bytes.Equal(got, body) {
		t.Errorf("the share's audio is %d bytes, not the recording's %d", len(got), len(body))
	}

	// Default lifetime, and the listing with its view count.
	other := alice.share(rec.ID, nil)
	if other.ExpiresAt.Sub(other.CreatedAt) != 7*24*time.Hour {
		t.Errorf("a share without expires_in lasts %s, want 7 days", other.ExpiresAt.Sub(other.CreatedAt))
	}
	listed := alice.shares()
	if len(listed) != 2 || listed[0].ID != other.ID || listed[1].ID != sh.ID || listed[1].Views != 1 ||
		listed[1].FileName != rec.FileName || listed[1].URL != "" {
		t.Fatalf("listed shares: %+v", listed)
	}

	// Nobody else sees, makes or revokes shares of alice's recording.
	if got := bob.shares(); len(got) != 0 {
		t.Errorf("bob lists alice's shares: %+v", got)
	}
	wantProblem(t, bob.do("POST", "/v1/recordings/"+rec.ID+"/shares", nil), 404, "not_found")
	wantProblem(t, bob.do("DELETE", "/v1/shares/"+sh.ID, nil), 404, "not_found")
	wantStatus(t, v.open(sh.URL, ""), http.StatusOK)

	wantStatus(t, alice.do("DELETE", "/v1/shares/"+sh.ID, nil), http.StatusNoContent)
	wantGone(t, v.open(sh.URL, ""), "the page after revoke")
	wantGone(t, v.open(sh.URL, "/audio"), "the audio after revoke")
	wantProblem(t, alice.do("DELETE", "/v1/shares/"+sh.ID, nil), 404, "not_found")
	if got := alice.shares(); len(got) != 1 || got[0].ID != other.ID {
		t.Errorf("after revoke the list is %+v", got)
	}
	// The other share was not touched.
	wantStatus(t, v.open(other.URL, ""), http.StatusOK)
}

func TestShareRequestsAreChecked(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, _ := login(t, s, "share-checks")
	rec := c.upload("a.m4a", "audio/mp4", audioBytes("audio/mp4", 5000))
	for _, bad := range []string{"721h", "30s", "-1h", "soon", ""} {
		body := map[string]string{"expires_in": bad}
		if bad == "" {
			continue // empty is the default
		}
		wantProblem(t, c.do("POST", "/v1/recordings/"+rec.ID+"/shares", body), 400, "validation_failed")
	}
	wantStatus(t, c.do("POST", "/v1/recordings/"+rec.ID+"/shares", map[string]string{"expires_in": "720h"}), 201)
	wantProblem(t, c.do("POST", "/v1/recordings/"+rec.ID+"/shares", `{"expires":"1h"}`), 400, "invalid_request")
	wantProblem(t, c.do("POST", "/v1/recordings/not-an-id/shares", nil), 404, "not_found")
	wantProblem(t, c.do("DELETE", "/v1/shares/not-a-share", nil), 404, "not_found")
	wantProblem(t, newClient(t, s.APIURL, "").do("GET", "/v1/shares", nil), 401, "unauthorized")

	pending := c.create("later.m4a", "audio/mp4", 5000)
	wantProblem(t, c.do("POST", "/v1/recordings/"+pending.Recording.ID+"/shares", nil), 409, "conflict")

	v := visitor(t, s.APIURL)
	for _, tok := range []string{"x", strings.Repeat("A", 32), strings.Repeat("%", 32), strings.Repeat("A", 33)} {
		wantGone(t, v.do("GET", "/s/"+url.PathEscape(tok), nil), "token "+tok)
	}
}

// Trash ends a recording's shares for good: restoring it brings none
// back (a new share works again), and a purge ends the new one too.
func TestShareEndsWithTrashAndPurge(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"TRASH_RETENTION": "24h"}})
	c, _ := login(t, s, "share-trash")
	rec := c.upload("memo.m4a", "audio/mp4", audioBytes("audio/mp4", 6000))
	v := visitor(t, s.APIURL)
	before := c.share(rec.ID, nil)
	wantStatus(t, v.open(before.URL, ""), http.StatusOK)

	wantStatus(t, c.do("DELETE", "/v1/recordings/"+rec.ID, nil), 200)
	wantGone(t, v.open(before.URL, ""), "the page of a trashed recording")
	wantGone(t, v.open(before.URL, "/audio"), "the audio of a trashed recording")
	wantProblem(t, c.do("POST", "/v1/recordings/"+rec.ID+"/shares", nil), 409, "conflict")
	if got := c.shares(); len(got) != 0 {
		t.Errorf("shares of a trashed recording are listed: %+v", got)
	}

	wantStatus(t, c.do("POST", "/v1/recordings/"+rec.ID+"/restore", nil), 200)
	wantGone(t, v.open(before.URL, ""), "a share made before the trash, after restore")
	after := c.share(rec.ID, nil)
	wantStatus(t, v.open(after.URL, ""), http.StatusOK)
	if got := c.shares(); len(got) != 1 || got[0].ID != after.ID {
		t.Errorf("after restore the list is %+v, want only the new share", got)
	}

	wantStatus(t, c.do("DELETE", "/v1/recordings/"+rec.ID+"?purge=true", nil), 200)
	wantGone(t, v.open(after.URL, ""), "the page of a purged recording")
	wantGone(t, v.open(after.URL, "/audio"), "the audio of a purged recording")
}

func TestShareExpires(t *testing.T) {
	t.Parallel()
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{Clock: clock})
	c, _ := login(t, s, "share-expiry")
	rec := c.upload("short.m4a", "audio/mp4", audioBytes("audio/mp4", 5000))
	sh := c.share(rec.ID, map[string]string{"expires_in": "2m"})
	v := visitor(t, s.APIURL)
	clock.Advance(time.Minute)
	wantStatus(t, v.open(sh.URL, ""), http.StatusOK)
	playAudio(t, v, sh.URL)
	clock.Advance(61 * time.Second)
	wantGone(t, v.open(sh.URL, ""), "the page after expiry")
	wantGone(t, v.open(sh.URL, "/audio"), "the audio after expiry")
	if got := c.shares(); len(got) != 0 {
		t.Errorf("expired shares are listed: %+v", got)
	}
}

func TestShareEndsWithAccount(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, uid := login(t, s, "share-leaver")
	rec := c.upload("bye.m4a", "audio/mp4", audioBytes("audio/mp4", 5000))
	sh := c.share(rec.ID, nil)
	v := visitor(t, s.APIURL)
	wantStatus(t, v.open(sh.URL, ""), http.StatusOK)
	wantStatus(t, c.do("DELETE", "/v1/me", nil), http.StatusNoContent)
	wantGone(t, v.open(sh.URL, ""), "the page after the account was deleted")
	wantGone(t, v.open(sh.URL, "/audio"), "the audio after the account was deleted")
	if got, err := s.Store.OpenShare(context.Background(), sh.ID, time.Now(), false); !errors.Is(err, recording.ErrShareNotFound) {
		t.Errorf("user %s's share outlived the account: %+v %v", uid, got, err)
	}
}

// A flood of guessed tokens from one address is refused 429 once the
// burst is spent, before any DynamoDB request: guessing costs the guesser,
// not the table.
func TestShareGuessingIsLimitedBeforeDynamoDB(t *testing.T) {
	t.Parallel()
	env := testenv.Get(t)
	cfg := env.Config(t, map[string]string{"SHARE_RATE_LIMIT": "1", "SHARE_RATE_BURST": "5"})
	clients := env.Provision(t, cfg)
	var calls atomic.Int64
	o := clients.DynamoDB.Options()
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("countCalls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				calls.Add(1)
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
	clients.DynamoDB = dynamodb.New(o)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	parts, err := wire.Build(context.Background(), cfg, log, wire.WithClients(clients))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Deps{Config: cfg, Log: log, Service: parts.Service}))
	t.Cleanup(srv.Close)

	v := visitor(t, srv.URL)
	var gone, limited int
	for i := range 40 {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		path := "/s/" + base64.RawURLEncoding.EncodeToString(b)
		if i%2 == 1 {
			path += "/audio"
		}
		r := v.do("GET", path, nil)
		switch r.status {
		case http.StatusNotFound:
			gone++
		case http.StatusTooManyRequests:
			wantProblem(t, r, 429, "rate_limited")
			limited++
		default:
			t.Fatalf("a guessed token answered %d", r.status)
		}
	}
	if gone != 5 || limited != 35 {
		t.Errorf("%d guesses answered 404 and %d 429, want 5 and 35", gone, limited)
	}
	if n := calls.Load(); n != 5 {
		t.Errorf("40 guesses cost %d DynamoDB requests, want 5 (the burst's)", n)
	}
}
