package bench

import (
	"context"
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
)

// capacity counts DynamoDB calls and the capacity they consumed, by table.
type capacity struct {
	calls    int
	rru, wru float64
	byTable  map[string]float64
}

func (c *capacity) middleware(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("feed-capacity",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			indexes := types.ReturnConsumedCapacityIndexes
			switch p := in.Parameters.(type) {
			case *dynamodb.GetItemInput:
				p.ReturnConsumedCapacity = indexes
			case *dynamodb.BatchGetItemInput:
				p.ReturnConsumedCapacity = indexes
			case *dynamodb.UpdateItemInput:
				p.ReturnConsumedCapacity = indexes
			case *dynamodb.DeleteItemInput:
				p.ReturnConsumedCapacity = indexes
			case *dynamodb.PutItemInput:
				p.ReturnConsumedCapacity = indexes
			case *dynamodb.QueryInput:
				p.ReturnConsumedCapacity = indexes
			case *dynamodb.TransactWriteItemsInput:
				p.ReturnConsumedCapacity = indexes
			}
			out, md, err := next.HandleInitialize(ctx, in)
			c.calls++
			var used []types.ConsumedCapacity
			switch r := out.Result.(type) {
			case *dynamodb.GetItemOutput:
				used = append(used, deref(r.ConsumedCapacity)...)
			case *dynamodb.BatchGetItemOutput:
				used = r.ConsumedCapacity
			case *dynamodb.UpdateItemOutput:
				used = append(used, deref(r.ConsumedCapacity)...)
			case *dynamodb.DeleteItemOutput:
				used = append(used, deref(r.ConsumedCapacity)...)
			case *dynamodb.PutItemOutput:
				used = append(used, deref(r.ConsumedCapacity)...)
			case *dynamodb.QueryOutput:
				used = append(used, deref(r.ConsumedCapacity)...)
			case *dynamodb.TransactWriteItemsOutput:
				used = r.ConsumedCapacity
			}
			read := false
			switch in.Parameters.(type) {
			case *dynamodb.GetItemInput, *dynamodb.BatchGetItemInput, *dynamodb.QueryInput:
				read = true
			}
			for _, u := range used {
				// DynamoDB Local reports only the total of each table.
				if read {
					c.rru += aws.ToFloat64(u.CapacityUnits)
				} else {
					c.wru += aws.ToFloat64(u.CapacityUnits)
				}
				if c.byTable == nil {
					c.byTable = map[string]float64{}
				}
				c.byTable[aws.ToString(u.TableName)] += aws.ToFloat64(u.CapacityUnits)
			}
			return out, md, err
		}), middleware.After)
}

func deref(c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	return []types.ConsumedCapacity{*c}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkChangeFeed measures the feed's reads (an empty poll, a page of
// 100 changes while the user's own feed holds more and more older
// changes) and what it adds to the writes of one recording's lifecycle
// (create, confirm, rename, trash, restore, purge), through the store
// with SDK middleware counting calls and consumed capacity.
func BenchmarkChangeFeed(b *testing.B) {
	env := testenv.Get(b)
	cfg := env.Config(b, nil)
	c := env.Provision(b, cfg)
	count := &capacity{}
	opts := c.DynamoDB.Options()
	opts.APIOptions = append(opts.APIOptions, count.middleware)
	s := dynamo.New(dynamodb.New(opts), cfg.TablePrefix)
	ctx := context.Background()
	lim := recording.Limits{MaxUploadBytes: 1 << 30, MaxBytes: 1 << 40, MaxRecordings: 1 << 20, MaxPending: 1 << 20}
	now := time.Now()
	user := func(sub string) string {
		u, _, err := s.SignIn(ctx, recording.Identity{Provider: "bench", Subject: sub}, now)
		if err != nil {
			b.Fatal(err)
		}
		return u.ID
	}
	pending := func(uid string) recording.Recording {
		id := recording.NewID(now)
		exp := now.Add(time.Hour)
		return recording.Recording{UserID: uid, ID: id, FileName: "memo.m4a", ContentType: "audio/mp4", SizeBytes: 1 << 20,
			Status: recording.StatusPending, CreatedAt: now, ExpiresAt: &exp, DueAt: exp, Key: recording.ObjectKey(uid, id, ".m4a")}
	}

	b.Run("lifecycle", func(b *testing.B) {
		uid := user("feed-lifecycle")
		const n = 20
		*count = capacity{}
		for range n {
			r, _, err := s.CreateUpload(ctx, pending(uid), "", "fp", lim, now)
			if err != nil {
				b.Fatal(err)
			}
			obj := dynamo.Object{Size: r.SizeBytes, ContentType: r.ContentType, ETag: "e", SHA256: "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=", DurationMS: 120000, Codec: "aac"}
			if ok, err := s.ConfirmUpload(ctx, r, obj, now); err != nil || !ok {
				b.Fatalf("confirm: %v %v", ok, err)
			}
			if _, err := s.Rename(ctx, uid, r.ID, "renamed.m4a"); err != nil {
				b.Fatal(err)
			}
			a, err := s.TrashIfAvailable(ctx, uid, r.ID, now.Add(time.Hour))
			if err != nil || !a.Moved {
				b.Fatalf("trash: %+v %v", a, err)
			}
			back, err := s.Restore(ctx, a.Recording)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.BeginDelete(ctx, back, now); err != nil {
				b.Fatal(err)
			}
			if err := s.FinishDelete(ctx, uid, r.ID); err != nil {
				b.Fatal(err)
			}
		}
		feed := count.byTable[dynamo.TableName(cfg.TablePrefix, dynamo.ChangesTable)]
		b.ReportMetric(count.wru/n, "wru/lifecycle")
		b.ReportMetric(feed/n, "feed-wru/lifecycle")
		b.ReportMetric(count.rru/n, "rru/lifecycle")
		b.ReportMetric(float64(count.calls)/n, "ddb-calls/lifecycle")
	})

	b.Run("poll=empty", func(b *testing.B) {
		uid := user("feed-empty")
		if _, _, err := s.CreateUpload(ctx, pending(uid), "", "fp", lim, now); err != nil {
			b.Fatal(err)
		}
		last, err := s.LatestChange(ctx, uid)
		if err != nil {
			b.Fatal(err)
		}
		const n = 200
		*count = capacity{}
		t0 := time.Now()
		for range n {
			page, err := s.ChangesAfter(ctx, uid, last, 100, time.Now())
			if err != nil || len(page.Changes) != 0 {
				b.Fatalf("empty poll: %+v %v", page, err)
			}
		}
		b.ReportMetric(float64(count.calls)/n, "ddb-calls/poll")
		b.ReportMetric(count.rru/n, "rru/poll")
		b.ReportMetric(float64(time.Since(t0).Microseconds())/n/1000, "ms/poll")
	})

	for _, older := range []int{100, 10_000} {
		b.Run("page=100/older="+strconv.Itoa(older), func(b *testing.B) {
			uid := user(fmt.Sprintf("feed-page-%d", older))
			seqs := seedChanges(b, c.DynamoDB, dynamo.TableName(cfg.TablePrefix, dynamo.ChangesTable), uid, older+100, now)
			const n = 50
			*count = capacity{}
			cpu0, t0 := cpuTime(), time.Now()
			for range n {
				page, err := s.ChangesAfter(ctx, uid, seqs[older-1], 100, time.Now())
				if err != nil || len(page.Changes) != 100 {
					b.Fatalf("page: %d %v", len(page.Changes), err)
				}
			}
			b.ReportMetric(count.rru/n, "rru/page")
			b.ReportMetric(float64(count.calls)/n, "ddb-calls/page")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/n, "cpu-us/page")
			b.ReportMetric(float64(time.Since(t0).Microseconds())/n/1000, "ms/page")
		})
	}
}

// seedChanges writes n upserts of a typical recording and the head into a
// user's feed directly, 25 at a time, a microsecond apart from now as the
// store would give their seqs; it returns the seqs.
func seedChanges(b *testing.B, db *dynamodb.Client, table, uid string, n int, now time.Time) []int64 {
	b.Helper()
	ctx := context.Background()
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	num := func(v int64) types.AttributeValue {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	item := func(seq int64) map[string]types.AttributeValue {
		id := recording.NewID(now)
		return map[string]types.AttributeValue{
			"user_id": s(uid), "seq": num(seq), "op": s("upsert"), "recording_id": s(id), "at": s(now.Format(time.RFC3339Nano)),
			"ttl": num(time.UnixMicro(seq).Add(dynamo.DefaultChangeRetention).Unix()),
			"recording": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"user_id": s(uid), "recording_id": s(id), "status": s("available"), "file_name": s("Meeting 2026-07-02.m4a"),
				"content_type": s("audio/mp4"), "size_bytes": num(1 << 20), "duration_ms": num(120000), "codec": s("aac"),
				"sample_rate_hz": num(48000), "channels": num(1), "created_at": s(now.Format(time.RFC3339Nano)),
				"uploaded_at": s(now.Format(time.RFC3339Nano)), "object_key": s(recording.ObjectKey(uid, id, ".m4a")),
				"etag": s("\"0123456789abcdef0123456789abcdef\""), "sha256": s("n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="),
			}},
		}
	}
	var batch []types.WriteRequest
	flush := func() {
		for len(batch) > 0 {
			out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: batch}})
			if err != nil {
				b.Fatal(err)
			}
			batch = out.UnprocessedItems[table]
		}
	}
	seqs := make([]int64, n)
	for i := range seqs {
		seqs[i] = now.UnixMicro() + int64(i)
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item(seqs[i])}})
		if len(batch) == 25 {
			flush()
		}
	}
	batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
		"user_id": s(uid), "seq": num(1<<63 - 1), "last_seq": num(seqs[n-1]), "first_seq": num(seqs[0]),
	}}})
	flush()
	return seqs
}
