package audio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"testing"
)

// Large bodies are virtual: a fixture's real head and tail around a middle that is zeros (the
// samples of a WAV or an mdat, which Probe never reads) or a fixture's frames repeated (ADTS,
// AMR, MP4 fragments, which it does walk or count). Nothing of that size is ever on disk or
// in memory.

// part is bytes placed at off; when until is past off+len(data), data repeats up to until.
type part struct {
	off   int64
	data  []byte
	until int64
}

type virtFile struct {
	size  int64
	parts []part
}

func (v *virtFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= v.size {
		return 0, io.EOF
	}
	n := len(p)
	if int64(n) > v.size-off {
		n = int(v.size - off)
	}
	clear(p[:n])
	for _, pt := range v.parts {
		end := pt.off + int64(len(pt.data))
		if pt.until > end {
			end = pt.until
		}
		lo, hi := max(off, pt.off), min(off+int64(n), end)
		for x := lo; x < hi; {
			i := (x - pt.off) % int64(len(pt.data))
			x += int64(copy(p[x-off:hi-off], pt.data[i:]))
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// topBoxes lists an in-memory MP4's top-level boxes.
func topBoxes(b []byte) (offs []int, types []string) {
	for o := 0; o+8 <= len(b); {
		sz := int(binary.BigEndian.Uint32(b[o:]))
		offs, types = append(offs, o), append(types, string(b[o+4:o+8]))
		if sz < 8 {
			break
		}
		o += sz
	}
	return
}

func boxAt(offs []int, types []string, typ string, nth int) int {
	for i, t := range types {
		if t == typ {
			if nth == 0 {
				return offs[i]
			}
			nth--
		}
	}
	return -1
}

func lastIndex(b []byte, sub string) int { return bytes.LastIndex(b, []byte(sub)) }

// large is one format's virtual body of about size bytes, and the duration it should probe
// to (within tolerance ms).
type large struct {
	name      string
	body      *virtFile
	ms, tolMS int64
}

func put32(b []byte, v uint32) { binary.BigEndian.PutUint32(b, v) }

func largeBodies(tb testing.TB, size int64) []large {
	var out []large
	add := func(name string, v *virtFile, ms, tol int64) { out = append(out, large{name, v, ms, tol}) }

	// WAV: the header with both sizes patched; silence after.
	{
		h := append([]byte(nil), readFixture(tb, "wav_s16le.wav")[:44]...)
		binary.LittleEndian.PutUint32(h[4:], uint32(size-8))
		binary.LittleEndian.PutUint32(h[40:], uint32(size-44))
		add("wav", &virtFile{size, []part{{0, h, 0}}}, (size-44)/2*1000/8000, 1)
	}
	// RF64: the same, sizes in ds64 (and the 32-bit fields 0xFFFFFFFF), here over 4 GiB too.
	{
		f := readFixture(tb, "wav_rf64.wav")
		d := bytes.Index(f, []byte("data"))
		h := append([]byte(nil), f[:d+8]...)
		binary.LittleEndian.PutUint64(h[20:], uint64(size-8))
		binary.LittleEndian.PutUint64(h[28:], uint64(size-int64(len(h))))
		binary.LittleEndian.PutUint64(h[36:], uint64(size-int64(len(h)))/2)
		add("wav_rf64", &virtFile{size, []part{{0, h, 0}}}, (size-int64(len(h)))/2*1000/8000, 1)
	}
	// M4A, moov at the end: ftyp, free, an mdat filling the middle, the fixture's moov.
	for _, name := range []string{"m4a_moov_end.m4a", "m4a_faststart.m4a"} {
		f := readFixture(tb, name)
		offs, types := topBoxes(f)
		mdat, moov := boxAt(offs, types, "mdat", 0), boxAt(offs, types, "moov", 0)
		moovLen := int(binary.BigEndian.Uint32(f[moov:]))
		var v *virtFile
		if moov > mdat {
			h := append([]byte(nil), f[:mdat+8]...)
			put32(h[mdat:], uint32(size-int64(mdat)-int64(moovLen)))
			v = &virtFile{size, []part{{0, h, 0}, {size - int64(moovLen), f[moov : moov+moovLen], 0}}}
		} else {
			h := append([]byte(nil), f[:mdat+8]...)
			put32(h[mdat:], uint32(size-int64(mdat)))
			v = &virtFile{size, []part{{0, h, 0}}}
		}
		add(name[:len(name)-4], v, 1000, 23)
	}
	// Fragmented MP4 as MediaRecorder writes it: ftyp+moov, the first fragment, the second
	// fragment repeated to fill the body, the last fragment with its tfdt moved to match.
	{
		f := readFixture(tb, "mp4_fragmented_notrailer.mp4")
		offs, types := topBoxes(f)
		m1, m2, m3 := boxAt(offs, types, "moof", 1), boxAt(offs, types, "moof", 2), boxAt(offs, types, "moof", 3)
		head, frag, tail := f[:m1], f[m1:m2], append([]byte(nil), f[m3:]...)
		tfdt := func(b []byte) uint64 { i := bytes.Index(b, []byte("tfdt")); return binary.BigEndian.Uint64(b[i+8:]) }
		step := tfdt(f[m2:]) - tfdt(f[m1:])
		lastDur := uint64(97024) - tfdt(tail) // ffprobe: 2.021333 s at 48 kHz in all
		k := (size - int64(len(head)) - int64(len(tail))) / int64(len(frag))
		newT := tfdt(f[m1:]) + uint64(k)*step
		binary.BigEndian.PutUint64(tail[bytes.Index(tail, []byte("tfdt"))+8:], newT)
		total := int64(len(head)) + k*int64(len(frag)) + int64(len(tail))
		v := &virtFile{total, []part{{0, head, 0}, {int64(len(head)), frag, int64(len(head)) + k*int64(len(frag))}, {total - int64(len(tail)), tail, 0}}}
		add("mp4_fragmented", v, int64((newT+lastDur)*1000/48000), 21)
	}
	// WebM without Duration: the headers and first clusters, silence, the last cluster.
	{
		f := readFixture(tb, "webm_opus_noduration.webm")
		c := lastIndex(f, "\x1f\x43\xb6\x75")
		v := &virtFile{size, []part{{0, f[:c], 0}, {size - int64(len(f)-c), f[c:], 0}}}
		add("webm_noduration", v, 2020, 20)
		add("webm_duration", &virtFile{size, []part{{0, readFixture(tb, "webm_opus.webm"), 0}}}, 1008, 20)
	}
	// Ogg: the first pages, silence, the last page.
	for _, name := range [][2]string{{"ogg_opus", "ogg_opus.opus"}, {"ogg_vorbis", "ogg_vorbis.ogg"}} {
		f := readFixture(tb, name[1])
		p := lastIndex(f, "OggS")
		add(name[0], &virtFile{size, []part{{0, f[:p], 0}, {size - int64(len(f)-p), f[p:], 0}}}, 1000, 93)
	}
	// FLAC, MP3 (Xing): STREAMINFO or the Xing frame say it all.
	add("flac", &virtFile{size, []part{{0, readFixture(tb, "flac.flac"), 0}}}, 1000, 1)
	add("mp3_vbr_xing", &virtFile{size, []part{{0, readFixture(tb, "mp3_vbr_xing.mp3"), 0}}}, 1000, 26)
	// MP3 CBR: the ID3 tag and frames, then frames repeated; duration from size and bitrate.
	{
		f := readFixture(tb, "mp3_cbr.mp3")
		id3, _ := id3Size(f)
		frames := f[id3:]
		add("mp3_cbr", &virtFile{size, []part{{0, f[:id3], 0}, {id3, frames, size}}}, (size-id3)*8*1000/32000, 26)
	}
	// ADTS and AMR: frames repeated to the end (counted within a window, then estimated).
	{
		f := readFixture(tb, "aac_adts.aac")
		n := size / int64(len(f))
		add("adts", &virtFile{n * int64(len(f)), []part{{0, f, n * int64(len(f))}}}, n*17*1024*1000/16000, 0)
	}
	{
		a := amrBody(false, 50)
		frames := a[6:]
		n := (size - 6) / int64(len(frames))
		add("amr_nb", &virtFile{6 + n*int64(len(frames)), []part{{0, a[:6], 0}, {6, frames, 6 + n*int64(len(frames))}}}, n*50*20, 0)
	}
	return out
}

// TestLargeBodies runs the tail, jump and estimate paths that the small fixtures (each read
// whole in the head window) never reach: bodies of 1 MiB, 1 GiB and 5 GiB.
func TestLargeBodies(t *testing.T) {
	for _, size := range []int64{1 << 20, 1 << 30, 5 << 30} {
		for _, l := range largeBodies(t, size) {
			if size > math.MaxUint32 && (l.name == "wav" || l.name[:3] == "m4a") {
				continue // 32-bit sizes: these need RF64 / a 64-bit mdat
			}
			c := &countingReader{r: l.body}
			info, err := Probe(context.Background(), c, l.body.size)
			if l.ms > 31*24*3600*1000 { // 5 GiB of AMR-NB: 47 days, longer than any recording accepted
				var e *Error
				if !errors.As(err, &e) || e.Reason != ReasonUnreadable {
					t.Errorf("%s %d: got %+v, %v; want unreadable_audio", l.name, size, info, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s %d: %v", l.name, size, err)
				continue
			}
			if c.over() {
				t.Errorf("%s %d: read %d bytes", l.name, size, c.n)
			}
			tol := l.tolMS
			if tol == 0 { // estimated: within 1 %
				tol = l.ms/100 + 20
			}
			if d := info.DurationMS - l.ms; d < -tol || d > tol {
				t.Errorf("%s %d: duration %d ms, want %d ± %d", l.name, size, info.DurationMS, l.ms, tol)
			}
		}
	}
}

// BenchmarkProbe reports the bytes and ReadAt calls one probe costs, for a 1 MiB and a 1 GiB
// recording of each format.
func BenchmarkProbe(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int64
	}{{"1MiB", 1 << 20}, {"1GiB", 1 << 30}} {
		for _, l := range largeBodies(b, size.n) {
			b.Run(l.name+"/"+size.name, func(b *testing.B) {
				var c *countingReader
				for i := 0; i < b.N; i++ {
					c = &countingReader{r: l.body}
					if _, err := Probe(context.Background(), c, l.body.size); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(c.n), "bytes_read/op")
				b.ReportMetric(float64(c.calls), "reads/op")
			})
		}
	}
}

// A WebM whose last Cluster header lies beyond the tail windows (PCM in WebM writes Clusters of
// megabytes): the duration is estimated from the first Cluster's bytes per millisecond.
func TestWebMEstimateWithoutLastCluster(t *testing.T) {
	f := readFixture(t, "webm_opus_noduration.webm")
	first := bytes.Index(f, []byte("\x1f\x43\xb6\x75"))
	last := lastIndex(f, "\x1f\x43\xb6\x75")
	const size = 64 << 20
	// Headers and every cluster but the last, then 64 MiB of the same kind of audio whose
	// cluster headers we never reach (zeros stand in for it).
	v := &virtFile{size, []part{{0, f[:last], 0}}}
	c := &countingReader{r: v}
	info, err := Probe(context.Background(), c, size)
	if err != nil {
		t.Fatal(err)
	}
	want := float64(2020) * float64(size-first) / float64(len(f)-first)
	if d := float64(info.DurationMS) / want; d < 0.75 || d > 1.25 {
		t.Errorf("estimated %d ms, want about %.0f", info.DurationMS, want)
	}
	if c.over() {
		t.Errorf("read %d bytes in %d calls", c.n, c.calls)
	}
	t.Logf("estimated %d ms (about %.0f expected), %d bytes in %d reads", info.DurationMS, want, c.n, c.calls)
}

// A fragmented MP4 whose last moof is further from the end than the tail windows (a last
// fragment of many seconds): the duration is extrapolated from the fragments in the head.
func TestMP4FragmentEstimateWithoutLastMoof(t *testing.T) {
	f := readFixture(t, "mp4_fragmented_notrailer.mp4")
	offs, types := topBoxes(f)
	m1, m2 := boxAt(offs, types, "moof", 1), boxAt(offs, types, "moof", 2)
	head, frag := f[:m1], f[m1:m2]
	const size = 256 << 20
	const lastMdat = 2 << 20
	k := (size - int64(len(head)) - lastMdat) / int64(len(frag))
	mid := int64(len(head)) + k*int64(len(frag))
	big := make([]byte, 8)
	put32(big, uint32(size-mid))
	copy(big[4:], "mdat")
	// The last "fragment" is an mdat of 2 MiB whose moof we drop: nothing to find at the end.
	v := &virtFile{size, []part{{0, head, 0}, {int64(len(head)), frag, mid}, {mid, big, 0}}}
	c := &countingReader{r: v}
	info, err := Probe(context.Background(), c, size)
	if err != nil {
		t.Fatal(err)
	}
	// Each fragment is 24576 ticks at 48 kHz (512 ms).
	want := float64(k+1) * 512
	if d := float64(info.DurationMS) / want; d < 0.9 || d > 1.1 {
		t.Errorf("estimated %d ms, want about %.0f", info.DurationMS, want)
	}
	if c.over() {
		t.Errorf("read %d bytes in %d calls", c.n, c.calls)
	}
	t.Logf("estimated %d ms (about %.0f expected), %d bytes in %d reads", info.DurationMS, want, c.n, c.calls)
}
