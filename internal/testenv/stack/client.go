package stack

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/voicerec/backend/client"
)

// Call sends one API request as the holder of token (empty: anonymous) and
// decodes a JSON answer into out (nil: discarded). It returns the status.
func (s *Stack) Call(t testing.TB, token, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.APIURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && len(raw) > 0 && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// The API's shapes are the typed client's: a test sees what an app sees.
type (
	// Recording is the API's view of a recording.
	Recording = client.Recording
	// Signed is a presigned request as the API hands it out.
	Signed = client.Signed
	// Upload is the answer to POST /v1/recordings.
	Upload = client.Created
)

// CreateUpload declares a recording and returns its upload URL.
func (s *Stack) CreateUpload(t testing.TB, token, fileName, contentType string, size int64) Upload {
	t.Helper()
	var up Upload
	body := map[string]any{"file_name": fileName, "content_type": contentType, "size_bytes": size}
	if st := s.Call(t, token, http.MethodPost, "/v1/recordings", body, &up); st != http.StatusCreated {
		t.Fatalf("create upload %q: status %d", fileName, st)
	}
	return up
}

// Put sends body to a presigned upload exactly as an app would, with the
// headers it was given, and returns storage's status.
func Put(t testing.TB, up Signed, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(up.Method, up.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range up.Headers {
		if k == "Content-Length" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = n
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// Get returns the recording as its owner sees it, and the status.
func (s *Stack) Get(t testing.TB, token, id string) (Recording, int) {
	t.Helper()
	var r Recording
	st := s.Call(t, token, http.MethodGet, "/v1/recordings/"+id, nil, &r)
	return r, st
}

// WaitStatus polls until the recording has the given status and returns it.
func (s *Stack) WaitStatus(t testing.TB, token, id, status string) Recording {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, st := s.Get(t, token, id)
		if st == http.StatusOK && r.Status == status {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("recording %s: still %d %q, want %q", id, st, r.Status, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// List returns the first page of the caller's recordings in one status.
func (s *Stack) List(t testing.TB, token, status string) []Recording {
	t.Helper()
	var page client.Page
	if st := s.Call(t, token, http.MethodGet, "/v1/recordings?limit=100&status="+status, nil, &page); st != http.StatusOK {
		t.Fatalf("list %s: status %d", status, st)
	}
	return page.Items
}

// Usage is the caller's stored bytes and recording count.
func (s *Stack) Usage(t testing.TB, token string) (bytes, count int64) {
	t.Helper()
	var me client.Me
	if st := s.Call(t, token, http.MethodGet, "/v1/me", nil, &me); st != http.StatusOK {
		t.Fatalf("me: status %d", st)
	}
	return me.BytesStored, me.RecordingCount
}
