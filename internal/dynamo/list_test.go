package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

// listAll pages through a user's recordings in one status, two at a time,
// following every cursor, and returns their ids in order.
func listAll(t *testing.T, s *dynamo.Store, userID string, status recording.Status, now time.Time) []string {
	t.Helper()
	var got []string
	after := ""
	for page := 0; page < 10; page++ {
		items, next, err := s.ListRecordings(context.Background(), userID, status, 2, after, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			got = append(got, it.ID)
		}
		if next == "" {
			return got
		}
		after = next
	}
	t.Fatalf("still paging after 10 pages: %v", got)
	return nil
}

// pageThrough follows a listing's cursors from its first page to its last,
// limit items a page at most, and returns everything it listed, in order.
func pageThrough(t *testing.T, limit int, page func(after string) ([]recording.Recording, string, error)) []recording.Recording {
	t.Helper()
	var got []recording.Recording
	after := ""
	for range 30 {
		items, next, err := page(after)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) > limit {
			t.Fatalf("limit %d: page of %d", limit, len(items))
		}
		got = append(got, items...)
		if next == "" {
			return got
		}
		after = next
	}
	t.Fatalf("limit %d: still paging after 30 pages: %v", limit, got)
	return nil
}

func idsOf(recs []recording.Recording) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// Paging newest first sees every recording once, even as new ones arrive.
func TestPaginationWhileInserting(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "p")
	lim := recording.Limits{MaxUploadBytes: 100, MaxBytes: 1 << 30, MaxRecordings: 1000, MaxPending: 1000}
	base := time.Now()
	var want []string
	add := func(i int) string {
		at := base.Add(time.Duration(i) * time.Millisecond)
		r, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, at), "", "fp", lim, at)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConfirmUpload(ctx, r, dynamo.Object{Size: 1, ContentType: "audio/mp4"}, at); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	for i := 0; i < 25; i++ {
		want = append([]string{add(i)}, want...) // newest first
	}
	var got []string
	after := ""
	pages := 0
	for {
		items, next, err := s.ListRecordings(ctx, u.ID, recording.StatusAvailable, 10, after, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			got = append(got, it.ID)
		}
		pages++
		add(100 + pages) // a newer recording lands between pages
		if next == "" {
			break
		}
		after = next
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pages saw\n%v\nwant\n%v", got, want)
	}
}

// When the filter drops items from a full page, the page
// still says where to continue; before, the rest of the list was
// unreachable.
func TestPageWithFilteredItemsKeepsItsCursor(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Now().UTC()
	u := newUser(t, s, "pager")
	lim := recording.Limits{MaxBytes: 1 << 30, MaxRecordings: 100, MaxPending: 100}
	// Newest first: r4, r3 rejected now; r2 rejected eight days ago (its
	// retention is over); r1, the oldest, rejected now.
	var recs []recording.Recording
	for i := range 4 {
		r := pendingRec(u.ID, 10, now.Add(time.Duration(i)*time.Millisecond))
		if _, _, err := s.CreateUpload(ctx, r, "", "fp", lim, now); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	for i, r := range recs {
		at := now
		if i == 1 {
			at = now.Add(-8 * 24 * time.Hour)
		}
		if applied, err := s.RejectUpload(ctx, r, "size_mismatch", "wrong size", at); err != nil || !applied {
			t.Fatalf("reject %d: %v %v", i, applied, err)
		}
	}
	got := listAll(t, s, u.ID, recording.StatusRejected, now)
	want := []string{recs[3].ID, recs[2].ID, recs[0].ID}
	if len(got) != len(want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("listed %v, want %v", got, want)
		}
	}
}

// Paging stops exactly at the end: a page as long as what is left carries
// no cursor.
func TestLastFullPageHasNoCursor(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "full-page")
	base := time.Now()
	for i := 0; i < 3; i++ {
		at := base.Add(time.Duration(i) * time.Millisecond)
		r, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, at), "", "fp", wide, at)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConfirmUpload(ctx, r, dynamo.Object{Size: 1, ContentType: "audio/mp4"}, at); err != nil {
			t.Fatal(err)
		}
	}
	items, next, err := s.ListRecordings(ctx, u.ID, recording.StatusAvailable, 3, "", base)
	if err != nil || len(items) != 3 || next != "" {
		t.Fatalf("%d items, next %q (%v); want 3 and no cursor", len(items), next, err)
	}
}

// Pending uploads past their window stay listed until the reconciler closes
// them (they may still land), and paging reaches every one.
func TestPendingUploadsPastTheirWindowStayListed(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "expired-first")
	t0 := time.Now()
	var live []string
	for i := 0; i < 2; i++ { // older, long-lived
		at := t0.Add(time.Duration(i) * time.Millisecond)
		r := pendingRec(u.ID, 1, at)
		long := t0.Add(10 * time.Hour)
		r.ExpiresAt = &long
		if _, _, err := s.CreateUpload(ctx, r, "", "fp", wide, at); err != nil {
			t.Fatal(err)
		}
		live = append(live, r.ID)
	}
	for i := 0; i < 3; i++ { // newer, expire in an hour
		at := t0.Add(time.Duration(10+i) * time.Millisecond)
		if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, at), "", "fp", wide, at); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(2 * time.Hour)
	got := listAll(t, s, u.ID, recording.StatusPending, now)
	if len(got) != 5 || got[3] != live[1] || got[4] != live[0] {
		t.Fatalf("pages saw %v, want all five, the long-lived %v last", got, live)
	}
}

// One listing of every status the user works with. Trash,
// deleting records and rejected ones past their retention stay out, and
// the cursor carries the listing across pages however many of the items
// between were filtered away.
func TestListAllRecordingsSpansStatusesAndSkipsTrash(t *testing.T) {
	s := newStore(t)
	now := time.Now().UTC()
	u := newUser(t, s, "listall")
	lim := recording.Limits{MaxBytes: 1 << 30, MaxRecordings: 100, MaxPending: 100}
	// Oldest first: what each record becomes.
	plan := []string{"available", "trash", "rejected", "deleting", "pending", "expired-reject", "trash", "trash", "trash", "trash", "trash", "trash", "trash", "trash", "available", "rejected"}
	var want []string
	for i, what := range plan {
		r := pendingRec(u.ID, 10, now.Add(time.Duration(i)*time.Millisecond))
		if _, _, err := s.CreateUpload(ctx, r, "", "fp", lim, now); err != nil {
			t.Fatal(err)
		}
		confirm := func() {
			t.Helper()
			if applied, err := s.ConfirmUpload(ctx, r, dynamo.Object{Size: 10, ContentType: "audio/mp4"}, now); err != nil || !applied {
				t.Fatalf("confirm %d: %v %v", i, applied, err)
			}
			r.Status = recording.StatusAvailable
		}
		switch what {
		case "available":
			confirm()
		case "trash":
			confirm()
			if _, err := s.Trash(ctx, r, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		case "deleting":
			confirm()
			if err := s.BeginDelete(ctx, r, now); err != nil {
				t.Fatal(err)
			}
		case "rejected", "expired-reject":
			at := now
			if what == "expired-reject" {
				at = now.Add(-8 * 24 * time.Hour)
			}
			if applied, err := s.RejectUpload(ctx, r, "size_mismatch", "wrong size", at); err != nil || !applied {
				t.Fatalf("reject %d: %v %v", i, applied, err)
			}
		}
		switch what {
		case "available", "rejected", "pending":
			want = append(want, r.ID)
		}
	}
	slices.Reverse(want)
	for _, limit := range []int{1, 2, 3, 100} {
		got := idsOf(pageThrough(t, limit, func(after string) ([]recording.Recording, string, error) {
			return s.ListAllRecordings(context.Background(), u.ID, limit, after, now)
		}))
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: listed %v, want %v", limit, got, want)
		}
	}
}

// The listing of every status bounds the Queries behind one page: when
// trash fills them, the page is returned short with a cursor, and each
// Query asks only for what the page still needs, so the page ends where
// its fourth Query stopped. The cursor then leads on to the rest.
func TestListAllPageEndsAfterItsQueryBound(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "listall-bound")
	now := time.Now().UTC()
	// Oldest first: two live, eight in the trash, one live.
	plan := []bool{true, true, false, false, false, false, false, false, false, false, true}
	var live []string
	for i, keep := range plan {
		r := availableRec(t, s, u.ID, 1, now.Add(time.Duration(i)*time.Millisecond))
		if keep {
			live = append([]string{r.ID}, live...)
			continue
		}
		if _, err := s.Trash(ctx, r, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// Limit 2: Queries of 3, 2, 2 and 2 items read the newest live one
	// and the eight in the trash, then stop.
	var pages [][]string
	after := ""
	for range 5 {
		items, next, err := s.ListAllRecordings(ctx, u.ID, 2, after, now)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		pages = append(pages, ids)
		if next == "" {
			break
		}
		after = next
	}
	if len(pages) != 2 || !slices.Equal(pages[0], live[:1]) || !slices.Equal(pages[1], live[1:]) {
		t.Fatalf("pages %v, want [%v %v]", pages, live[:1], live[1:])
	}
}

// A page of the listing of every status that holds exactly what is left
// carries no cursor: the app would otherwise ask for an empty page.
func TestListAllLastFullPageHasNoCursor(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "listall-full")
	now := time.Now()
	for i := range 2 {
		at := now.Add(time.Duration(i) * time.Millisecond)
		if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, at), "", "fp", wide, at); err != nil {
			t.Fatal(err)
		}
	}
	items, next, err := s.ListAllRecordings(ctx, u.ID, 2, "", now)
	if err != nil || len(items) != 2 || next != "" {
		t.Fatalf("%d items, next %q (%v); want 2 and no cursor", len(items), next, err)
	}
}

// A listing reads only some attributes of each item, and must still show
// everything the API shows of a recording (its JSON), and its object key
// for download URLs, in every status and through both list queries.
func TestListShowsWhatGetShows(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "shown")
	now := time.Now().Truncate(time.Second)
	recorded, dur := now.Add(-time.Hour), int64(61_000)

	full := pendingRec(u.ID, 1000, now)
	full.RecordedAt, full.DurationMS, full.SHA256 = &recorded, &dur, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	full, _, err := s.CreateUpload(ctx, full, "", "fp", wide, now)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ConfirmUpload(ctx, full, dynamo.Object{Size: 1000, ContentType: "audio/mp4", ETag: "abc", SHA256: full.SHA256,
		DurationMS: dur, Codec: "aac", SampleRateHz: 44100, Channels: 2}, now); err != nil || !ok {
		t.Fatalf("confirm: %v %v", ok, err)
	}
	multipart := pendingRec(u.ID, 1000, now.Add(time.Millisecond))
	multipart.UploadID, multipart.PartSize = "upload-1", 500
	if _, _, err := s.CreateUpload(ctx, multipart, "", "fp", wide, now); err != nil {
		t.Fatal(err)
	}
	rejected, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1000, now.Add(2*time.Millisecond)), "", "fp", wide, now)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.RejectUpload(ctx, rejected, recording.RejectSizeMismatch, "uploaded 1 bytes", now); err != nil || !ok {
		t.Fatalf("reject: %v %v", ok, err)
	}

	shown := func(r recording.Recording) string {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b) + " key=" + r.Key
	}
	want := map[string]string{}
	for _, id := range []string{full.ID, multipart.ID, rejected.ID} {
		r, err := s.GetRecording(ctx, u.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		want[id] = shown(r)
	}
	var listed []recording.Recording
	for _, st := range []recording.Status{recording.StatusAvailable, recording.StatusPending, recording.StatusRejected} {
		items, _, err := s.ListRecordings(ctx, u.ID, st, 10, "", now)
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, items...)
	}
	all, _, err := s.ListAllRecordings(ctx, u.ID, 10, "", now)
	if err != nil {
		t.Fatal(err)
	}
	listed = append(listed, all...)
	if len(listed) != 6 {
		t.Fatalf("listed %d items, want each of 3 twice", len(listed))
	}
	for _, r := range listed {
		if got := shown(r); got != want[r.ID] {
			t.Errorf("listed as\n %s\nwant\n %s", got, want[r.ID])
		}
	}
}

// Pending records are read from the user's partition, filtered: every one
// is listed once, newest first, across pages, however many records of
// other statuses sit between them, and no page costs more than its bound
// of Queries.
func TestPendingListingPagesPastOtherStatuses(t *testing.T) {
	s, calls, _ := countingStore(t)
	u := newUser(t, s, "pending-pages")
	now := time.Now().UTC()
	// Oldest first: what each record becomes.
	plan := []string{"pending"}
	plan = append(plan, slices.Repeat([]string{"available"}, 10)...)
	plan = append(plan, "pending", "trash", "trash", "trash", "pending", "rejected", "deleting", "pending", "pending")
	plan = append(plan, slices.Repeat([]string{"available"}, 6)...)
	var want []string
	for i, what := range plan {
		r := pendingRec(u.ID, 1, now.Add(time.Duration(i)*time.Millisecond))
		if _, _, err := s.CreateUpload(ctx, r, "", "fp", wide, now); err != nil {
			t.Fatal(err)
		}
		if what != "pending" && what != "rejected" {
			if applied, err := s.ConfirmUpload(ctx, r, dynamo.Object{Size: 1, ContentType: "audio/mp4"}, now); err != nil || !applied {
				t.Fatalf("confirm %d: %v %v", i, applied, err)
			}
			r.Status = recording.StatusAvailable
		}
		var err error
		switch what {
		case "pending":
			want = append([]string{r.ID}, want...)
		case "trash":
			_, err = s.Trash(ctx, r, now.Add(time.Hour))
		case "deleting":
			err = s.BeginDelete(ctx, r, now)
		case "rejected":
			_, err = s.RejectUpload(ctx, r, "size_mismatch", "wrong size", now)
		}
		if err != nil {
			t.Fatalf("%s %d: %v", what, i, err)
		}
	}
	calls.take()
	for _, limit := range []int{1, 2, 3, 100} {
		listed := pageThrough(t, limit, func(after string) ([]recording.Recording, string, error) {
			items, next, err := s.ListRecordings(ctx, u.ID, recording.StatusPending, limit, after, now)
			ops := calls.take()
			if q := len(ops) - len(slices.DeleteFunc(ops, func(op string) bool { return op == "Query" })); q > 4 {
				t.Fatalf("limit %d: a page took %d Queries", limit, q)
			}
			return items, next, err
		})
		for _, it := range listed {
			if it.Status != recording.StatusPending {
				t.Fatalf("limit %d: listed %s, which is %s", limit, it.ID, it.Status)
			}
		}
		if got := idsOf(listed); !slices.Equal(got, want) {
			t.Errorf("limit %d: listed %v, want %v", limit, got, want)
		}
	}
}

// A pending record stored before pending records left the by-status index
// still carries user_status <user>#pending: it is listed once, and
// confirmation gives it its new status key as it does any pending record.
func TestPendingRecordWithOldStatusKeyListsOnceAndConfirms(t *testing.T) {
	s := newRawStore(t)
	u := newUser(t, s.Store, "old-pending")
	now := time.Now().UTC()
	var recs []recording.Recording
	for i := range 3 {
		r, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, now.Add(time.Duration(i)*time.Millisecond)), "", "fp", wide, now)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	old := recs[1]
	table := aws.String(dynamo.TableName(s.prefix, dynamo.RecordingsTable))
	key := map[string]types.AttributeValue{
		"user_id": &types.AttributeValueMemberS{Value: u.ID}, "recording_id": &types.AttributeValueMemberS{Value: old.ID},
	}
	got, err := s.Client().GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	got.Item["user_status"] = &types.AttributeValueMemberS{Value: u.ID + "#pending"}
	if _, err := s.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: got.Item}); err != nil {
		t.Fatal(err)
	}
	want := []string{recs[2].ID, recs[1].ID, recs[0].ID}
	for _, limit := range []int{1, 2, 100} {
		listed := idsOf(pageThrough(t, limit, func(after string) ([]recording.Recording, string, error) {
			return s.ListRecordings(ctx, u.ID, recording.StatusPending, limit, after, now)
		}))
		if !slices.Equal(listed, want) {
			t.Fatalf("limit %d: listed %v, want %v", limit, listed, want)
		}
	}
	if applied, err := s.ConfirmUpload(ctx, old, dynamo.Object{Size: 1, ContentType: "audio/mp4"}, now); err != nil || !applied {
		t.Fatalf("confirm: %v %v", applied, err)
	}
	stored := s.item(t, dynamo.RecordingsTable, map[string]string{"user_id": u.ID, "recording_id": old.ID})
	if stored["user_status"] != u.ID+"#available" {
		t.Fatalf("confirmed record's user_status is %v", stored["user_status"])
	}
	if got := listAll(t, s.Store, u.ID, recording.StatusPending, now); !slices.Equal(got, []string{recs[2].ID, recs[0].ID}) {
		t.Fatalf("pending after confirmation: %v", got)
	}
	if got := listAll(t, s.Store, u.ID, recording.StatusAvailable, now); !slices.Equal(got, []string{old.ID}) {
		t.Fatalf("available after confirmation: %v", got)
	}
}
