package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/voicerec/backend/client"
	"github.com/voicerec/backend/internal/awsclients"
	"github.com/voicerec/backend/internal/devstack"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/wire"
)

// loadDuration is how long each closed-loop run lasts (BENCH_LOAD_SECONDS).
func loadDuration() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("BENCH_LOAD_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 10 * time.Second
}

// 1. The audio goes to storage, not through the API: what the API receives
// and its peak memory do not depend on the recording's size.
func BenchmarkBytesThroughServer(b *testing.B) {
	p := startAPI(b, nil)
	token := p.Login(b, "bytes")
	c := &http.Client{}
	for _, size := range []int64{1 << 20, 100 << 20} {
		b.Run("size="+strconv.FormatInt(size>>20, 10)+"MiB", func(b *testing.B) {
			p.ResetPeakRSS(b)
			before := p.BytesIn()
			const uploads = 3
			for range uploads {
				var up client.Created
				if st, err := p.call(c, token, http.MethodPost, "/v1/recordings",
					map[string]any{"file_name": "big.m4a", "content_type": "audio/mp4", "size_bytes": size}, &up); err != nil || st != http.StatusCreated {
					b.Fatalf("create: %d %v", st, err)
				}
				if err := put(c, up, size); err != nil {
					b.Fatal(err)
				}
				// Confirmation, then the download link: the rest of the flow.
				for {
					st, err := p.call(c, token, http.MethodGet, "/v1/recordings/"+up.Recording.ID, nil, nil)
					if err != nil {
						b.Fatal(err)
					}
					if st == http.StatusOK {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				if st, _ := p.call(c, token, http.MethodDelete, "/v1/recordings/"+up.Recording.ID+"?purge=true", nil, nil); st != http.StatusOK {
					b.Fatalf("delete: %d", st)
				}
			}
			perUpload := float64(p.BytesIn()-before) / uploads
			b.ReportMetric(perUpload, "api-bytes-in/upload")
			b.ReportMetric(float64(p.PeakRSS(b))/(1<<20), "api-peak-rss-MiB")
			// A server that proxies the audio receives the body on top.
			b.ReportMetric(perUpload+float64(size), "naive-bytes-in/upload")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// route is one measured API route and the DynamoDB calls it needs, made
// directly: the floor no implementation of the route can go under.
type route struct {
	name  string
	api   func(c *http.Client) (int, error)
	floor func(ctx context.Context) error
}

// routes are the measured requests, each with its floor: the route's own
// DynamoDB operation made directly, one round trip, no session check.
func routes(b *testing.B, p *apiProcess, token, userID string) []route {
	lim := recording.Limits{MaxUploadBytes: 1 << 30, MaxBytes: 1 << 40, MaxRecordings: 1 << 30, MaxPending: 100}
	ids := seedRecordings(b, p, userID, 60)
	var mu sync.Mutex
	var created []string
	return []route{
		{
			name: "create",
			api: func(c *http.Client) (int, error) {
				var up client.Created
				st, err := p.call(c, token, http.MethodPost, "/v1/recordings",
					map[string]any{"file_name": "memo.m4a", "content_type": "audio/mp4", "size_bytes": 1000}, &up)
				if st == http.StatusCreated {
					mu.Lock()
					created = append(created, up.Recording.ID)
					mu.Unlock()
				}
				return st, err
			},
			floor: func(ctx context.Context) error {
				now := time.Now().UTC()
				id := recording.NewID(now)
				exp := now.Add(time.Hour)
				_, _, err := p.Store.CreateUpload(ctx, recording.Recording{
					UserID: userID, ID: id, FileName: "memo.m4a", ContentType: "audio/mp4", SizeBytes: 1000,
					Status: recording.StatusPending, CreatedAt: now, ExpiresAt: &exp, DueAt: exp.Add(30 * time.Minute),
					Key: recording.ObjectKey(userID, id, ".m4a"),
				}, "", "", lim, now)
				mu.Lock()
				created = append(created, id)
				mu.Unlock()
				return err
			},
		},
		{
			name: "list",
			api: func(c *http.Client) (int, error) {
				return p.call(c, token, http.MethodGet, "/v1/recordings?limit=50", nil, nil)
			},
			floor: func(ctx context.Context) error {
				_, _, err := p.Store.ListRecordings(ctx, userID, recording.StatusAvailable, 50, "", time.Now())
				return err
			},
		},
		{
			name: "get",
			api: func(c *http.Client) (int, error) {
				return p.call(c, token, http.MethodGet, "/v1/recordings/"+ids[0], nil, nil)
			},
			floor: func(ctx context.Context) error {
				_, err := p.Store.GetRecording(ctx, userID, ids[0])
				return err
			},
		},
	}
}

// cleanPending cancels the pending uploads a create run left beyond the
// oldest keep, so the next request or run starts under the same quota
// state.
func cleanPending(b *testing.B, p *apiProcess, userID string, keep int) {
	ctx := context.Background()
	for {
		items, _, err := p.Store.ListRecordings(ctx, userID, recording.StatusPending, 100, "", time.Now())
		if err != nil {
			b.Error(err)
			return
		}
		// Newest first: whatever is past the oldest keep goes.
		if len(items) <= keep {
			return
		}
		for _, r := range items[:len(items)-keep] {
			if err := p.Store.BeginDelete(ctx, r, time.Time{}); errors.Is(err, dynamo.ErrStateChanged) {
				continue // the listing was a moment old: look again
			} else if err != nil {
				b.Error(err)
				return
			}
			if err := p.Store.FinishDelete(ctx, userID, r.ID); err != nil {
				b.Error(err)
				return
			}
		}
	}
}

// 2. Each route's latency next to its own DynamoDB calls, interleaved so
// both see the same machine.
func BenchmarkRouteOverhead(b *testing.B) {
	p := startAPI(b, nil)
	token := p.Login(b, "overhead")
	uid := userIDOf(b, p, token)
	c := &http.Client{}
	ctx := context.Background()
	for _, r := range routes(b, p, token, uid) {
		b.Run("route="+r.name, func(b *testing.B) {
			var api, floor latencies
			var calls int64
			const n = 400
			for i := 0; i < n; i++ {
				if r.name == "create" && i%50 == 0 {
					cleanPending(b, p, uid, 0) // stay below the in-flight upload cap
				}
				t0, calls0 := time.Now(), p.DynamoCalls()
				st, err := r.api(c)
				api.add(time.Since(t0))
				calls += p.DynamoCalls() - calls0
				if err != nil || st >= 300 {
					b.Fatalf("%s: %d %v", r.name, st, err)
				}
				t0 = time.Now()
				if err := r.floor(ctx); err != nil {
					b.Fatalf("%s floor: %v", r.name, err)
				}
				floor.add(time.Since(t0))
			}
			b.ReportMetric(ms(api.pct(.5)), "api-p50-ms")
			b.ReportMetric(ms(api.pct(.99)), "api-p99-ms")
			b.ReportMetric(ms(floor.pct(.5)), "floor-p50-ms")
			b.ReportMetric(ms(floor.pct(.99)), "floor-p99-ms")
			b.ReportMetric(float64(api.pct(.5))/float64(floor.pct(.5)), "ratio-p50")
			b.ReportMetric(float64(api.pct(.99))/float64(floor.pct(.99)), "ratio-p99")
			b.ReportMetric(float64(calls)/n, "ddb-calls/req")
			b.ReportMetric(0, "ns/op")
		})
		if r.name == "create" {
			cleanPending(b, p, uid, 0)
		}
	}
}

// 3. CPU the API spends per request under 32 concurrent closed-loop
// clients, and the DynamoDB calls it makes per request (counted at the
// relay in front of DynamoDB). Create is measured with 0, 10 and 90
// uploads already pending per user (the in-flight cap is 100): a cleaner
// beside each client cancels what the run adds, straight in the store,
// outside the API, so the count stays within a few of that.
func BenchmarkRouteCPU(b *testing.B) {
	p := startAPI(b, nil)
	const clients = 32
	for _, rt := range []struct {
		name    string
		pending int
	}{{"create/pending=0", 0}, {"create/pending=10", 10}, {"create/pending=90", 90}, {"list", 0}, {"get", 0}} {
		name := rt.name
		create := strings.HasPrefix(name, "create")
		b.Run("route="+name, func(b *testing.B) {
			// One user per client, so no client waits on another's quota.
			type user struct {
				token, id string
				r         route
			}
			users := make([]user, clients)
			for i := range users {
				tok := p.Login(b, fmt.Sprintf("cpu-%s-%d", name, i))
				uid := userIDOf(b, p, tok)
				var rr route
				for _, r := range routes(b, p, tok, uid) {
					if r.name == name || (create && r.name == "create") {
						rr = r
					}
				}
				users[i] = user{tok, uid, rr}
				if create {
					seedPending(b, p, uid, rt.pending)
				}
			}
			var lat latencies
			deadline := time.Now().Add(loadDuration())
			var cleaners sync.WaitGroup
			if create {
				// A cleaner per client brings its user back to the pending
				// count of the run, beside the load rather than in its loop.
				for _, u := range users {
					cleaners.Add(1)
					go func() {
						defer cleaners.Done()
						for time.Now().Before(deadline) {
							cleanPending(b, p, u.id, rt.pending)
							time.Sleep(20 * time.Millisecond)
						}
					}()
				}
			}
			stopProfile := p.profile(b, "route-"+strings.NewReplacer("/", "-", "=", "").Replace(name))
			p.ResetPeakRSS(b)
			// Mallocs is read outside the CPU window: rendering the heap
			// profile it comes from costs the API a few milliseconds.
			mallocs0 := p.Mallocs(b)
			cpu0, calls0 := p.CPUTime(b), p.DynamoCalls()
			t0 := time.Now()
			var wg sync.WaitGroup
			counts := make([]int, clients)
			failures := make([]int, clients)
			for i := range users {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					c := &http.Client{}
					u := users[i]
					for time.Now().Before(deadline) {
						s := time.Now()
						st, err := u.r.api(c)
						lat.add(time.Since(s))
						counts[i]++
						if err != nil || st >= 300 {
							failures[i]++
						}
					}
				}(i)
			}
			wg.Wait()
			elapsed := time.Since(t0)
			cpu, calls, mallocs := p.CPUTime(b)-cpu0, p.DynamoCalls()-calls0, p.Mallocs(b)-mallocs0
			cleaners.Wait()
			stopProfile()
			total, failed := 0, 0
			for i := range counts {
				total += counts[i]
				failed += failures[i]
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(total), "cpu-us/req")
			b.ReportMetric(float64(calls)/float64(total), "ddb-calls/req")
			b.ReportMetric(float64(mallocs)/float64(total), "allocs/req")
			b.ReportMetric(float64(total)/elapsed.Seconds(), "req/s")
			b.ReportMetric(ms(lat.pct(.5)), "p50-ms")
			b.ReportMetric(ms(lat.pct(.99)), "p99-ms")
			b.ReportMetric(float64(failed), "errors")
			b.ReportMetric(float64(p.PeakRSS(b))/(1<<20), "api-peak-rss-MiB")
			b.ReportMetric(0, "ns/op")
			if create {
				for _, u := range users {
					cleanPending(b, p, u.id, 0)
				}
			}
		})
	}
}

// seedPending gives userID n pending uploads, straight in the store.
func seedPending(b *testing.B, p *apiProcess, userID string, n int) {
	lim := recording.Limits{MaxUploadBytes: 1 << 30, MaxBytes: 1 << 40, MaxRecordings: 1 << 30, MaxPending: 100}
	for range n {
		now := time.Now().UTC()
		id := recording.NewID(now)
		exp := now.Add(time.Hour)
		if _, _, err := p.Store.CreateUpload(context.Background(), recording.Recording{
			UserID: userID, ID: id, FileName: "seed.m4a", ContentType: "audio/mp4", SizeBytes: 1000,
			Status: recording.StatusPending, CreatedAt: now, ExpiresAt: &exp, DueAt: exp.Add(30 * time.Minute),
			Key: recording.ObjectKey(userID, id, ".m4a"),
		}, "", "", lim, now); err != nil {
			b.Fatal(err)
		}
	}
}

// saveProfile writes one of the API's /debug/pprof profiles to path.
func (p *apiProcess) saveProfile(b *testing.B, kind, path string) {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s", p.DebugAddr, kind))
	if err != nil {
		b.Errorf("profile %s: %v", kind, err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		b.Errorf("profile %s: %v", kind, err)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		b.Errorf("profile %s: %v", kind, err)
	}
}

// Mallocs is how many heap objects the API process has allocated so far,
// from the runtime statistics its heap profile ends with.
func (p *apiProcess) Mallocs(b *testing.B) int64 {
	resp, err := http.Get("http://" + p.DebugAddr + "/debug/pprof/allocs?debug=1")
	if err != nil {
		b.Fatalf("allocations: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# Mallocs = "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatalf("allocations: %v", err)
			}
			return n
		}
	}
	b.Fatalf("allocations: no Mallocs line in the heap profile (%v)", sc.Err())
	return 0
}

// profile captures the API's CPU profile while a run lasts, into
// BENCH_PROFILE_DIR/<name>.pprof, when that is set.
func (p *apiProcess) profile(b *testing.B, name string) (stop func()) {
	dir := os.Getenv("BENCH_PROFILE_DIR")
	if dir == "" {
		return func() {}
	}
	// The heap profile before and after the run: go tool pprof
	// -sample_index=alloc_objects -base <name>-allocs-before.pprof
	// <name>-allocs.pprof shows what the run allocated.
	// A heap profile reflects the last finished collection, and at
	// create's rate a run can end without one: each is taken after a forced
	// collection, the second once the run's CPU time has been read.
	p.saveProfile(b, "heap?gc=1", filepath.Join(dir, name+"-allocs-before.pprof"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		secs := int(loadDuration().Seconds())
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.DebugAddr, secs))
		if err != nil {
			b.Errorf("profile: %v", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(filepath.Join(dir, name+".pprof"))
		if err != nil {
			b.Errorf("profile: %v", err)
			return
		}
		defer f.Close()
		_, _ = io.Copy(f, resp.Body)
	}()
	return func() {
		<-done
		p.saveProfile(b, "heap?gc=1", filepath.Join(dir, name+"-allocs.pprof"))
	}
}

// 5. One page of a user's list costs the same whatever else the table holds.
func BenchmarkListCost(b *testing.B) {
	var mu sync.Mutex
	var consumed float64
	p := startAPI(b, nil)
	// A client that asks DynamoDB for the capacity each Query consumed.
	db := dynamodb.NewFromConfig(testenv.AWSConfig(p.Config.Region), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(p.Config.DynamoEndpoint)
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("consumed-capacity",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if q, ok := in.Parameters.(*dynamodb.QueryInput); ok {
						q.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
					}
					out, md, err := next.HandleInitialize(ctx, in)
					if q, ok := out.Result.(*dynamodb.QueryOutput); ok && q.ConsumedCapacity != nil && q.ConsumedCapacity.CapacityUnits != nil {
						mu.Lock()
						consumed += *q.ConsumedCapacity.CapacityUnits
						mu.Unlock()
					}
					return out, md, err
				}), middleware.After)
		})
	})
	store := dynamo.New(db, p.Config.TablePrefix)
	clients := awsclients.From(p.Config, testenv.AWSConfig(p.Config.Region))
	clients.DynamoDB = db
	parts, err := wire.Build(context.Background(), p.Config, slog.New(slog.NewTextHandler(io.Discard, nil)), wire.WithClients(clients))
	if err != nil {
		b.Fatal(err)
	}
	keeper := parts.Keeper
	token := p.Login(b, "lister")
	uid := userIDOf(b, p, token)
	seedRecordings(b, p, uid, 50)
	others := 0
	for _, total := range []int{1000, 10000, 100000} {
		seedOthers(b, p, others, total)
		others = total
		b.Run("others="+strconv.Itoa(total), func(b *testing.B) {
			var lat, apiLat latencies
			mu.Lock()
			consumed = 0
			mu.Unlock()
			const n = 200
			c := &http.Client{}
			for i := 0; i < n; i++ {
				t0 := time.Now()
				items, _, err := store.ListRecordings(context.Background(), uid, recording.StatusAvailable, 50, "", time.Now())
				lat.add(time.Since(t0))
				if err != nil || len(items) != 50 {
					b.Fatalf("list: %d items, %v", len(items), err)
				}
				t0 = time.Now()
				if st, err := p.call(c, token, http.MethodGet, "/v1/recordings?limit=50", nil, nil); err != nil || st != http.StatusOK {
					b.Fatalf("API list: %d %v", st, err)
				}
				apiLat.add(time.Since(t0))
			}
			mu.Lock()
			b.ReportMetric(consumed/n, "rcu/page")
			consumed = 0
			mu.Unlock()
			// A reconcile pass reads only the sparse by-due index, so with
			// nothing due it costs the same at any table size.
			const passes = 20
			var rl latencies
			for i := 0; i < passes; i++ {
				t0 := time.Now()
				rep, err := keeper.Reconcile(context.Background(), 1000)
				rl.add(time.Since(t0))
				if err != nil || rep.Examined != 0 {
					b.Fatalf("reconcile pass: %+v %v", rep, err)
				}
			}
			mu.Lock()
			b.ReportMetric(consumed/passes, "reconcile-rcu/pass")
			mu.Unlock()
			b.ReportMetric(ms(rl.pct(.5)), "reconcile-p50-ms")
			b.ReportMetric(ms(lat.pct(.5)), "query-p50-ms")
			b.ReportMetric(ms(apiLat.pct(.5)), "api-p50-ms")
			b.ReportMetric(ms(apiLat.pct(.99)), "api-p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// 6. What a cold start costs: the deployed binaries' sizes, and the API's
// time from exec to its first served request.
func BenchmarkColdStart(b *testing.B) {
	dir := b.TempDir()
	for _, fn := range []string{"server", "events"} {
		out := filepath.Join(dir, fn)
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w -buildid=", "-o", out, "../"+fn)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("build %s: %v\n%s", fn, err, msg)
		}
		st, err := os.Stat(out)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.Size())/(1<<20), fn+"-lambda-MiB")
	}
	p := startAPI(b, nil)
	bin := buildServer(b)
	var starts latencies
	for i := 0; i < 20; i++ {
		addr, err := devstack.FreeAddr()
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(bin)
		// Its own address, and no debug listener: the running API holds that one.
		cmd.Env = append(p.cmd.Env, "API_ADDR="+addr, "DEBUG_ADDR=")
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		_, err = waitServing("http://" + addr + "/healthz")
		starts.add(time.Since(t0))
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(ms(starts.pct(.5)), "start-to-first-request-p50-ms")
	b.ReportMetric(0, "ns/op")
}

// --- data

type seedItem struct {
	UserID      string `dynamodbav:"user_id"`
	RecordingID string `dynamodbav:"recording_id"`
	UserStatus  string `dynamodbav:"user_status"`
	Status      string `dynamodbav:"status"`
	FileName    string `dynamodbav:"file_name"`
	ContentType string `dynamodbav:"content_type"`
	SizeBytes   int64  `dynamodbav:"size_bytes"`
	CreatedAt   string `dynamodbav:"created_at"`
	UploadedAt  string `dynamodbav:"uploaded_at"`
	ObjectKey   string `dynamodbav:"object_key"`
}

// seedRecordings writes n available recordings for userID straight into the
// table (the audio is not needed to list or sign links) and returns their ids.
func seedRecordings(b *testing.B, p *apiProcess, userID string, n int) []string {
	now := time.Now().UTC()
	items := make([]seedItem, n)
	ids := make([]string, n)
	for i := range items {
		id := recording.NewID(now.Add(time.Duration(i) * time.Millisecond))
		ids[i] = id
		items[i] = seedItem{
			UserID: userID, RecordingID: id, UserStatus: userID + "#available", Status: "available",
			FileName: fmt.Sprintf("recording %03d.m4a", i), ContentType: "audio/mp4", SizeBytes: 1 << 20,
			CreatedAt: now.Format(time.RFC3339Nano), UploadedAt: now.Format(time.RFC3339Nano),
			ObjectKey: recording.ObjectKey(userID, id, ".m4a"),
		}
	}
	writeItems(b, p, items)
	return ids
}

// seedOthers grows the table from `from` to `to` recordings of other users,
// 100 each.
func seedOthers(b *testing.B, p *apiProcess, from, to int) {
	var items []seedItem
	now := time.Now().UTC()
	for i := from; i < to; i++ {
		uid := recording.NewID(time.Unix(int64(i/100), 0))
		id := recording.NewID(now)
		items = append(items, seedItem{
			UserID: uid, RecordingID: id, UserStatus: uid + "#available", Status: "available",
			FileName: "other.m4a", ContentType: "audio/mp4", SizeBytes: 1 << 20,
			CreatedAt: now.Format(time.RFC3339Nano), UploadedAt: now.Format(time.RFC3339Nano),
			ObjectKey: recording.ObjectKey(uid, id, ".m4a"),
		})
	}
	writeItems(b, p, items)
}

func writeItems(b *testing.B, p *apiProcess, items []seedItem) {
	table := dynamo.TableName(p.Config.TablePrefix, dynamo.RecordingsTable)
	work := make(chan []seedItem)
	var wg sync.WaitGroup
	var failed error
	var once sync.Once
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range work {
				reqs := make([]types.WriteRequest, len(batch))
				for i, it := range batch {
					av, err := attributevalue.MarshalMap(it)
					if err != nil {
						once.Do(func() { failed = err })
						return
					}
					reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: av}}
				}
				pending := map[string][]types.WriteRequest{table: reqs}
				for len(pending) > 0 {
					out, err := p.Clients.DynamoDB.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: pending})
					if err != nil {
						once.Do(func() { failed = err })
						return
					}
					pending = out.UnprocessedItems
				}
			}
		}()
	}
	for i := 0; i < len(items); i += 25 {
		work <- items[i:min(i+25, len(items))]
	}
	close(work)
	wg.Wait()
	if failed != nil {
		b.Fatal(failed)
	}
}

func userIDOf(b *testing.B, p *apiProcess, token string) string {
	var me client.Me
	if st, err := p.call(http.DefaultClient, token, http.MethodGet, "/v1/me", nil, &me); err != nil || st != http.StatusOK {
		b.Fatalf("me: %d %v", st, err)
	}
	return me.ID
}
