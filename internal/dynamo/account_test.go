package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
)

// Provider obligations: a token is kept only on a live account; the
// obligations are written once with the mark; a retained item keeps only
// what the retry needs.
func TestProviderObligations(t *testing.T) {
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	clients := env.Provision(t, cfg)
	s := dynamo.New(clients.DynamoDB, cfg.TablePrefix)
	ctx := context.Background()
	now := time.Now()
	u, _, err := s.SignIn(ctx, recording.Identity{Provider: "apple", Subject: "a1", Email: "a@example.com", Name: "A"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetAppleToken(ctx, u.ID, "com.example", []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkAccountDeleting(ctx, u.ID, now, "apple#a1", "kakao#k1"); err != nil {
		t.Fatal(err)
	}
	// A second mark changes nothing: the obligations stay as first written.
	if err := s.MarkAccountDeleting(ctx, u.ID, now, "other#x"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAppleToken(ctx, u.ID, "com.example", []byte{9}); recording.ErrorCode(err) != recording.CodeAccountDeleting {
		t.Fatalf("token set on a deleting account: %v", err)
	}
	got, err := s.GetUser(ctx, u.ID)
	if err != nil || !got.Deleting || len(got.Revoke) != 2 || string(got.AppleToken) != "\x01\x02\x03" || got.AppleClientID != "com.example" {
		t.Fatalf("after mark: %+v %v", got, err)
	}
	if err := s.DropRevocation(ctx, u.ID, "kakao#k1"); err != nil {
		t.Fatal(err)
	}
	if err := s.RetainForRevocation(ctx, u.ID, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetUser(ctx, u.ID)
	if got.Email != "" || got.Name != "" || len(got.Identities) != 0 || len(got.Providers) != 0 ||
		len(got.Revoke) != 1 || got.Revoke[0] != "apple#a1" || got.RevokeAttempts != 1 || len(got.AppleToken) == 0 {
		t.Fatalf("retained: %+v", got)
	}
	if err := s.DropRevocation(ctx, u.ID, "apple#a1"); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetUser(ctx, u.ID); len(got.Revoke) != 0 || len(got.AppleToken) != 0 || got.AppleClientID != "" {
		t.Fatalf("apple obligation dropped but its token kept: %+v", got)
	}
}
