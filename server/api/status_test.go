package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// waitSettled polls a recording until it is no longer pending.
func (c *client) waitSettled(id string) recordingJSON {
	c.t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if rec := c.get(id, ""); rec.Status != "pending" {
			return rec
		}
	}
	c.t.Fatalf("recording %s still pending after 15s", id)
	return recordingJSON{}
}

// rejected uploads real audio of another type than declared: storage takes
// it, the confirmation refuses it.
func (c *client) rejected(name string) recordingJSON {
	c.t.Helper()
	body := audioBytes("audio/wav", 400)
	up := c.create(name, "audio/mp4", len(body))
	putBytes(c.t, up, body)
	rec := c.waitSettled(up.Recording.ID)
	if rec.Status != "rejected" || rec.RejectReason == "" {
		c.t.Fatalf("mismatched upload became %+v", rec)
	}
	return rec
}

// GET /v1/recordings/{id} answers 200 for every status the owner
// can see, and the status says the rest. A pending recording used to be a
// 409 not_uploaded.
func TestGetAnswersEveryVisibleStatus(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, _ := login(t, s, "statuses")
	avail := c.upload("kept.wav", "audio/wav", audioBytes("audio/wav", 300))
	trashed := c.upload("binned.wav", "audio/wav", audioBytes("audio/wav", 300))
	wantStatus(t, c.do("DELETE", "/v1/recordings/"+trashed.ID, nil), 200)
	pending := c.create("later.m4a", "audio/mp4", 1000).Recording
	rejected := c.rejected("wrong type.m4a")

	for _, tc := range []struct {
		id, status   string
		download     bool
		rejectReason string
	}{
		{pending.ID, "pending", false, ""},
		{avail.ID, "available", true, ""},
		{rejected.ID, "rejected", false, "type_mismatch"},
		{trashed.ID, "deleted", false, ""},
	} {
		t.Run(tc.status, func(t *testing.T) {
			r := c.do("GET", "/v1/recordings/"+tc.id, nil)
			wantStatus(t, r, http.StatusOK)
			var rec struct {
				recordingJSON
				RejectDetail string     `json:"reject_detail"`
				PurgeAt      *time.Time `json:"purge_at"`
			}
			r.decode(t, &rec)
			if rec.Status != tc.status || (rec.Download != nil) != tc.download || rec.RejectReason != tc.rejectReason {
				t.Fatalf("got %s", r.body)
			}
			if tc.rejectReason != "" && rec.RejectDetail == "" {
				t.Errorf("rejected without a detail: %s", r.body)
			}
			if (tc.status == "deleted") != (rec.PurgeAt != nil) {
				t.Errorf("purge_at: %s", r.body)
			}
			if (r.header.Get("Cache-Control") == "no-store") != tc.download {
				t.Errorf("Cache-Control %q with download %v", r.header.Get("Cache-Control"), tc.download)
			}
		})
	}
}

type pageJSON struct {
	Items      []recordingJSON `json:"items"`
	NextCursor string          `json:"next_cursor"`
}

// status=all lists pending, available and rejected recordings in
// one listing, newest first, across pages; the trash keeps its own listing.
// include=download_url signs a GET for every available item of the page.
func TestListAllStatusesWithDownloadURLs(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, _ := login(t, s, "list-all")
	bodies := map[string][]byte{}
	var want []string // oldest first
	add := func(rec recordingJSON, body []byte) {
		want = append(want, rec.ID)
		bodies[rec.ID] = body
	}
	first := audioBytes("audio/wav", 500)
	add(c.upload("first.wav", "audio/wav", first), first)
	add(c.rejected("refused.m4a"), nil)
	binned := c.upload("binned.wav", "audio/wav", audioBytes("audio/wav", 300))
	wantStatus(t, c.do("DELETE", "/v1/recordings/"+binned.ID, nil), 200)
	add(c.create("waiting.m4a", "audio/mp4", 1000).Recording, nil)
	second := audioBytes("audio/wav", 700)
	add(c.upload("second.wav", "audio/wav", second), second)
	slices.Reverse(want)

	for _, include := range []bool{false, true} {
		t.Run(fmt.Sprintf("include=%v", include), func(t *testing.T) {
			var got []string
			cur := ""
			for pages := 0; ; pages++ {
				if pages > 10 {
					t.Fatalf("still paging: %v", got)
				}
				q := url.Values{"status": {"all"}, "limit": {"1"}}
				if include {
					q.Set("include", "download_url")
				}
				if cur != "" {
					q.Set("cursor", cur)
				}
				r := c.do("GET", "/v1/recordings?"+q.Encode(), nil)
				wantStatus(t, r, http.StatusOK)
				var page pageJSON
				r.decode(t, &page)
				signed := false
				for _, it := range page.Items {
					got = append(got, it.ID)
					if it.Status == "deleted" {
						t.Fatalf("trash in status=all: %s", r.body)
					}
					wantURL := include && it.Status == "available"
					if (it.Download != nil) != wantURL {
						t.Fatalf("include %v, status %s: download %+v", include, it.Status, it.Download)
					}
					if wantURL {
						signed = true
						if got := fetchURL(t, it.Download.URL); !bytes.Equal(got, bodies[it.ID]) {
							t.Fatalf("download of %s: %d bytes, want %d", it.ID, len(got), len(bodies[it.ID]))
						}
					}
				}
				if (r.header.Get("Cache-Control") == "no-store") != signed {
					t.Errorf("Cache-Control %q on a page with URLs %v", r.header.Get("Cache-Control"), signed)
				}
				if page.NextCursor == "" {
					break
				}
				cur = page.NextCursor
			}
			if !slices.Equal(got, want) {
				t.Fatalf("listed %v, want %v", got, want)
			}
		})
	}

	// The trash is listed where it was, and a page without URLs asked for
	// gets none.
	var trash pageJSON
	c.do("GET", "/v1/recordings?status=deleted&include=download_url", nil).decode(t, &trash)
	if len(trash.Items) != 1 || trash.Items[0].ID != binned.ID || trash.Items[0].Download != nil {
		t.Fatalf("trash: %+v", trash)
	}

	// A cursor of the whole listing is not one of a single status.
	var page pageJSON
	c.do("GET", "/v1/recordings?status=all&limit=1", nil).decode(t, &page)
	wantProblem(t, c.do("GET", "/v1/recordings?status=available&cursor="+page.NextCursor, nil), 400, "invalid_cursor")
	for _, tc := range []struct{ query, code string }{
		{"include=download_urls", "validation_failed"},
		{"include=download_url&include=download_url", "invalid_request"},
		{"status=ALL", "validation_failed"},
	} {
		wantProblem(t, c.do("GET", "/v1/recordings?"+tc.query, nil), 400, tc.code)
	}
}

func fetchURL(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET download: %d %v", resp.StatusCode, err)
	}
	return b
}
