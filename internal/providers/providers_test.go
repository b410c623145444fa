package providers_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/voicerec/backend/internal/providers"
	"github.com/voicerec/backend/internal/testenv/fakeprov"
)

var bg = context.Background()

func newKey(t *testing.T) string {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return base64.StdEncoding.EncodeToString(k)
}

// Sealed tokens open only for the user they were sealed for, with the key
// they were sealed with, and never contain the plaintext.
func TestLocalSealerBindsUserAndKey(t *testing.T) {
	s, err := providers.NewLocalSealer(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal(bg, "U1", []byte("refresh-token"))
	if err != nil || bytes.Contains(sealed, []byte("refresh-token")) {
		t.Fatalf("seal: %v %q", err, sealed)
	}
	if pt, err := s.Open(bg, "U1", sealed); err != nil || string(pt) != "refresh-token" {
		t.Fatalf("open: %q %v", pt, err)
	}
	if _, err := s.Open(bg, "U2", sealed); !errors.Is(err, providers.ErrUnsealable) {
		t.Fatalf("opened for another user: %v", err)
	}
	other, _ := providers.NewLocalSealer(newKey(t))
	if _, err := other.Open(bg, "U1", sealed); !errors.Is(err, providers.ErrUnsealable) {
		t.Fatalf("opened with another key: %v", err)
	}
	for _, bad := range []string{"", "c2hvcnQ=", base64.StdEncoding.EncodeToString(make([]byte, 31))} {
		if _, err := providers.NewLocalSealer(bad); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
}

// fakeKMS wraps data keys with a local key and insists on the encryption
// context, as KMS does.
type fakeKMS struct {
	wrap  *providers.LocalSealer
	calls int
}

func (f *fakeKMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	f.calls++
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	blob, _ := f.wrap.Seal(ctx, in.EncryptionContext["user_id"], key)
	return &kms.GenerateDataKeyOutput{Plaintext: bytes.Clone(key), CiphertextBlob: blob}, nil
}

func (f *fakeKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	key, err := f.wrap.Open(ctx, in.EncryptionContext["user_id"], in.CiphertextBlob)
	if err != nil {
		return nil, errors.New("InvalidCiphertextException")
	}
	return &kms.DecryptOutput{Plaintext: key}, nil
}

// Envelope encryption: a fresh data key per seal, wrapped by KMS under the
// user's encryption context.
func TestKMSSealerEnvelope(t *testing.T) {
	wrap, _ := providers.NewLocalSealer(newKey(t))
	f := &fakeKMS{wrap: wrap}
	s := &providers.KMSSealer{KMS: f, KeyID: "alias/test"}
	a, err := s.Seal(bg, "U1", []byte("tok"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Seal(bg, "U1", []byte("tok"))
	if f.calls != 2 || bytes.Equal(a, b) {
		t.Fatal("want a data key per seal")
	}
	if pt, err := s.Open(bg, "U1", a); err != nil || string(pt) != "tok" {
		t.Fatalf("open: %q %v", pt, err)
	}
	if _, err := s.Open(bg, "U2", a); err == nil {
		t.Fatal("opened for another user")
	}
}

// The client secret is what Apple verifies: the fake checks it with the
// team's public key on a real exchange and revocation.
func TestAppleExchangeAndRevokeAgainstFake(t *testing.T) {
	fake := fakeprov.NewApple(t, "com.example.app")
	key, err := providers.ParseApplePrivateKey(fake.PrivateKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	a := &providers.Apple{BaseURL: fake.URL, TeamID: fake.TeamID, KeyID: fake.KeyID, Key: key}
	code := fake.Code("sub-1", "com.example.app")
	if _, err := a.Exchange(bg, "com.example.app", code, "sub-2"); err == nil {
		t.Fatal("accepted a code of another subject")
	}
	code = fake.Code("sub-1", "com.example.app")
	rt, err := a.Exchange(bg, "com.example.app", code, "sub-1")
	if err != nil || rt == "" {
		t.Fatalf("exchange: %v", err)
	}
	if _, err := a.Exchange(bg, "com.example.app", code, "sub-1"); err == nil {
		t.Fatal("a code worked twice")
	}
	if err := a.Revoke(bg, "com.example.app", rt); err != nil {
		t.Fatal(err)
	}
	if got := fake.Revoked(); len(got) != 1 || got[0] != rt {
		t.Fatalf("revoked %v", got)
	}
	// A secret signed by another key is refused as Apple refuses it.
	other := fakeprov.NewApple(t, "com.example.app")
	okey, _ := providers.ParseApplePrivateKey(other.PrivateKeyPEM)
	bad := &providers.Apple{BaseURL: fake.URL, TeamID: fake.TeamID, KeyID: fake.KeyID, Key: okey}
	var pe *providers.Error
	if err := bad.Revoke(bg, "com.example.app", "x"); !errors.As(err, &pe) || pe.Status != 400 {
		t.Fatalf("foreign key: %v", err)
	}
	if n := fake.Calls("/auth/revoke"); n != 2 {
		t.Fatalf("a 400 was retried: %d calls", n)
	}
}
