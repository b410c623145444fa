package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/sync/errgroup"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/search"
	"github.com/voicerec/backend/internal/testenv"
)

// capacityMeter counts DynamoDB calls and the capacity they consumed, by
// operation, asking DynamoDB for it on every call.
type capacityMeter struct {
	mu    sync.Mutex
	calls map[string]int
	units map[string]float64
	spent map[string]time.Duration
}

func (m *capacityMeter) reset() {
	m.mu.Lock()
	m.calls, m.units, m.spent = map[string]int{}, map[string]float64{}, map[string]time.Duration{}
	m.mu.Unlock()
}

func (m *capacityMeter) total(ops ...string) (calls int, units float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, op := range ops {
		calls += m.calls[op]
		units += m.units[op]
	}
	return calls, units
}

func (m *capacityMeter) middleware(s *middleware.Stack) error {
	return s.Initialize.Add(middleware.InitializeMiddlewareFunc("capacity-meter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			total := types.ReturnConsumedCapacityTotal
			op := ""
			switch p := in.Parameters.(type) {
			case *dynamodb.QueryInput:
				op, p.ReturnConsumedCapacity = "Query", total
			case *dynamodb.GetItemInput:
				op, p.ReturnConsumedCapacity = "GetItem", total
			case *dynamodb.BatchGetItemInput:
				op, p.ReturnConsumedCapacity = "BatchGetItem", total
			case *dynamodb.BatchWriteItemInput:
				op, p.ReturnConsumedCapacity = "BatchWriteItem", total
			}
			t0 := time.Now()
			out, md, err := next.HandleInitialize(ctx, in)
			took := time.Since(t0)
			var cc []types.ConsumedCapacity
			switch r := out.Result.(type) {
			case *dynamodb.QueryOutput:
				if r.ConsumedCapacity != nil {
					cc = append(cc, *r.ConsumedCapacity)
				}
			case *dynamodb.GetItemOutput:
				if r.ConsumedCapacity != nil {
					cc = append(cc, *r.ConsumedCapacity)
				}
			case *dynamodb.BatchGetItemOutput:
				cc = r.ConsumedCapacity
			case *dynamodb.BatchWriteItemOutput:
				cc = r.ConsumedCapacity
			}
			m.mu.Lock()
			if m.calls == nil {
				m.calls, m.units, m.spent = map[string]int{}, map[string]float64{}, map[string]time.Duration{}
			}
			m.calls[op]++
			m.spent[op] += took
			for _, c := range cc {
				if c.CapacityUnits != nil {
					m.units[op] += *c.CapacityUnits
				}
			}
			m.mu.Unlock()
			return out, md, err
		}), middleware.After)
}

// speech makes synthetic transcripts: English-like and Korean words drawn
// from Zipf distributions (a few words said everywhere, most rarely), the
// Korean ones with particles attached as speech has them.
type speech struct {
	rng        *rand.Rand
	en, ko     []string
	zEn, zKo   *rand.Zipf
	particles  []string
	koFraction float64
}

func newSpeech(seed uint64) *speech {
	vocab := rand.New(rand.NewPCG(1, 2)) // one vocabulary for every user
	cons, vow := "bcdfghklmnprstvwz", "aeiou"
	en := make([]string, 4000)
	for i := range en {
		var b strings.Builder
		for range 2 + vocab.IntN(2) {
			b.WriteByte(cons[vocab.IntN(len(cons))])
			b.WriteByte(vow[vocab.IntN(len(vow))])
		}
		en[i] = b.String()
	}
	syll := []rune("회의록예산주간보고서계획팀장개발출시일정검토고객미팅자료공유결정사항다음분기매출목표")
	ko := make([]string, 2000)
	for i := range ko {
		r := make([]rune, 2+vocab.IntN(2))
		for j := range r {
			r[j] = syll[vocab.IntN(len(syll))]
		}
		ko[i] = string(r)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e37))
	return &speech{
		rng: rng, en: en, ko: ko,
		zEn: rand.NewZipf(rng, 1.1, 2, uint64(len(en)-1)), zKo: rand.NewZipf(rng, 1.1, 2, uint64(len(ko)-1)),
		particles: []string{"", "", "을", "를", "은", "는", "이", "가", "에서", "으로", "도"}, koFraction: 0.4,
	}
}

// transcript is about three minutes of speech: 30 segments of 15 words.
func (s *speech) transcript() []search.Segment {
	segs := make([]search.Segment, 30)
	for i := range segs {
		words := make([]string, 15)
		for j := range words {
			if s.rng.Float64() < s.koFraction {
				words[j] = s.ko[s.zKo.Uint64()] + s.particles[s.rng.IntN(len(s.particles))]
			} else {
				words[j] = s.en[s.zEn.Uint64()]
			}
		}
		segs[i] = search.Segment{StartMS: int64(i) * 6000, EndMS: int64(i+1) * 6000, Text: strings.Join(words, " ")}
	}
	return segs
}

// seedSearchUser writes n available recordings of a user and indexes each
// with a name and a three-minute transcript, a few at a time.
func seedSearchUser(b *testing.B, store *dynamo.Store, db *dynamodb.Client, prefix, uid string, n int, seed uint64) {
	sp := newSpeech(seed)
	now := time.Now().UTC()
	docs := make([]search.Document, n)
	var puts []types.WriteRequest
	for i := range docs {
		id := recording.NewID(now.Add(time.Duration(i) * time.Millisecond))
		docs[i] = search.Document{RecordingID: id, Name: fmt.Sprintf("%s %s %03d.m4a", sp.ko[sp.zKo.Uint64()], sp.en[sp.zEn.Uint64()], i), Segments: sp.transcript()}
		st := now.Format(time.RFC3339Nano)
		puts = append(puts, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
			"user_id": sv(uid), "recording_id": sv(id), "user_status": sv(uid + "#available"), "status": sv("available"),
			"file_name": sv(docs[i].Name), "content_type": sv("audio/mp4"), "size_bytes": &types.AttributeValueMemberN{Value: "2880000"},
			"duration_ms": &types.AttributeValueMemberN{Value: "180000"}, "created_at": sv(st), "uploaded_at": sv(st),
			"object_key": sv(recording.ObjectKey(uid, id, ".m4a")),
		}}})
	}
	table := dynamo.TableName(prefix, dynamo.RecordingsTable)
	for start := 0; start < len(puts); start += 25 {
		pending := map[string][]types.WriteRequest{table: puts[start:min(len(puts), start+25)]}
		for len(pending) > 0 {
			out, err := db.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				b.Fatal(err)
			}
			pending = out.UnprocessedItems
		}
	}
	g := errgroup.Group{}
	g.SetLimit(4)
	for _, d := range docs {
		g.Go(func() error { return store.IndexRecording(context.Background(), uid, d) })
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}

func sv(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// Search for a user with 1,000 transcribed three-minute recordings
// (BENCH_SEARCH_RECORDINGS changes the number): latency, DynamoDB calls and
// read units per query, alone in the table and again once another user as
// big is in it. Indexing cost (write units per recording and per minute of
// speech) is measured while seeding.
func BenchmarkSearch(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("BENCH_SEARCH_RECORDINGS")); err == nil && v > 0 {
		n = v
	}
	env := testenv.Get(b)
	cfg := env.Config(b, nil)
	clients := env.Provision(b, cfg)
	meter := &capacityMeter{}
	opts := clients.DynamoDB.Options()
	opts.APIOptions = append(opts.APIOptions, meter.middleware)
	db := dynamodb.New(opts)
	store := dynamo.New(db, cfg.TablePrefix)
	ctx := context.Background()

	sp := newSpeech(0)
	queries := []string{
		sp.en[3],                     // said in almost every recording
		sp.en[150],                   // in some
		sp.en[2500],                  // in a few
		sp.ko[10],                    // a Korean word, found with its particles
		sp.ko[200] + " " + sp.en[40], // two words, both needed
		sp.ko[5] + "을 " + sp.en[7] + " " + sp.en[90],
	}
	users := []string{"search-bench-a", "search-bench-b"}
	for round, uid := range users {
		meter.reset()
		start := time.Now()
		seedSearchUser(b, store, db, cfg.TablePrefix, uid, n, uint64(round+1))
		seeding := time.Since(start)
		_, wru := meter.total("BatchWriteItem", "GetItem")
		b.Run(fmt.Sprintf("users=%d", round+1), func(b *testing.B) {
			// The floor: one GetItem of a recording, interleaved with the
			// searches, says what a round trip to DynamoDB Local costs now.
			var lat, floor latencies
			meter.reset()
			const reps = 20
			results := 0
			for range reps {
				for _, q := range queries {
					t0 := time.Now()
					found, err := store.Search(ctx, users[0], dynamo.SearchRequest{
						Terms: search.QueryTerms(q), Statuses: []recording.Status{recording.StatusAvailable}, Limit: 20,
					}, time.Now())
					if err != nil {
						b.Fatal(err)
					}
					lat.add(time.Since(t0))
					results += len(found)
					if len(found) > 0 {
						t0 = time.Now()
						if _, err := store.GetRecording(ctx, users[0], found[0].Recording.ID); err != nil {
							b.Fatal(err)
						}
						floor.add(time.Since(t0))
					}
				}
			}
			searches := float64(reps * len(queries))
			calls, rru := meter.total("Query", "BatchGetItem")
			b.ReportMetric(ms(lat.pct(.5)), "p50-ms")
			b.ReportMetric(ms(lat.pct(.99)), "p99-ms")
			b.ReportMetric(ms(floor.pct(.5)), "getitem-p50-ms")
			b.ReportMetric(float64(calls)/searches, "ddb-calls/query")
			b.ReportMetric(rru/searches, "rru/query")
			b.ReportMetric(float64(results)/searches, "results/query")
			b.ReportMetric(wru/float64(n), "index-wru/recording")
			b.ReportMetric(wru/float64(n)/3, "index-wru/minute")
			b.ReportMetric(seeding.Seconds()/float64(n)*1000, "index-ms/recording")
			for _, op := range []string{"Query", "BatchGetItem"} {
				if c := meter.calls[op]; c > 0 {
					b.ReportMetric(ms(meter.spent[op]/time.Duration(c)), strings.ToLower(op)+"-mean-ms")
				}
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}
