package lifecycle_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

// A feed follower stands for an offline device: it applies the user's
// change feed to the recordings it holds, from the start or from a cursor
// it kept at a random moment of the run, and must end with exactly what a
// full listing shows.

type feedChange struct {
	Seq       int64           `json:"seq"`
	Op        string          `json:"op"`
	ID        string          `json:"id"`
	Recording json.RawMessage `json:"recording"`
}

type follower struct {
	cursor  string
	lastSeq int64
	recs    map[string]json.RawMessage
}

// follow applies every change after the follower's cursor, checking that
// seq only grows.
func (w *world) follow(t *testing.T, u *user, f *follower) {
	t.Helper()
	for {
		q := url.Values{"limit": {fmt.Sprint(1 + w.rng.IntN(20))}}
		if f.cursor != "" {
			q.Set("cursor", f.cursor)
		}
		var page struct {
			Changes []feedChange `json:"changes"`
			Cursor  string       `json:"cursor"`
			HasMore bool         `json:"has_more"`
		}
		if st := w.s.Call(t, u.token, http.MethodGet, "/v1/changes?"+q.Encode(), nil, &page); st != http.StatusOK {
			t.Fatalf("feed of %s: status %d", u.sub, st)
		}
		for _, c := range page.Changes {
			if c.Seq <= f.lastSeq {
				t.Fatalf("feed of %s: seq %d after %d", u.sub, c.Seq, f.lastSeq)
			}
			f.lastSeq = c.Seq
			switch c.Op {
			case "upsert":
				f.recs[c.ID] = c.Recording
			case "remove":
				delete(f.recs, c.ID)
			default:
				t.Fatalf("feed of %s: op %q", u.sub, c.Op)
			}
		}
		f.cursor = page.Cursor
		if !page.HasMore {
			return
		}
	}
}

// keepCursors lets each user's mid-run follower catch up now, at a
// random step, and keep its cursor and recordings for the end.
func (w *world) keepCursors(t *testing.T, followers map[*user]*follower) {
	for _, u := range w.users {
		if u.gone || !w.chance(0.15) {
			continue
		}
		f := followers[u]
		if f == nil {
			f = &follower{recs: map[string]json.RawMessage{}}
			followers[u] = f
		}
		w.follow(t, u, f)
	}
}

// checkFeeds replays every live user's feed from the start and from the
// cursor kept mid-run, and compares both with a full listing.
func (w *world) checkFeeds(t *testing.T, followers map[*user]*follower) {
	for _, u := range w.users {
		if u.gone {
			continue
		}
		listed := w.listEverything(t, u)
		fresh := &follower{recs: map[string]json.RawMessage{}}
		w.follow(t, u, fresh)
		sameRecordings(t, u.sub+" from the start", fresh.recs, listed)
		if f := followers[u]; f != nil {
			w.follow(t, u, f)
			sameRecordings(t, u.sub+" from a kept cursor", f.recs, listed)
		}
	}
}

// listEverything is every recording the user can see: status=all and the
// trash.
func (w *world) listEverything(t *testing.T, u *user) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	for _, status := range []string{"all", "deleted"} {
		cursor := ""
		for {
			q := url.Values{"status": {status}, "limit": {"100"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			var page struct {
				Items []json.RawMessage `json:"items"`
				Next  string            `json:"next_cursor"`
			}
			if st := w.s.Call(t, u.token, http.MethodGet, "/v1/recordings?"+q.Encode(), nil, &page); st != http.StatusOK {
				t.Fatalf("list %s of %s: status %d", status, u.sub, st)
			}
			for _, raw := range page.Items {
				var id struct {
					ID string `json:"id"`
				}
				if err := json.Unmarshal(raw, &id); err != nil {
					t.Fatal(err)
				}
				out[id.ID] = raw
			}
			if cursor = page.Next; cursor == "" {
				break
			}
		}
	}
	return out
}

func sameRecordings(t *testing.T, what string, got, want map[string]json.RawMessage) {
	t.Helper()
	decode := func(raw json.RawMessage) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for id, raw := range want {
		g, ok := got[id]
		if !ok {
			t.Errorf("%s: listed %s is not in the replayed feed", what, raw)
			continue
		}
		if a, b := decode(g), decode(raw); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: recording %s replays as\n%v\nbut is listed as\n%v", what, id, a, b)
		}
	}
	for id, raw := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("%s: replayed %s is not listed", what, raw)
		}
	}
}
