package testaudio_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/voicerec/backend/internal/audio"
	"github.com/voicerec/backend/internal/testenv/testaudio"
)

// Every body is what it claims, at exactly the size asked for.
func TestBodiesAreRealAudio(t *testing.T) {
	for _, tc := range []struct {
		ct        string
		container string
		sizes     []int
	}{
		{"audio/wav", "wav", []int{44, 45, 64, 1000, 1 << 20}},
		{"audio/mp4", "mp4", []int{testaudio.MinSize("audio/mp4"), testaudio.MinSize("audio/mp4") + 8, 10_000, 1 << 20}},
	} {
		for _, n := range tc.sizes {
			b := testaudio.Body(tc.ct, n, 'x')
			if len(b) != n {
				t.Fatalf("%s %d: got %d bytes", tc.ct, n, len(b))
			}
			info, err := audio.Probe(context.Background(), bytes.NewReader(b), int64(n))
			if err != nil || info.Container != tc.container || !audio.TypeMatches(tc.ct, info) {
				t.Errorf("%s of %d bytes: %+v, %v", tc.ct, n, info, err)
			}
		}
	}
	for _, n := range []int{testaudio.MinSize("audio/mp4"), 6000, 1 << 20} {
		streamed, err := io.ReadAll(testaudio.Reader("audio/mp4", int64(n)))
		if err != nil || !bytes.Equal(streamed, testaudio.Body("audio/mp4", n, 0)) {
			t.Errorf("Reader(%d) differs from Body: %d bytes, %v", n, len(streamed), err)
		}
	}
	if bytes.Equal(testaudio.Body("audio/wav", 100, 1), testaudio.Body("audio/wav", 100, 2)) {
		t.Error("seed does not vary the body")
	}
}
