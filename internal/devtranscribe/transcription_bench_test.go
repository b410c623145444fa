package devtranscribe_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/devtranscribe"
	"github.com/voicerec/backend/internal/recording"
)

// BenchmarkLocalTranscription runs each LibriVox clip, one at a time,
// through the local engine as `make run` does: uploaded as an app would,
// confirmed by the events handler, transcribed by ffmpeg and pocketsphinx.
// It reports the engine's CPU seconds per minute of audio, the time from
// a clip's confirmation to its completed transcript (the record's
// uploaded_at to the moment a 25 ms poll of the record sees it completed)
// and the word error rate against the clips' reference text.
func BenchmarkLocalTranscription(b *testing.B) {
	s, eng := engineStack(b, nil)
	token, userID := s.Login(b, "bench-reader")
	var latencies []time.Duration
	var refWords, errWords float64
	for range b.N {
		for _, c := range clips(b) {
			id := upload(b, s, token, filepath.Join("testdata/librivox", c.file), nil)
			deadline := time.Now().Add(3 * time.Minute)
			var rec recording.Recording
			for {
				var err error
				if rec, err = s.Store.GetRecording(context.Background(), userID, id); err != nil {
					b.Fatal(err)
				}
				if rec.TranscriptStatus == recording.TranscriptCompleted {
					break
				}
				if rec.TranscriptStatus != "" && rec.TranscriptStatus != recording.TranscriptPending || time.Now().After(deadline) {
					b.Fatalf("%s: transcript %q %s", c.file, rec.TranscriptStatus, rec.TranscriptDetail)
				}
				time.Sleep(25 * time.Millisecond)
			}
			latencies = append(latencies, time.Since(*rec.UploadedAt))
			tr := waitTranscript(b, s, token, id)
			wer := devtranscribe.WordErrorRate(c.reference, tr.Text)
			n := float64(len(strings.Fields(c.reference)))
			refWords += n
			errWords += wer * n
		}
	}
	cpu, audio := eng.Usage()
	slices.Sort(latencies)
	b.ReportMetric(cpu.Seconds()/audio.Minutes(), "cpu-s/audio-min")
	b.ReportMetric(audio.Seconds()/float64(len(latencies)), "audio-s/clip")
	b.ReportMetric(float64(latencies[len(latencies)/2].Milliseconds()), "confirm-to-transcript-p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)-1].Milliseconds()), "confirm-to-transcript-max-ms")
	b.ReportMetric(errWords/refWords, "WER")
	b.ReportMetric(0, "ns/op")
}
