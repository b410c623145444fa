package lifecycle_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/voicerec/backend/internal/recording"
)

// sharedLink is a share TestEverythingConverges made, and whether it must
// still play once everything has converged.
type sharedLink struct {
	u    *user
	r    *rec
	id   string
	path string // /s/{token}
	fate string
	live bool
}

// shareFates are what happens to a shared recording: left alone, moved to
// the trash (and purged by the reconciler when its time comes), trashed
// and restored (the old share stays dead, a new one plays), purged at once.
var shareFates = []string{"kept", "trashed", "restored", "purged"}

// shareSome shares every available recording of the accounts still there,
// then gives each recording a fate. It runs after the random steps, with
// every dependency up, and keeps the world's own bookkeeping of deletes.
func (w *world) shareSome(t *testing.T) []sharedLink {
	ctx := context.Background()
	var links []sharedLink
	start, n := w.rng.IntN(len(shareFates)), 0
	for _, u := range w.users {
		if u.gone {
			continue
		}
		for _, r := range u.recs {
			got, err := w.s.Store.GetRecording(ctx, u.id, r.id)
			if err != nil || got.Status != recording.StatusAvailable {
				continue
			}
			first, ok := w.shareOf(t, u, r)
			if !ok {
				continue
			}
			// In turn from a random start, so that every fate is met
			// whenever four recordings are available.
			fate := shareFates[(start+n)%len(shareFates)]
			n++
			first.fate = fate
			w.counts["shared, then "+fate]++
			switch fate {
			case "kept":
				first.live = true
			case "trashed", "restored":
				var d deletion
				st := w.s.Call(t, u.token, http.MethodDelete, "/v1/recordings/"+r.id, nil, &d)
				w.answered(t, r, false, st, d)
				if st != http.StatusOK {
					t.Fatalf("trash of shared %s: %d", r.id, st)
				}
				if fate == "restored" {
					if st := w.s.Call(t, u.token, http.MethodPost, "/v1/recordings/"+r.id+"/restore", nil, nil); st != http.StatusOK {
						t.Fatalf("restore of %s: %d", r.id, st)
					}
					// Available again, as if never deleted.
					r.deleted, r.inTrash, r.trashed, r.purgeAt = false, false, false, nil
					second, ok := w.shareOf(t, u, r)
					if !ok {
						t.Fatalf("no share of restored %s", r.id)
					}
					second.fate, second.live = "made after restore", true
					links = append(links, second)
				}
			case "purged":
				var d deletion
				st := w.s.Call(t, u.token, http.MethodDelete, "/v1/recordings/"+r.id+"?purge=true", nil, &d)
				w.answered(t, r, true, st, d)
			}
			links = append(links, first)
		}
	}
	return links
}

func (w *world) shareOf(t *testing.T, u *user, r *rec) (sharedLink, bool) {
	var out struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	st := w.s.Call(t, u.token, http.MethodPost, "/v1/recordings/"+r.id+"/shares", map[string]string{"expires_in": "720h"}, &out)
	if st != http.StatusCreated {
		w.counts[fmt.Sprintf("share %d", st)]++
		return sharedLink{}, false
	}
	link, err := url.Parse(out.URL)
	if err != nil {
		t.Fatal(err)
	}
	return sharedLink{u: u, r: r, id: out.ID, path: link.Path}, true
}

// checkShares, once everything converged (the trash purged by the
// reconciler): a share plays exactly when its recording was left alone or
// it was made after a restore, and each owner lists exactly those.
func (w *world) checkShares(t *testing.T, links []sharedLink) {
	listed := map[*user][]string{}
	for _, l := range links {
		if _, ok := listed[l.u]; !ok {
			var out struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
			}
			if st := w.s.Call(t, l.u.token, http.MethodGet, "/v1/shares", nil, &out); st != http.StatusOK {
				t.Fatalf("list shares: %d", st)
			}
			listed[l.u] = []string{}
			for _, it := range out.Items {
				listed[l.u] = append(listed[l.u], it.ID)
			}
		}
		want := http.StatusNotFound
		if l.live {
			want = http.StatusOK
		}
		for _, p := range []string{l.path, l.path + "/audio"} {
			// The audio's redirect is followed: 200 is storage's answer.
			st := w.s.Call(t, "", http.MethodGet, p, nil, nil)
			if st != want {
				t.Errorf("a share of a recording %s answers %d at %s, want %d", l.fate, st, p, want)
			}
		}
		if slices.Contains(listed[l.u], l.id) != l.live {
			t.Errorf("a share of a recording %s is listed: %v, want %v", l.fate, !l.live, l.live)
		}
	}
}
