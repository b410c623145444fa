package client

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/recording"
)

// The client's copy of the id check agrees with the server's, on ids and on
// strings one character away from being ids.
func TestValidIDAgreesWithTheServer(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz./\x00é"
	for range 20_000 {
		b := []byte(recording.NewID(time.UnixMilli(rng.Int64N(1 << 47))))
		switch rng.IntN(4) {
		case 0:
			b[rng.IntN(len(b))] = chars[rng.IntN(len(chars))]
		case 1:
			b = b[:rng.IntN(len(b))]
		case 2:
			b = append(b, chars[rng.IntN(len(chars))])
		}
		if s := string(b); ValidID(s) != recording.ValidID(s) {
			t.Fatalf("%q: client %v, server %v", s, ValidID(s), recording.ValidID(s))
		}
	}
	for _, s := range []string{"01ARZ3NDEKTSV4RRFFQ69G5FAV", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "01arz3ndektsv4rrffq69g5fav",
		"81ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAI", "/../../.config/autostart/e", ""} {
		if ValidID(s) != recording.ValidID(s) {
			t.Errorf("%q: client %v, server %v", s, ValidID(s), recording.ValidID(s))
		}
	}
}
