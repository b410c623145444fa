package s3_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/voicerec/backend/internal/awsclients"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
	"github.com/voicerec/backend/internal/testenv"
)

// Head says "no such object" only when storage says so: a refusal (here,
// wrong credentials: 403) is an error, never ErrNoObject, or the events
// handler would drop the record of an object that still exists.
func TestHeadRefusedIsNotNoObject(t *testing.T) {
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	good := testenv.NewStore(env.Provision(t, cfg), cfg)
	key := recording.ObjectKey("01JUSER0000000000000000000", "01JREC00000000000000000001", ".wav")
	if _, err := good.Head(ctx, key); !errors.Is(err, s3.ErrNoObject) {
		t.Fatalf("missing object: %v, want ErrNoObject", err)
	}
	wrong := aws.Config{Region: cfg.Region, Credentials: credentials.NewStaticCredentialsProvider("nobody", "wrong-secret", "")}
	bad := testenv.NewStore(awsclients.From(cfg, wrong), cfg)
	if _, err := bad.Head(ctx, key); err == nil || errors.Is(err, s3.ErrNoObject) {
		t.Fatalf("HEAD with wrong credentials: %v, want an error other than ErrNoObject", err)
	}
}

func TestDeletePrefix(t *testing.T) {
	store := newStore(t)
	now := time.Now()
	for i, k := range []string{"recordings/u1/a", "recordings/u1/b", "recordings/u2/c"} {
		up, _ := store.PresignPut(ctx, k, "audio/wav", 1, "", nil, time.Minute, now)
		if code := put(t, up, []byte{byte(i)}, nil); code != 200 {
			t.Fatal(code)
		}
	}
	n, err := store.DeletePrefix(ctx, "recordings/u1/")
	if err != nil || n != 2 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	if _, err := store.Head(ctx, "recordings/u2/c"); err != nil {
		t.Fatalf("another user's object went too: %v", err)
	}
	if err := store.Delete(ctx, "recordings/u1/a"); err != nil {
		t.Fatalf("deleting a missing object must succeed: %v", err)
	}
}

// DeletePrefix removes the objects it counts, and DeleteKeys removes what
// it is given, not merely reports success.
func TestDeletePrefixRemovesTheObjects(t *testing.T) {
	store := newStore(t)
	now := time.Now()
	keys := []string{"recordings/u1/a", "recordings/u1/b", "recordings/u2/c", "recordings/u3/d"}
	for i, k := range keys {
		up, err := store.PresignPut(ctx, k, "audio/wav", 1, "", nil, time.Minute, now)
		if err != nil {
			t.Fatal(err)
		}
		if code := put(t, up, []byte{byte(i)}, nil); code != 200 {
			t.Fatal(code)
		}
	}
	if n, err := store.DeletePrefix(ctx, "recordings/u1/"); err != nil || n != 2 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	if err := store.DeleteKeys(ctx, []string{"recordings/u3/d"}); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		_, err := store.Head(ctx, k)
		if gone := errors.Is(err, s3.ErrNoObject); gone != (k != "recordings/u2/c") {
			t.Errorf("%s: Head says %v", k, err)
		}
	}
}
