package audio

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
)

// The read bound is pinned by its number, 1 MiB, not by MaxProbeBytes: a body that makes the
// prober read on and on must stop it at 1 MiB, and a bound raised or removed makes this fail.
//
// The body is the WebM fixture behind 2 MiB of padding: 32 Info elements of 64 KiB (the most
// the walker reads of one), each filled by a Void element, before the real Info and Tracks.
// The walker reads every Info whole, so each costs a 4 KiB read of its header and a 64 KiB
// read of its body. Without a byte bound the 32-read bound stops the walk at 1,175,552 bytes;
// with it, the probe gives up at 1,040,384 bytes, in 29 reads.
func TestReadBoundStopsPaddedWebM(t *testing.T) {
	const readBound = 1 << 20
	f := readFixture(t, "webm_opus.webm")
	const ebmlEnd, segChildren = 0x24, 0x30 // the fixture's EBML header, its Segment's children
	body := append([]byte(nil), f[:ebmlEnd]...)
	body = append(body, 0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF) // Segment, unknown size
	pad := make([]byte, 12+64<<10)
	copy(pad, []byte{0x15, 0x49, 0xA9, 0x66}) // Info
	binary.BigEndian.PutUint64(pad[4:], 1<<56|64<<10)
	pad[12] = 0xEC // Void
	binary.BigEndian.PutUint64(pad[13:], 1<<56|(64<<10-9))
	for i := 0; i < 32; i++ {
		body = append(body, pad...)
	}
	body = append(body, f[segChildren:]...)

	c := &countingReader{r: bytes.NewReader(body)}
	info, err := Probe(context.Background(), c, int64(len(body)))
	t.Logf("read %d bytes in %d calls: %+v, %v", c.n, c.calls, info, err)
	if c.n > readBound {
		t.Fatalf("read %d bytes of a %d-byte body, more than %d", c.n, len(body), readBound)
	}
	wantUnreadable(t, info, err)
	if c.calls >= maxReads {
		t.Fatalf("%d reads: the read count stopped the probe, not the byte bound this test is about", c.calls)
	}
}
