package lifecycle_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"

	"github.com/voicerec/backend/internal/awsclients"
	"github.com/voicerec/backend/internal/lifecycle"
	"github.com/voicerec/backend/internal/s3"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// A declared SHA-256 binds the recording to one body. The presigned URL
// makes storage refuse any other, but a body can reach the key another
// way (storage credentials, a bug): one of the declared size and type, and
// real audio, with another digest is rejected, never confirmed.
func TestOtherBodyThanDeclaredChecksumIsRejected(t *testing.T) {
	s, held := startHeld(t, stack.Options{})
	token, _ := s.Login(t, "checksummer")
	const size = 6000
	declared, other := audio(size, 'd'), audio(size, 'o')
	sum := sha256.Sum256(declared)
	otherSum := sha256.Sum256(other)
	var up stack.Upload
	req := map[string]any{"file_name": "memo.m4a", "content_type": m4a, "size_bytes": size,
		"sha256": base64.StdEncoding.EncodeToString(sum[:])}
	if st := s.Call(t, token, http.MethodPost, "/v1/recordings", req, &up); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	key := s.ObjectKey(t, up.Upload.URL)
	adminPut(t, s, key, other, base64.StdEncoding.EncodeToString(otherSum[:]))

	outcome := held.deliver(t, held.next(t, key, "ObjectCreated"))
	got, st := s.Get(t, token, up.Recording.ID)
	if outcome != "rejected" || st != http.StatusOK || got.Status != "rejected" || got.RejectReason != "checksum_mismatch" {
		t.Fatalf("outcome %q; recording %d %v, reason %q (%q); want rejected with checksum_mismatch",
			outcome, st, got, got.RejectReason, got.RejectDetail)
	}
	if stored(t, s, key) {
		t.Error("the other body is still stored")
	}
	if b, n := s.Usage(t, token); b != 0 || n != 0 {
		t.Errorf("usage = %d bytes, %d recordings; want 0, 0", b, n)
	}
}

// countingKeeper is a Keeper beside the stack's, on an S3 client that
// counts every request it sends by operation; presigning sends nothing and
// is not counted.
func countingKeeper(t *testing.T, s *stack.Stack) (*lifecycle.Keeper, func() map[string]int) {
	t.Helper()
	var mu sync.Mutex
	ops := map[string]int{}
	awsCfg := testenv.AWSConfig(s.Config.Region)
	awsCfg.APIOptions = append(awsCfg.APIOptions, func(st *middleware.Stack) error {
		return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("count-s3",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				mu.Lock()
				ops[awsmw.GetOperationName(ctx)]++
				mu.Unlock()
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	})
	c := awsclients.From(s.Config, awsCfg)
	k := &lifecycle.Keeper{Store: s.Store, Objects: s3.New(c.S3, c.Presign, s.Config.Bucket), Log: slog.New(slog.DiscardHandler)}
	return k, func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(ops)
	}
}

func seenIn(ev events.S3Event) lifecycle.Seen {
	r := ev.Records[0]
	return lifecycle.Seen{Key: r.S3.Object.URLDecodedKey, Size: r.S3.Object.Size, ETag: r.S3.Object.ETag, At: r.EventTime}
}

// A single PUT's event reports the object's size and ETag, and its URL
// signed the type: confirming it costs the probe's ranged reads and no
// HEAD. With a declared digest the HEAD stays: only it returns the stored
// checksum.
func TestPutEventConfirmsWithoutHead(t *testing.T) {
	s, held := startHeld(t, stack.Options{})
	token, uid := s.Login(t, "counted")
	keeper, ops := countingKeeper(t, s)
	const size = 6000
	body := audio(size, 'h')
	up := s.CreateUpload(t, token, "memo.m4a", m4a, size)
	key := s.ObjectKey(t, up.Upload.URL)
	if st := stack.Put(t, up.Upload, body); st != http.StatusOK {
		t.Fatalf("PUT: %d", st)
	}
	outcome, err := keeper.ConvergeSeen(context.Background(), uid, up.Recording.ID, seenIn(held.next(t, key, "ObjectCreated")))
	if err != nil || outcome != lifecycle.OutcomeConfirmed {
		t.Fatalf("outcome %q, %v; want confirmed", outcome, err)
	}
	if got := ops(); got["HeadObject"] != 0 || got["GetObject"] < 1 || len(got) != 1 {
		t.Errorf("S3 requests %v; want ranged GETs only", got)
	}

	sum := sha256.Sum256(body)
	var declared stack.Upload
	req := map[string]any{"file_name": "memo.m4a", "content_type": m4a, "size_bytes": size, "sha256": base64.StdEncoding.EncodeToString(sum[:])}
	if st := s.Call(t, token, http.MethodPost, "/v1/recordings", req, &declared); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	key = s.ObjectKey(t, declared.Upload.URL)
	if st := stack.Put(t, declared.Upload, body); st != http.StatusOK {
		t.Fatalf("PUT: %d", st)
	}
	before := ops()["HeadObject"]
	outcome, err = keeper.ConvergeSeen(context.Background(), uid, declared.Recording.ID, seenIn(held.next(t, key, "ObjectCreated")))
	if err != nil || outcome != lifecycle.OutcomeConfirmed || ops()["HeadObject"] != before+1 {
		t.Errorf("with a declared digest: outcome %q, %v, HEADs %d; want confirmed after one HEAD", outcome, err, ops()["HeadObject"]-before)
	}
}

// An event can be stale: the same URL stored another body since. Its
// ETag no longer matches, so its reads fail; confirmation then reads the
// object as it is, and confirms that one, instead of failing on every
// redelivery.
func TestStalePutEventConfirmsTheObjectAsItIs(t *testing.T) {
	s, held := startHeld(t, stack.Options{})
	token, uid := s.Login(t, "twice")
	keeper, ops := countingKeeper(t, s)
	const size = 6000
	up := s.CreateUpload(t, token, "memo.m4a", m4a, size)
	key := s.ObjectKey(t, up.Upload.URL)
	if st := stack.Put(t, up.Upload, audio(size, 'a')); st != http.StatusOK {
		t.Fatalf("PUT: %d", st)
	}
	first := held.next(t, key, "ObjectCreated")
	if st := stack.Put(t, up.Upload, audio(size, 'b')); st != http.StatusOK {
		t.Fatalf("second PUT: %d", st)
	}
	second := held.next(t, key, "ObjectCreated")
	if first.Records[0].S3.Object.ETag == second.Records[0].S3.Object.ETag {
		t.Fatal("both bodies have one ETag: the test proves nothing")
	}
	outcome, err := keeper.ConvergeSeen(context.Background(), uid, up.Recording.ID, seenIn(first))
	if err != nil || outcome != lifecycle.OutcomeConfirmed {
		t.Fatalf("stale event: outcome %q, %v; want confirmed", outcome, err)
	}
	rec, err := s.Store.GetRecording(context.Background(), uid, up.Recording.ID)
	if err != nil || rec.ETag != strings.Trim(second.Records[0].S3.Object.ETag, `"`) {
		t.Errorf("confirmed ETag %q (%v), want the stored body's %q", rec.ETag, err, second.Records[0].S3.Object.ETag)
	}
	if ops()["HeadObject"] != 1 {
		t.Errorf("S3 requests %v; want one HEAD after the stale reads", ops())
	}
}
