package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
	"github.com/voicerec/backend/internal/testenv/testaudio"
)

// The recording routes check the session inside their own DynamoDB
// operation once the token is known to the instance. A session
// that ends between two requests, by logout or by expiry, must still be
// refused on every one of them, on every path: a request that would
// succeed, one the handler refuses before any DynamoDB call, one whose
// operation fails for another reason (unknown id, quota, a replayed
// Idempotency-Key), and nothing it asked for may happen.
func TestRecordingRoutesRefuseASessionEndedBetweenRequests(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"logout", "expiry"} {
		t.Run(end, func(t *testing.T) {
			clock := &stack.Clock{}
			s := stack.Start(t, testenv.Get(t), stack.Options{Clock: clock,
				Env: map[string]string{"ACCESS_TOKEN_TTL": "1h", "QUOTA_MAX_RECORDINGS": "2",
					"MULTIPART_THRESHOLD_BYTES": "5242880", "MULTIPART_PART_SIZE": "5242880"}})
			tok, _ := s.Login(t, "ended-"+end)
			c := newClient(t, s.APIURL, tok)

			// Every route answers on the live session first, so the
			// instance has the token cached and takes the in-operation path.
			body := testaudio.Body("audio/wav", 400, 1)
			up := s.CreateUpload(t, tok, "kept.wav", "audio/wav", int64(len(body)))
			if st := stack.Put(t, up.Upload, body); st != http.StatusOK {
				t.Fatalf("upload: %d", st)
			}
			kept := s.WaitStatus(t, tok, up.Recording.ID, "available")
			create := map[string]any{"file_name": "new.wav", "content_type": "audio/wav", "size_bytes": 400}
			wantStatus(t, c.do("POST", "/v1/recordings", create, "Idempotency-Key", "k1"), 201)
			wantProblem(t, c.do("POST", "/v1/recordings", create), 403, "quota_exceeded")
			wantStatus(t, c.do("GET", "/v1/recordings", nil), 200)
			wantStatus(t, c.do("PATCH", "/v1/recordings/"+kept.ID, map[string]string{"file_name": "kept.wav"}), 200)
			unknown := recording.NewID(time.Now())
			wantProblem(t, c.do("GET", "/v1/recordings/"+unknown, nil), 404, "not_found")

			switch end {
			case "logout":
				wantStatus(t, c.do("POST", "/v1/auth/logout", nil), 204)
			case "expiry":
				clock.Advance(61 * time.Minute)
			}

			for _, r := range []struct {
				name, method, path string
				body               any
				headers            []string
			}{
				{"create", "POST", "/v1/recordings", create, nil},
				{"create replayed", "POST", "/v1/recordings", create, []string{"Idempotency-Key", "k1"}},
				{"create new key", "POST", "/v1/recordings", create, []string{"Idempotency-Key", "k2"}},
				{"create invalid", "POST", "/v1/recordings", map[string]any{"file_name": "x.wav"}, nil},
				{"create multipart", "POST", "/v1/recordings", map[string]any{"file_name": "big.wav", "content_type": "audio/wav", "size_bytes": 6 << 20}, nil},
				{"list", "GET", "/v1/recordings", nil, nil},
				{"list pending", "GET", "/v1/recordings?status=pending", nil, nil},
				{"list invalid", "GET", "/v1/recordings?limit=0", nil, nil},
				{"get", "GET", "/v1/recordings/" + kept.ID, nil, nil},
				{"get unknown", "GET", "/v1/recordings/" + unknown, nil, nil},
				{"get malformed id", "GET", "/v1/recordings/not-an-id", nil, nil},
				{"rename", "PATCH", "/v1/recordings/" + kept.ID, map[string]string{"file_name": "stolen.wav"}, nil},
				{"rename unknown", "PATCH", "/v1/recordings/" + unknown, map[string]string{"file_name": "x.wav"}, nil},
				{"rename invalid", "PATCH", "/v1/recordings/" + kept.ID, map[string]string{}, nil},
				{"delete", "DELETE", "/v1/recordings/" + kept.ID, nil, nil},
				{"purge", "DELETE", "/v1/recordings/" + kept.ID + "?purge=true", nil, nil},
				{"delete invalid", "DELETE", "/v1/recordings/" + kept.ID + "?purge=maybe", nil, nil},
			} {
				t.Run(r.name, func(t *testing.T) {
					wantProblem(t, c.do(r.method, r.path, r.body, r.headers...), 401, "unauthorized")
				})
			}

			// Nothing happened: a new session of the same user sees the
			// recording as it was and no new upload.
			fresh, _ := s.Login(t, "ended-"+end)
			got, st := s.Get(t, fresh, kept.ID)
			if st != http.StatusOK || got.Status != "available" || got.FileName != "kept.wav" {
				t.Fatalf("after the refused requests: %d %+v", st, got)
			}
			if pending := s.List(t, fresh, "pending"); len(pending) != 1 || pending[0].FileName != "new.wav" {
				t.Fatalf("pending after the refused requests: %v", pending)
			}
		})
	}
}
