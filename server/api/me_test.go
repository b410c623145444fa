package api_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// objectsUnder lists the bucket's keys under prefix.
func objectsUnder(t *testing.T, s *stack.Stack, prefix string) []string {
	t.Helper()
	out, err := s.Clients.S3.ListObjectsV2(bg, &awss3.ListObjectsV2Input{Bucket: &s.Config.Bucket, Prefix: &prefix})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// leftovers names every table that still holds something of the user.
func leftovers(t *testing.T, s *stack.Stack, uid string) []string {
	t.Helper()
	var left []string
	for _, tbl := range dynamo.Schema {
		if strings.Contains(scanTable(t, s, tbl.Name), uid) {
			left = append(left, tbl.Name)
		}
	}
	if keys := objectsUnder(t, s, recording.UserPrefix(uid)); len(keys) > 0 {
		left = append(left, fmt.Sprintf("bucket (%d objects)", len(keys)))
	}
	return left
}

func TestDeleteAccountLeavesNothing(t *testing.T) {
	t.Parallel()
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{Clock: clock})
	tok, uid := s.Login(t, "leaver")
	tok2, _ := s.Login(t, "leaver") // a second device
	otherTok, otherID := s.Login(t, "stayer")
	// Hold back the events of the stray object put below, as if its upload
	// were still landing: it must go because the account deletion removes
	// it, not because its event happened to arrive first.
	stray := recording.ObjectKey(uid, recording.NewID(s.Clock()), ".wav")
	s.Env.OnEvent(t, s.Config.Bucket, func(ctx context.Context, ev events.S3Event) error {
		if o := ev.Records[0].S3.Object; o.Key == stray || o.URLDecodedKey == stray {
			return nil
		}
		return s.Events.Handle(ctx, ev)
	})
	c := newClient(t, s.APIURL, tok)
	for i := 0; i < 30; i++ {
		c.upload(fmt.Sprintf("rec %d.wav", i), "audio/wav", audioBytes("audio/wav", 64))
	}
	for i := 0; i < 3; i++ {
		c.create(fmt.Sprintf("pending %d.wav", i), "audio/wav", 10, "Idempotency-Key", fmt.Sprintf("k%d", i))
	}
	// An object that landed without its record (an in-flight upload).
	if _, err := s.Clients.S3.PutObject(bg, &awss3.PutObjectInput{Bucket: &s.Config.Bucket, Key: &stray, Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	other := newClient(t, s.APIURL, otherTok)
	keptBody := audioBytes("audio/wav", 50)
	kept := other.upload("keep.wav", "audio/wav", keptBody)
	if _, err := s.Objects.Head(bg, stray); err != nil {
		t.Fatalf("the stray object is gone before the account deletion: %v", err)
	}

	wantStatus(t, c.do("DELETE", "/v1/me", nil), 204)
	// The pending uploads' URLs may still land: their records stay, as
	// "deleting", until the window and grace are over, to catch them.
	for _, tbl := range dynamo.Schema {
		dump := scanTable(t, s, tbl.Name)
		if !strings.Contains(dump, uid) {
			continue
		}
		var mine []string
		for _, line := range strings.Split(dump, "\n") {
			if strings.Contains(line, uid) {
				mine = append(mine, line)
			}
		}
		if tbl.Name != dynamo.RecordingsTable || len(mine) != 3 || strings.Count(strings.Join(mine, "\n"), "status:deleting") != 3 {
			t.Fatalf("left behind in %s right after account deletion: %v", tbl.Name, mine)
		}
	}
	if keys := objectsUnder(t, s, recording.UserPrefix(uid)); len(keys) > 0 {
		t.Fatalf("objects left behind: %v", keys)
	}
	clock.Advance(s.Config.PendingUploadTTL + s.Config.UploadGrace + time.Second)
	if _, err := s.Keeper.Reconcile(bg, 100); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(t, s, uid); len(left) > 0 {
		t.Fatalf("left behind after account deletion and its reconcile: %v", left)
	}
	wantProblem(t, c.do("GET", "/v1/me", nil), 401, "unauthorized")
	wantProblem(t, newClient(t, s.APIURL, tok2).do("GET", "/v1/recordings", nil), 401, "unauthorized")
	// The other user is untouched: record, object and bytes.
	got := other.waitAvailable(kept.ID)
	if got.ID != kept.ID || got.Download == nil {
		t.Fatalf("other user's recording disturbed: %+v", got)
	}
	if keys := objectsUnder(t, s, recording.UserPrefix(otherID)); len(keys) != 1 || keys[0] != recording.ObjectKey(otherID, kept.ID, ".wav") {
		t.Fatalf("the other user's objects are %v, want only their recording's", keys)
	}
	if status, b := fetch(t, got.Download.URL); status != 200 || !bytes.Equal(b, keptBody) {
		t.Fatalf("the other user's recording downloads as %d, %d bytes", status, len(b))
	}
	// Signing in again makes a brand-new account.
	r := newClient(t, s.APIURL, "").do("POST", "/v1/auth/login", map[string]string{"provider": "dev", "id_token": s.IDToken(t, "leaver")})
	wantStatus(t, r, 201)
}

// A deletion that failed halfway is finished by the app's retry.
func TestDeleteAccountResumesAfterPartialFailure(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	tok, uid := s.Login(t, "half")
	c := newClient(t, s.APIURL, tok)
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, c.upload(fmt.Sprintf("%d.wav", i), "audio/wav", audioBytes("audio/wav", 64)).ID)
	}
	// What a crash after the first steps leaves: the account marked, two
	// objects and records gone, the rest still there.
	if err := s.Store.MarkAccountDeleting(bg, uid, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[:2] {
		if err := s.Objects.Delete(bg, recording.ObjectKey(uid, id, ".wav")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Store.DeleteRecordings(bg, uid, ids[:2]); err != nil {
		t.Fatal(err)
	}
	// New uploads are refused while the deletion is unfinished.
	wantProblem(t, c.do("POST", "/v1/recordings", map[string]any{"file_name": "x.wav", "content_type": "audio/wav", "size_bytes": 1}), 409, "account_deleting")

	wantStatus(t, c.do("DELETE", "/v1/me", nil), 204)
	if left := leftovers(t, s, uid); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}
}
