package dynamo_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

// The transcript state is written only for the job the recording wants
// and only while it is available or in the trash: a job that completes
// after another was started, or after the recording began its delete,
// changes nothing, even when it read the record before that happened.
func TestTranscriptStatusFollowsOnlyTheWantedJob(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "transcript-state")
	now := time.Now()
	rec := pendingRec(u.ID, 1, now)
	if _, _, err := s.CreateUpload(ctx, rec, "", "fp", wide, now); err != nil {
		t.Fatal(err)
	}
	pending := dynamo.TranscriptState{Status: recording.TranscriptPending, Job: "job-1"}
	if err := s.SetTranscriptStatus(ctx, u.ID, rec.ID, "", pending); !errors.Is(err, dynamo.ErrTranscriptMoved) {
		t.Fatalf("a pending recording took a transcript state: %v", err)
	}
	if ok, err := s.ConfirmUpload(ctx, rec, dynamo.Object{Size: 1, ContentType: rec.ContentType, ETag: "e", DurationMS: 1000}, now); !ok || err != nil {
		t.Fatalf("confirm: %v %v", ok, err)
	}
	if err := s.SetTranscriptStatus(ctx, u.ID, rec.ID, "", pending); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTranscriptStatus(ctx, u.ID, rec.ID, "", dynamo.TranscriptState{Status: recording.TranscriptPending, Job: "job-2"}); !errors.Is(err, dynamo.ErrTranscriptMoved) {
		t.Fatalf("a second start from the same read applied: %v", err)
	}
	done := dynamo.TranscriptState{Status: recording.TranscriptCompleted, Job: "job-1", Language: "en-US"}
	if err := s.SetTranscriptStatus(ctx, u.ID, rec.ID, "job-0", done); !errors.Is(err, dynamo.ErrTranscriptMoved) {
		t.Fatalf("another job's completion applied: %v", err)
	}
	got, _ := s.GetRecording(ctx, u.ID, rec.ID)
	if got.TranscriptStatus != recording.TranscriptPending || got.TranscriptJob != "job-1" {
		t.Fatalf("after refused writes: %q %q", got.TranscriptStatus, got.TranscriptJob)
	}
	got.Status = recording.StatusAvailable
	if err := s.BeginDelete(ctx, got, now); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTranscriptStatus(ctx, u.ID, rec.ID, "job-1", done); !errors.Is(err, dynamo.ErrTranscriptMoved) {
		t.Fatalf("a recording being deleted took its transcript: %v", err)
	}
}

// Segments are cut into chunks that each stay under DynamoDB's item
// limit, and read back whole and in order: eight hours of speech (about
// 72,000 words; a recording may run for days) does not fit in one item.
func TestLongTranscriptIsChunked(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "long-transcript")
	var segs []recording.Segment
	words := strings.Repeat("transcribed speech goes on and on ", 3) // 18 words a segment
	for i := range 4000 {
		segs = append(segs, recording.Segment{StartMS: int64(i) * 7200, EndMS: int64(i)*7200 + 7000, Text: words + "세그먼트", Speaker: "spk_0"})
	}
	chunks, err := dynamo.ChunkSegments(segs, 300_000)
	if err != nil || len(chunks) < 2 {
		t.Fatalf("%d chunks (%v) for 72,000 words", len(chunks), err)
	}
	for _, c := range chunks {
		if len(c) > 300_000 {
			t.Fatalf("a chunk of %d bytes", len(c))
		}
	}
	id := recording.NewID(time.Now())
	if err := s.PutTranscriptSegments(ctx, u.ID, id, "job-1", segs); err != nil {
		t.Fatal(err)
	}
	back, err := s.TranscriptSegments(ctx, u.ID, id, "job-1")
	if err != nil || len(back) != len(segs) || back[3999] != segs[3999] || back[0] != segs[0] {
		t.Fatalf("read back %d segments (%v)", len(back), err)
	}
	if err := s.DeleteTranscript(ctx, u.ID, id, ""); err != nil {
		t.Fatal(err)
	}
	if back, _ := s.TranscriptSegments(ctx, u.ID, id, "job-1"); len(back) != 0 {
		t.Fatalf("%d segments left after delete", len(back))
	}
}
