// Package testaudio makes request bodies that are real audio of a given type
// and exact size, for tests whose subject is not the audio itself: the
// server checks every confirmed upload's content, so random bytes are
// rejected as not_audio.
package testaudio

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/voicerec/backend/internal/recording"
)

// tone is one second of AAC in an M4A with its moov first, made by ffmpeg
// (see internal/audio/testdata/make-fixtures.sh, m4a_faststart).
//
//go:embed tone.m4a
var tone []byte

// wavHeader is the size of a canonical WAV header.
const wavHeader = 44

// MinSize is the smallest body Body can make for contentType.
func MinSize(contentType string) int {
	switch canonical(contentType) {
	case "audio/wav":
		return wavHeader
	case "audio/mp4":
		return len(tone)
	}
	return -1
}

// Body returns n bytes of valid audio of contentType (audio/wav or
// audio/mp4 and their aliases); seed varies the content, so two bodies of
// one size differ. It panics for another type or a size below MinSize: a
// test that asks for either is wrong.
func Body(contentType string, n int, seed byte) []byte {
	switch canonical(contentType) {
	case "audio/wav":
		if n < wavHeader {
			panic(fmt.Sprintf("testaudio: a WAV needs at least %d bytes, not %d", wavHeader, n))
		}
		// 8-bit mono PCM at 8 kHz: any number of data bytes is whole samples.
		var b bytes.Buffer
		b.WriteString("RIFF")
		_ = binary.Write(&b, binary.LittleEndian, uint32(n-8))
		b.WriteString("WAVEfmt ")
		for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(8000), uint16(1), uint16(8)} {
			_ = binary.Write(&b, binary.LittleEndian, v) // fmt: PCM, mono, 8 kHz, 8-bit
		}
		b.WriteString("data")
		_ = binary.Write(&b, binary.LittleEndian, uint32(n-wavHeader))
		b.Write(bytes.Repeat([]byte{seed}, n-wavHeader))
		return b.Bytes()
	case "audio/mp4":
		pad := n - len(tone)
		if pad != 0 && pad < 8 {
			panic(fmt.Sprintf("testaudio: an M4A needs %d bytes, or at least 8 more, not %d", len(tone), n))
		}
		out := append([]byte(nil), tone...)
		if pad > 0 {
			// A top-level "free" box: padding every MP4 reader skips.
			out = binary.BigEndian.AppendUint32(out, uint32(pad))
			out = append(out, "free"...)
			out = append(out, bytes.Repeat([]byte{seed}, pad-8)...)
		}
		return out
	}
	panic("testaudio: no body for " + contentType)
}

func canonical(ct string) string {
	c, _, err := recording.NormalizeContentType(ct)
	if err != nil {
		return ""
	}
	return c
}

// Reader streams Body(contentType, n, 0) without holding it in memory, for
// uploads of hundreds of MiB.
func Reader(contentType string, n int64) io.Reader {
	switch canonical(contentType) {
	case "audio/mp4":
		if n <= int64(len(tone))+8 {
			return bytes.NewReader(Body(contentType, int(n), 0))
		}
		head := binary.BigEndian.AppendUint32(append([]byte(nil), tone...), 0)
		pad := n - int64(len(tone))
		if pad > 1<<32-1 {
			panic("testaudio: padding over 4 GiB needs a 64-bit box")
		}
		binary.BigEndian.PutUint32(head[len(tone):], uint32(pad))
		head = append(head, "free"...)
		return io.MultiReader(bytes.NewReader(head), io.LimitReader(zeros{}, pad-8))
	}
	panic("testaudio: no stream for " + contentType)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
