package s3event_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// BenchmarkConfirmationLatency measures, per upload, the time from the end
// of the presigned PUT to the recording being listed as available, through
// MinIO's webhook exactly as the local stack runs it. Run it with a fixed
// count, e.g. -benchtime=200x; it reports the median and p99.
func BenchmarkConfirmationLatency(b *testing.B) {
	s := stack.Start(b, testenv.Get(b), stack.Options{})
	token, _ := s.Login(b, "bench")
	payload := body(64<<10, 'p')
	var lat []time.Duration
	for b.Loop() {
		up := s.CreateUpload(b, token, "bench.m4a", m4a, int64(len(payload)))
		if st := stack.Put(b, up.Upload, payload); st != http.StatusOK {
			b.Fatalf("PUT: %d", st)
		}
		putDone := time.Now()
		waitListed(b, s, token, up.Recording.ID, putDone)
		lat = append(lat, time.Since(putDone))
		// Keep the listed page small so every poll costs the same.
		if st := s.Call(b, token, http.MethodDelete, "/v1/recordings/"+up.Recording.ID, nil, nil); st != http.StatusOK {
			b.Fatalf("delete: %d", st)
		}
	}
	reportLatency(b, lat)
}

// BenchmarkCompleteLatency measures the same span when the client asks:
// from the end of the presigned PUT to POST .../complete answering
// available, in the client's hands. MinIO's webhook still delivers the
// event at the same time, as it would on AWS, so the two race as they do
// for a real app.
func BenchmarkCompleteLatency(b *testing.B) {
	s := stack.Start(b, testenv.Get(b), stack.Options{})
	token, _ := s.Login(b, "bench")
	payload := body(64<<10, 'p')
	var lat []time.Duration
	polled := 0
	for b.Loop() {
		up := s.CreateUpload(b, token, "bench.m4a", m4a, int64(len(payload)))
		if st := stack.Put(b, up.Upload, payload); st != http.StatusOK {
			b.Fatalf("PUT: %d", st)
		}
		putDone := time.Now()
		var rec stack.Recording
		if st := s.Call(b, token, http.MethodPost, "/v1/recordings/"+up.Recording.ID+"/complete", map[string]any{}, &rec); st != http.StatusOK {
			b.Fatalf("complete: %d", st)
		}
		if rec.Status != "available" {
			// Not what the goal wants; counted, and waited for as a client
			// would, so the figure stays honest.
			polled++
			waitListed(b, s, token, up.Recording.ID, putDone)
		}
		lat = append(lat, time.Since(putDone))
		if st := s.Call(b, token, http.MethodDelete, "/v1/recordings/"+up.Recording.ID, nil, nil); st != http.StatusOK {
			b.Fatalf("delete: %d", st)
		}
	}
	reportLatency(b, lat)
	b.ReportMetric(float64(polled), "answered-pending")
}

// waitListed polls the listing, as a client without complete does, until
// the recording is available (20 s at most after since).
func waitListed(b *testing.B, s *stack.Stack, token, id string, since time.Time) {
	for !listedAvailable(b, s, token, id) {
		if time.Since(since) > 20*time.Second {
			b.Fatal("upload never confirmed")
		}
		time.Sleep(time.Millisecond)
	}
}

// reportLatency reports the p50 and p99 of lat and how many there were.
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[(len(lat)*99)/100]), "p99-ms")
	b.ReportMetric(float64(len(lat)), "uploads")
}

func listedAvailable(b *testing.B, s *stack.Stack, token, id string) bool {
	for _, r := range s.List(b, token, "available") {
		if r.ID == id {
			return true
		}
	}
	return false
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
