package artefact

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/client"
)

// stepShares makes a link to the flow's recording, opens its public page
// and audio without a session, as a browser does, and revokes it.
func stepShares(t *testing.T, f *flow) {
	ctx := context.Background()
	share, err := f.user.CreateShare(ctx, f.single.ID, time.Hour)
	if err != nil || share.URL == "" {
		t.Fatalf("create share = %+v, %v", share, err)
	}
	u, err := url.Parse(share.URL)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimPrefix(u.Path, "/s/")
	if token == u.Path || token == "" {
		t.Fatalf("share URL %s has no /s/{token} path", share.URL)
	}
	page := f.do(t, ctx, http.MethodGet, "/s/"+token, "", nil, nil)
	if page.status != http.StatusOK || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /s/{token}: %d %s", page.status, page.header.Get("Content-Type"))
	}
	loc := f.noRedirect(t, ctx, "/s/"+token+"/audio")
	rc, err := f.user.OpenDownload(ctx, client.Download{URL: loc})
	if err != nil {
		t.Fatalf("the shared audio's storage URL: %v", err)
	}
	got, err := io.ReadAll(rc)
	_ = rc.Close()
	if err != nil || string(got) != string(f.body) {
		t.Fatalf("the shared audio is %d bytes (%v); want the %d uploaded", len(got), err, len(f.body))
	}
	list, err := f.user.ListShares(ctx)
	if err != nil || len(list) != 1 || list[0].ID != share.ID || list[0].Views < 1 {
		t.Fatalf("shares = %+v, %v; want the one share, viewed", list, err)
	}
	if err := f.user.RevokeShare(ctx, share.ID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if e := f.do(t, ctx, http.MethodGet, "/s/"+token, "", nil, nil); e.status != http.StatusNotFound {
		t.Errorf("a revoked share's page: %d; want 404", e.status)
	}
}

// noRedirect sends a GET without a session and without following its
// redirect, and returns where it points.
func (a *app) noRedirect(t *testing.T, ctx context.Context, path string) string {
	t.Helper()
	hc := *a.api
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, apiBase+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil && !errors.Is(err, http.ErrUseLastResponse) {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || loc == "" {
		t.Fatalf("GET %s: %d, Location %q; want 302 to storage", path, resp.StatusCode, loc)
	}
	return loc
}
