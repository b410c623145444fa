package dynamo_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
)

// rawStore is a Store with what tests need to read its items as stored.
type rawStore struct {
	*dynamo.Store
	prefix string
}

func newRawStore(t *testing.T) rawStore {
	t.Helper()
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	c := env.Provision(t, cfg)
	return rawStore{Store: dynamo.New(c.DynamoDB, cfg.TablePrefix), prefix: cfg.TablePrefix}
}

// item returns one item exactly as stored, decoded to plain values.
func (s rawStore) item(t *testing.T, table string, key map[string]string) map[string]any {
	t.Helper()
	k := map[string]types.AttributeValue{}
	for n, v := range key {
		k[n] = &types.AttributeValueMemberS{Value: v}
	}
	out, err := s.Client().GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(dynamo.TableName(s.prefix, table)), Key: k, ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := attributevalue.UnmarshalMap(out.Item, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// snapshot is the user's item (counters, reservations, quota version) and
// one recording's item.
func (s rawStore) snapshot(t *testing.T, uid, rid string) [2]map[string]any {
	t.Helper()
	return [2]map[string]any{
		s.item(t, dynamo.UsersTable, map[string]string{"user_id": uid}),
		s.item(t, dynamo.RecordingsTable, map[string]string{"user_id": uid, "recording_id": rid}),
	}
}

// Confirming a recording that is no longer pending changes nothing: not
// the record, not the counters, not the reservations. A rejected record
// still has a TTL in the future and an older sequencer than the event, so
// the status condition is the only thing that stops it.
func TestConfirmChangesNothingUnlessPending(t *testing.T) {
	s := newRawStore(t)
	u := newUser(t, s.Store, "not-pending")
	lim := recording.Limits{MaxUploadBytes: 100, MaxBytes: 1000, MaxRecordings: 10, MaxPending: 10}
	now := time.Now()
	late := dynamo.Object{Size: 10, ContentType: "audio/mp4", ETag: "e"}

	rejected, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "", "fp", lim, now)
	if err != nil {
		t.Fatal(err)
	}
	if applied, err := s.RejectUpload(ctx, rejected, "size_mismatch", "uploaded 9 bytes but 10 were declared", now); err != nil || !applied {
		t.Fatalf("reject: %v %v", applied, err)
	}

	deleting, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "", "fp", lim, now)
	if err != nil {
		t.Fatal(err)
	}
	if applied, err := s.ConfirmUpload(ctx, deleting, dynamo.Object{Size: 10, ContentType: "audio/mp4"}, now); err != nil || !applied {
		t.Fatalf("confirm: %v %v", applied, err)
	}
	deleting.Status = recording.StatusAvailable
	if err := s.BeginDelete(ctx, deleting, now); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		rec  recording.Recording
		want recording.Status
	}{{"rejected", rejected, recording.StatusRejected}, {"deleting", deleting, recording.StatusDeleting}} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.snapshot(t, u.ID, tc.rec.ID)
			// The event's view of the record is a stale "pending" one.
			stale := tc.rec
			stale.Status = recording.StatusPending
			applied, err := s.ConfirmUpload(ctx, stale, late, now)
			if err != nil || applied {
				t.Fatalf("confirm of a %s record: applied=%v err=%v; want a no-op", tc.name, applied, err)
			}
			after := s.snapshot(t, u.ID, tc.rec.ID)
			if !reflect.DeepEqual(before, after) {
				t.Fatalf("confirm of a %s record changed the items:\nbefore %v\nafter  %v", tc.name, before, after)
			}
			got, err := s.GetRecording(ctx, u.ID, tc.rec.ID)
			if err != nil || got.Status != tc.want {
				t.Fatalf("record is %q (%v), want %q", got.Status, err, tc.want)
			}
			user, err := s.GetUser(ctx, u.ID)
			if err != nil || user.BytesStored != 0 || user.RecordingCount != 0 {
				t.Fatalf("counters %d bytes, %d recordings (%v); want 0 and 0", user.BytesStored, user.RecordingCount, err)
			}
		})
	}
}

// The in-flight cap is reached and refused; an expired reservation and a
// confirmed upload each free a place.
func TestInFlightUploadCapAtStore(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "cap")
	lim := recording.Limits{MaxUploadBytes: 100, MaxBytes: 1 << 30, MaxRecordings: 1000, MaxPending: 3}
	now := time.Now()
	var first recording.Recording
	for i := 0; i < lim.MaxPending; i++ {
		r, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, now), "", "fp", lim, now)
		if err != nil {
			t.Fatalf("upload %d of %d: %v", i+1, lim.MaxPending, err)
		}
		if i == 0 {
			first = r
		}
	}
	_, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, now), "", "fp", lim, now)
	if recording.ErrorCode(err) != recording.CodeQuotaExceeded || !strings.Contains(err.Error(), "uploads in progress") {
		t.Fatalf("upload over the in-flight cap: %v", err)
	}
	if applied, err := s.ConfirmUpload(ctx, first, dynamo.Object{Size: 1, ContentType: "audio/mp4"}, now); err != nil || !applied {
		t.Fatalf("confirm: %v %v", applied, err)
	}
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, now), "", "fp", lim, now); err != nil {
		t.Fatalf("upload after a confirmation freed a place: %v", err)
	}
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, now), "", "fp", lim, now); recording.ErrorCode(err) != recording.CodeQuotaExceeded {
		t.Fatalf("upload over the cap again: %v", err)
	}
	later := now.Add(2 * time.Hour) // every reservation has expired
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, later), "", "fp", lim, later); err != nil {
		t.Fatalf("upload once the reservations expired: %v", err)
	}
}
