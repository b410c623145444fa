package dynamo_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

// deviceSession stores a session with its first pair, as a sign-in does,
// and returns its refresh token as read back.
func deviceSession(t *testing.T, s *dynamo.Store, id, user string, now time.Time) dynamo.RefreshToken {
	t.Helper()
	err := s.CreateDeviceSession(ctx, dynamo.NewDeviceSession{
		Session: recording.DeviceSession{ID: id, UserID: user, CreatedAt: now, LastUsedAt: now.Truncate(time.Hour),
			ExpiresAt: now.Add(24 * time.Hour)},
		AccessHash: id + "-a0", AccessExpiresAt: now.Add(time.Hour), RefreshKey: "r:" + id + "-r0",
	})
	if err != nil {
		t.Fatal(err)
	}
	rt, found, err := s.GetRefreshToken(ctx, "r:"+id+"-r0")
	if err != nil || !found {
		t.Fatalf("refresh token: %v %v", found, err)
	}
	rt.UserID = user
	return rt
}

func rotation(old dynamo.RefreshToken, gen string, now time.Time) dynamo.Rotation {
	return dynamo.Rotation{Old: old, Salt: "salt-" + gen, NewAccessHash: old.SessionID + "-a" + gen,
		NewRefreshKey: "r:" + old.SessionID + "-r" + gen, AccessExpiresAt: now.Add(time.Hour),
		RefreshExpiresAt: now.Add(24 * time.Hour), GraceUntil: now.Add(10 * time.Second), Now: now}
}

// Rotations of one refresh token at once: exactly one commits, whatever
// pairs the others would have issued.
func TestRotationOfOneTokenCommitsOnce(t *testing.T) {
	s := newStore(t)
	now := time.Now().UTC()
	old := deviceSession(t, s, "race", "u-race", now)
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.RotateSession(ctx, rotation(old, string(rune('1'+i)), now))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, dynamo.ErrRefreshSpent):
			t.Errorf("a losing rotation failed with %v, want ErrRefreshSpent", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d rotations of one refresh token committed", won)
	}
	spent, _, _ := s.GetRefreshToken(ctx, old.Key)
	if !spent.Retired || spent.ChildKey == "" {
		t.Fatalf("the old token after the race: %+v", spent)
	}
}

// A session revoked between a refresh's read and its rotation stays
// revoked: the rotation is refused and nothing of it is written.
func TestRotationCannotReviveARevokedSession(t *testing.T) {
	s := newStore(t)
	now := time.Now().UTC()
	old := deviceSession(t, s, "gone", "u-gone", now)
	if ok, err := s.RevokeDeviceSession(ctx, "u-gone", "gone"); err != nil || !ok {
		t.Fatalf("revoke: %v %v", ok, err)
	}
	if err := s.RotateSession(ctx, rotation(old, "1", now)); !errors.Is(err, dynamo.ErrSessionGone) {
		t.Fatalf("rotation of a revoked session: %v, want ErrSessionGone", err)
	}
	if _, _, found, _ := s.GetDeviceSession(ctx, "gone"); found {
		t.Fatal("the rotation brought the session record back")
	}
	if _, found, _ := s.GetSession(ctx, "gone-a1"); found {
		t.Fatal("the rotation's access token was stored")
	}
}

// A session keeps at most two live access tokens, and revoking it deletes
// both.
func TestRevocationDeletesEveryLiveAccessToken(t *testing.T) {
	s := newStore(t)
	now := time.Now().UTC()
	old := deviceSession(t, s, "chain", "u-chain", now)
	for gen := 1; gen <= 3; gen++ {
		g := string(rune('0' + gen))
		if err := s.RotateSession(ctx, rotation(old, g, now)); err != nil {
			t.Fatal(err)
		}
		next, _, _ := s.GetRefreshToken(ctx, "r:chain-r"+g)
		next.UserID = "u-chain"
		old = next
	}
	live := map[string]bool{}
	for _, h := range []string{"chain-a0", "chain-a1", "chain-a2", "chain-a3"} {
		_, found, _ := s.GetSession(ctx, h)
		live[h] = found
	}
	if live["chain-a0"] || live["chain-a1"] || !live["chain-a2"] || !live["chain-a3"] {
		t.Fatalf("live access tokens after three rotations: %v", live)
	}
	if ok, err := s.RevokeDeviceSession(ctx, "u-other", "chain"); err != nil || ok {
		t.Fatalf("another user revoked the session: %v %v", ok, err)
	}
	if ok, err := s.RevokeDeviceSession(ctx, "u-chain", "chain"); err != nil || !ok {
		t.Fatalf("revoke: %v %v", ok, err)
	}
	for _, h := range []string{"chain-a2", "chain-a3"} {
		if _, found, _ := s.GetSession(ctx, h); found {
			t.Errorf("%s outlived the revocation", h)
		}
	}
}
