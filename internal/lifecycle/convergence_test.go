package lifecycle_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/faulty"
	"github.com/voicerec/backend/internal/testenv/stack"
	"github.com/voicerec/backend/internal/testenv/testaudio"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The convergence test: many users' flows under lost, duplicated, delayed
// and reordered events, DynamoDB and S3 faults, abandoned uploads, deletes
// in mid-flight, lying uploads and account deletions; then the reconciler
// runs until quiet and every durability invariant (docs/durability.md) is
// checked against DynamoDB Local and MinIO themselves.
//
// CONVERGENCE_SEED=N replays one run; the seed is printed on failure.
func TestEverythingConverges(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("CONVERGENCE_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CONVERGENCE_SEED: %v", err)
		}
		seed = n
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with CONVERGENCE_SEED=%d", seed)
		}
	})
	w := newWorld(t, seed)
	followers := map[*user]*follower{}
	for step := range 60 {
		w.step(t, step)
		w.keepCursors(t, followers)
	}
	shared := w.shareSome(t)
	w.checkTrash(t)
	jobs := w.startedJobs(t)
	w.transcriptJobs(t, jobs[:len(jobs)/2])
	w.finish(t)
	w.transcriptJobs(t, jobs[len(jobs)/2:]) // late: many of their recordings are purged by now
	w.check(t)
	w.checkShares(t, shared)
	w.checkTranscripts(t)
	w.checkFeeds(t, followers)
}

type world struct {
	rng     *rand.Rand
	s       *stack.Stack
	direct  *dynamodb.Client
	s3      *awss3.Client
	clock   *stack.Clock
	ddb, st *faulty.Proxy
	users   []*user

	mu     sync.Mutex
	queue  []events.S3Event // captured, not yet delivered
	seen   []events.S3Event // every event ever captured
	counts map[string]int   // what happened, for the failure message
}

type user struct {
	sub, token, id string
	// phone is a second session of the same account: another device.
	phone string
	// deleted: DELETE /v1/me answered 204. gone: it was tried at all (a
	// failed attempt may or may not have marked the account).
	deleted, gone bool
	recs          []*rec
}

type rec struct {
	id, key  string
	size     int64
	up       stack.Signed
	put, lie bool // storage accepted a PUT; the body lied (size, or not audio at all)
	// deleted: a DELETE answered 200. unsure: one failed (5xx) and may or
	// may not have taken effect.
	deleted, unsure bool
	// inTrash: a plain DELETE answered that the recording is in the trash,
	// and no purge was tried since; purgeAt is the purge_at every such
	// answer must agree on, trashed that one of them moved it there. No
	// step restores, so a recording is moved to the trash at most once.
	inTrash, trashed bool
	purgeAt          *time.Time
}

// deletion is the answer to DELETE /v1/recordings/{id}.
type deletion struct {
	Outcome   string `json:"outcome"`
	Recording *struct {
		Status  string     `json:"status"`
		PurgeAt *time.Time `json:"purge_at"`
	} `json:"recording"`
}

// body is the recording's audio: real WAV, the same bytes every time.
func (r *rec) body() []byte { return testaudio.Body("audio/wav", int(r.size), 'l') }

func newWorld(t *testing.T, seed uint64) *world {
	env := testenv.Get(t)
	w := &world{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), clock: &stack.Clock{}, counts: map[string]int{}}
	w.ddb = faulty.New(t, "dynamodb", env.Dynamo.Endpoint())
	w.st = faulty.New(t, "minio", env.MinIO.Endpoint())
	w.s = stack.Start(t, env, stack.Options{Clock: w.clock, Env: withTranscription(t, map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": w.ddb.Endpoint(),
		"AWS_ENDPOINT_URL_S3":       w.st.Endpoint(),
		"S3_PUBLIC_ENDPOINT":        env.MinIO.Endpoint(), // apps reach storage directly
		"REQUEST_TIMEOUT":           "5s",
		"QUOTA_MAX_BYTES":           "40000000",
		"TRASH_RETENTION":           "1h", // shorter than the window and grace the clock skips
		"MULTIPART_THRESHOLD_BYTES": "5242880",
		"MULTIPART_PART_SIZE":       "5242880",
		"MAX_UPLOAD_BYTES":          "20000000",
	})})
	w.s.Events.RecordTimeout = 2 * time.Second
	// The test's own clients bypass the faulty proxies.
	cfg := w.s.Config
	cfg.S3Endpoint, cfg.DynamoEndpoint = env.MinIO.Endpoint(), env.Dynamo.Endpoint()
	direct := env.Clients(cfg)
	w.direct, w.s3 = direct.DynamoDB, direct.S3
	env.OnEvent(t, w.s.Config.Bucket, func(_ context.Context, ev events.S3Event) error {
		w.mu.Lock()
		w.queue = append(w.queue, ev)
		w.seen = append(w.seen, ev)
		w.mu.Unlock()
		return nil
	})
	for i := range 4 {
		u := &user{sub: fmt.Sprintf("converge-%d", i)}
		u.token, u.id = w.s.Login(t, u.sub)
		u.phone, _ = w.s.Login(t, u.sub)
		w.users = append(w.users, u)
	}
	return w
}

func (w *world) chance(p float64) bool { return w.rng.Float64() < p }

// step does one random thing as one random user, perhaps under a fault,
// then delivers captured events the way an unreliable transport would.
func (w *world) step(t *testing.T, step int) {
	u := w.users[w.rng.IntN(len(w.users))]
	fault := ""
	switch {
	case w.chance(0.1):
		fault = "dynamodb down"
		w.ddb.Down()
	case w.chance(0.1):
		fault = "s3 down"
		w.st.Down()
	}
	if !u.gone {
		w.act(t, u)
	}
	w.deliver(t)
	if fault != "" {
		w.counts[fault]++
		w.ddb.Up(t)
		w.st.Up(t)
	}
}

func (w *world) act(t *testing.T, u *user) {
	switch n := w.rng.IntN(100); {
	case n < 6: // a long recording: multipart, completed, abandoned half way, or deleted
		w.multipart(t, u)
	case n < 45: // create and upload, maybe lying about the size
		r := w.create(t, u)
		if r == nil {
			return
		}
		body := r.body()
		if w.chance(0.15) {
			lie := append(body, 'x') // a size it did not declare
			if w.chance(0.5) {
				lie = make([]byte, len(body)) // the declared size, but not audio
			}
			w.adminPut(t, r, lie)
			r.lie = true
		} else {
			r.put = stack.Put(t, r.up, body) == http.StatusOK
		}
		w.counts["uploaded"]++
	case n < 60: // create and abandon
		if w.create(t, u) != nil {
			w.counts["abandoned"]++
		}
	case n < 75: // delete one of the user's recordings, whatever its state
		if len(u.recs) == 0 {
			return
		}
		r := u.recs[w.rng.IntN(len(u.recs))]
		if w.chance(0.3) {
			w.plainDeletes(t, u, r)
			return
		}
		purge := w.chance(0.5) // else to the trash, purged by the reconciler later
		path := "/v1/recordings/" + r.id
		if purge {
			path += "?purge=true"
		}
		var d deletion
		st := w.s.Call(t, u.token, http.MethodDelete, path, nil, &d)
		w.answered(t, r, purge, st, d)
	case n < 88: // upload late: a PUT through a URL of a deleted or abandoned recording
		if len(u.recs) == 0 {
			return
		}
		r := u.recs[w.rng.IntN(len(u.recs))]
		if !r.put && !r.lie && r.up.URL != "" { // a multipart recording has no single URL
			r.put = stack.Put(t, r.up, r.body()) == http.StatusOK
			w.counts["late put"]++
		}
	case n < 97: // replay a create
		if len(u.recs) > 0 {
			w.counts["replay"]++
		}
		w.create(t, u) // a fresh key; replays of old keys are covered by their own tests
	default: // delete the account
		st := w.s.Call(t, u.token, http.MethodDelete, "/v1/me", nil, nil)
		u.gone, u.deleted = true, st == http.StatusNoContent
		w.counts[fmt.Sprintf("account delete %d", st)]++
	}
}

// plainDeletes deletes one recording without purge from two devices at
// once, each once or twice: a retry after a lost answer, a second tap, the
// other device deleting too. However the requests interleave, none of them
// may purge it.
func (w *world) plainDeletes(t *testing.T, u *user, r *rec) {
	var wg sync.WaitGroup
	for _, token := range []string{u.token, u.phone} {
		times := 1 + w.rng.IntN(2)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range times {
				st, d, err := w.deleteOnce(token, r.id)
				if err != nil {
					t.Errorf("plain delete of %s: %v", r.id, err)
					return
				}
				w.answered(t, r, false, st, d)
			}
		}()
	}
	wg.Wait()
	w.counts["plain deletes from two devices"]++
}

// deleteOnce is one plain DELETE, safe to send from any goroutine.
func (w *world) deleteOnce(token, id string) (int, deletion, error) {
	var d deletion
	req, err := http.NewRequest(http.MethodDelete, w.s.APIURL+"/v1/recordings/"+id, nil)
	if err != nil {
		return 0, d, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, d, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
			return resp.StatusCode, d, fmt.Errorf("decode the answer: %w", err)
		}
	}
	return resp.StatusCode, d, nil
}

// answered updates the model with one DELETE's answer and checks it against
// the model: a plain delete never purges a recording in the trash, and
// every answer about the trash gives the purge_at of the one that put the
// recording there.
func (w *world) answered(t *testing.T, r *rec, purge bool, st int, d deletion) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.counts[fmt.Sprintf("delete %d %s", st, d.Outcome)]++
	r.unsure = r.unsure || st >= 500
	if purge {
		r.inTrash = false // gone for good, or perhaps (5xx, 404) gone
	}
	if st != http.StatusOK {
		return
	}
	r.deleted = true
	switch d.Outcome {
	case "deleted":
		if r.inTrash {
			t.Errorf("a delete (purge %v) of %s, in the trash, deleted it for good", purge, r.id)
		}
		if d.Recording != nil {
			t.Errorf("deleted %s for good, answered with a recording", r.id)
		}
		r.inTrash = false
		return
	case "trashed", "already_in_trash":
	default:
		t.Errorf("delete of %s: outcome %q", r.id, d.Outcome)
		return
	}
	if purge || d.Recording == nil || d.Recording.Status != string(recording.StatusDeleted) || d.Recording.PurgeAt == nil {
		t.Errorf("delete (purge %v) of %s answered %s with %+v", purge, r.id, d.Outcome, d.Recording)
		return
	}
	if d.Outcome == "trashed" {
		if r.trashed {
			t.Errorf("%s was moved to the trash twice, with no restore between", r.id)
		}
		r.trashed = true
	}
	if r.purgeAt != nil && !r.purgeAt.Equal(*d.Recording.PurgeAt) {
		t.Errorf("delete of %s answered %s with purge_at %v; an earlier answer said %v", r.id, d.Outcome, *d.Recording.PurgeAt, *r.purgeAt)
	}
	if r.purgeAt == nil {
		r.purgeAt = d.Recording.PurgeAt
	}
	r.inTrash = true
}

// checkTrash, before time passes any purge_at: every recording a plain
// delete left in the trash is there, restorable: its record in the trash
// with the purge_at its answers gave, its object still stored.
func (w *world) checkTrash(t *testing.T) {
	ctx := context.Background()
	for _, u := range w.users {
		if u.gone {
			continue
		}
		for _, r := range u.recs {
			if !r.inTrash {
				continue
			}
			got, err := w.s.Store.GetRecording(ctx, u.id, r.id)
			if err != nil || got.Status != recording.StatusDeleted || got.PurgeAt == nil || !got.PurgeAt.Equal(*r.purgeAt) {
				t.Errorf("%s should be in the trash until %v: %+v %v", r.id, r.purgeAt, got, err)
				continue
			}
			if _, err := w.s.Objects.Head(ctx, got.Key); err != nil {
				t.Errorf("%s is in the trash without its object: %v", r.id, err)
			}
		}
	}
}

func (w *world) create(t *testing.T, u *user) *rec {
	size := int64(testaudio.MinSize("audio/wav") + w.rng.IntN(2000))
	body := map[string]any{"file_name": "r.wav", "content_type": "audio/wav", "size_bytes": size}
	if w.chance(0.3) {
		sum := sha256.Sum256((&rec{size: size}).body())
		body["sha256"] = base64.StdEncoding.EncodeToString(sum[:])
	}
	var out stack.Upload
	if st := w.s.Call(t, u.token, http.MethodPost, "/v1/recordings", body, &out); st != http.StatusCreated {
		w.counts[fmt.Sprintf("create %d", st)]++
		return nil
	}
	r := &rec{id: out.Recording.ID, key: recording.ObjectKey(u.id, out.Recording.ID, ".wav"), size: size, up: out.Upload}
	u.recs = append(u.recs, r)
	return r
}

// adminPut stores a body the declaration does not match, as a client with
// leaked credentials (or a bug) could.
func (w *world) adminPut(t *testing.T, r *rec, body []byte) {
	_, err := w.s3.PutObject(context.Background(), &awss3.PutObjectInput{
		Bucket: &w.s.Config.Bucket, Key: &r.key, Body: bytes.NewReader(body), ContentType: aws.String("audio/wav"),
	})
	if err != nil {
		t.Fatal(err)
	}
}

// deliver hands captured events to the handler: each is dropped, delivered,
// delivered twice, or kept for later; the ones delivered now go in a random
// order. A delivery that fails is lost, as after Lambda's last retry.
func (w *world) deliver(t *testing.T) {
	time.Sleep(30 * time.Millisecond) // let MinIO post what the step caused
	w.mu.Lock()
	q := w.queue
	w.queue = nil
	w.mu.Unlock()
	var now []events.S3Event
	for _, ev := range q {
		switch n := w.rng.IntN(10); {
		case n < 2:
			w.counts["event dropped"]++
		case n < 4:
			now = append(now, ev, ev)
			w.counts["event duplicated"]++
		case n < 6:
			w.mu.Lock()
			w.queue = append(w.queue, ev)
			w.mu.Unlock()
			w.counts["event delayed"]++
		default:
			now = append(now, ev)
		}
	}
	w.rng.Shuffle(len(now), func(i, j int) { now[i], now[j] = now[j], now[i] })
	for _, ev := range now {
		if err := w.s.Events.Handle(context.Background(), ev); err != nil {
			w.counts["delivery failed"]++
		}
	}
}

// finish lets time pass beyond every upload window and grace, delivers or
// drops what is left, runs the reconciler until quiet, then replays a
// random sample of every event ever sent (late redeliveries, a DLQ redrive)
// and reconciles again.
func (w *world) finish(t *testing.T) {
	time.Sleep(300 * time.Millisecond)
	w.deliver(t)
	w.clock.Advance(max(w.s.Config.PendingUploadTTL, w.s.Config.MultipartUploadTTL) + w.s.Config.UploadGrace + time.Minute)
	w.reconcile(t)
	w.mu.Lock()
	redrive := append([]events.S3Event(nil), w.seen...)
	w.queue = nil
	w.mu.Unlock()
	w.rng.Shuffle(len(redrive), func(i, j int) { redrive[i], redrive[j] = redrive[j], redrive[i] })
	for _, ev := range redrive[:len(redrive)/2] {
		if err := w.s.Events.Handle(context.Background(), ev); err != nil {
			t.Fatalf("redrive after healing: %v", err)
		}
	}
	w.reconcile(t)
}

func (w *world) reconcile(t *testing.T) {
	for range 10 {
		rep, err := w.s.Keeper.Reconcile(context.Background(), 10_000)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Fixed() == 0 && rep.Failed == 0 && rep.Accounts == 0 {
			return
		}
	}
	t.Fatal("the reconciler did not settle in 10 passes")
}

// check asserts the invariants against the emulators themselves.
func (w *world) check(t *testing.T) {
	ctx := context.Background()
	t.Logf("what happened: %v", w.counts)
	type item struct {
		UserID, RecordingID, Status, ObjectKey, ContentType, SHA256 string
		Size                                                        int64
	}
	records := map[string]item{} // by object key
	for _, raw := range w.scan(t, dynamo.RecordingsTable) {
		var it struct {
			UserID      string `dynamodbav:"user_id"`
			RecordingID string `dynamodbav:"recording_id"`
			Status      string `dynamodbav:"status"`
			ObjectKey   string `dynamodbav:"object_key"`
			ContentType string `dynamodbav:"content_type"`
			SHA256      string `dynamodbav:"sha256"`
			Size        int64  `dynamodbav:"size_bytes"`
		}
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			t.Fatal(err)
		}
		records[it.ObjectKey] = item{it.UserID, it.RecordingID, it.Status, it.ObjectKey, it.ContentType, it.SHA256, it.Size}
		if it.Status != string(recording.StatusAvailable) && it.Status != string(recording.StatusRejected) {
			t.Errorf("record %s/%s is still %s after every deadline passed", it.UserID, it.RecordingID, it.Status)
		}
	}
	objects := map[string]int64{}
	p := awss3.NewListObjectsV2Paginator(w.s3, &awss3.ListObjectsV2Input{Bucket: &w.s.Config.Bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			objects[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
		}
	}
	// Every available record has its object, of its size and type.
	stored := map[string]int64{}
	count := map[string]int64{}
	for key, r := range records {
		if r.Status != string(recording.StatusAvailable) {
			continue
		}
		stored[r.UserID] += r.Size
		count[r.UserID]++
		info, err := w.s.Objects.Head(ctx, key)
		if err != nil {
			t.Errorf("available %s has no object: %v", key, err)
			continue
		}
		if info.Size != r.Size || info.ContentType != r.ContentType || (r.SHA256 != "" && info.SHA256 != r.SHA256) {
			t.Errorf("available %s does not match its object: record %+v, object %+v", key, r, info)
		}
	}
	// No object lives without an available record.
	for key := range objects {
		if r, ok := records[key]; !ok || r.Status != string(recording.StatusAvailable) {
			t.Errorf("object %s has no available record (record: %+v)", key, r)
		}
	}
	// Counters equal the sum of the records; no reservation is left.
	users := map[string]bool{}
	for _, raw := range w.scan(t, dynamo.UsersTable) {
		var u struct {
			UserID  string                    `dynamodbav:"user_id"`
			Bytes   int64                     `dynamodbav:"bytes_stored"`
			Count   int64                     `dynamodbav:"recording_count"`
			Pending map[string]map[string]any `dynamodbav:"pending_uploads"`
			State   string                    `dynamodbav:"account_state"`
		}
		if err := attributevalue.UnmarshalMap(raw, &u); err != nil {
			t.Fatal(err)
		}
		users[u.UserID] = true
		if u.Bytes != stored[u.UserID] || u.Count != count[u.UserID] || len(u.Pending) != 0 || u.State != "" {
			t.Errorf("user %s: bytes %d count %d pending %v state %q; records sum to %d bytes, %d recordings",
				u.UserID, u.Bytes, u.Count, u.Pending, u.State, stored[u.UserID], count[u.UserID])
		}
	}
	// What the clients did: a PUT storage accepted, of a recording nobody
	// deleted, ended available; a lying one rejected; a deleted account
	// left nothing.
	for _, u := range w.users {
		if u.gone && !u.deleted {
			continue // the global invariants above cover it either way
		}
		if u.deleted {
			if users[u.id] {
				t.Errorf("deleted account %s still exists", u.id)
			}
			for key, r := range records {
				if r.UserID == u.id {
					t.Errorf("deleted account %s still has %s", u.id, key)
				}
			}
			continue
		}
		for _, r := range u.recs {
			got, ok := records[r.key]
			switch {
			case r.deleted:
				if ok {
					t.Errorf("deleted recording %s is %s", r.key, got.Status)
				}
			case r.lie:
				if ok && got.Status != string(recording.StatusRejected) {
					t.Errorf("lying upload %s is %s", r.key, got.Status)
				}
			case r.put && !r.unsure:
				if !ok || got.Status != string(recording.StatusAvailable) {
					t.Errorf("accepted upload %s ended %+v (present %v)", r.key, got, ok)
				}
			}
		}
	}
	if t.Failed() {
		for _, line := range strings.Split(w.s.Logs.String(), "\n") {
			if strings.Contains(line, `"level":"ERROR"`) {
				t.Log(line)
			}
		}
	}
}

func (w *world) scan(t *testing.T, logical string) []map[string]ddbtypes.AttributeValue {
	t.Helper()
	table := dynamo.TableName(w.s.Config.TablePrefix, logical)
	var out []map[string]ddbtypes.AttributeValue
	p := dynamodb.NewScanPaginator(w.direct, &dynamodb.ScanInput{TableName: &table, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Items...)
	}
	return out
}

// multipart runs a two-part upload: completed (put), abandoned after its
// first part (the reconciler must abort and close it), or deleted after its
// first part (the delete aborts it).
func (w *world) multipart(t *testing.T, u *user) {
	size := int64(5<<20 + 1 + w.rng.IntN(1<<20))
	var out struct {
		Recording struct {
			ID string `json:"id"`
		} `json:"recording"`
		Upload struct {
			Method    string `json:"method"`
			PartSize  int64  `json:"part_size"`
			PartCount int    `json:"part_count"`
		} `json:"upload"`
	}
	body := map[string]any{"file_name": "long.m4a", "content_type": "audio/mp4", "size_bytes": size}
	if st := w.s.Call(t, u.token, http.MethodPost, "/v1/recordings", body, &out); st != http.StatusCreated || out.Upload.Method != "MULTIPART" {
		w.counts[fmt.Sprintf("multipart create %d", st)]++
		return
	}
	r := &rec{id: out.Recording.ID, key: recording.ObjectKey(u.id, out.Recording.ID, ".m4a"), size: size}
	u.recs = append(u.recs, r)
	data := testaudio.Body("audio/mp4", int(size), 'm')
	var signed struct {
		Parts []struct {
			PartNumber int               `json:"part_number"`
			URL        string            `json:"url"`
			Headers    map[string]string `json:"headers"`
		} `json:"parts"`
	}
	part := func(n int) []byte {
		lo := int64(n-1) * out.Upload.PartSize
		return data[lo:min(lo+out.Upload.PartSize, size)]
	}
	digest := func(b []byte) string { sum := sha256.Sum256(b); return base64.StdEncoding.EncodeToString(sum[:]) }
	ask := []map[string]any{{"part_number": 1, "sha256": digest(part(1))}, {"part_number": 2, "sha256": digest(part(2))}}
	if st := w.s.Call(t, u.token, http.MethodPost, "/v1/recordings/"+r.id+"/parts", map[string]any{"parts": ask}, &signed); st != http.StatusOK {
		w.counts[fmt.Sprintf("multipart sign %d", st)]++
		return
	}
	fate := w.rng.IntN(3)
	var done []map[string]any
	for i, p := range signed.Parts {
		if i == 1 && fate != 0 {
			break
		}
		b := part(p.PartNumber)
		req, _ := http.NewRequest(http.MethodPut, p.URL, bytes.NewReader(b))
		for k, v := range p.Headers {
			req.Header.Set(k, v)
		}
		req.ContentLength = int64(len(b))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			w.counts[fmt.Sprintf("multipart part %d", resp.StatusCode)]++
			return
		}
		done = append(done, map[string]any{"part_number": p.PartNumber, "etag": resp.Header.Get("ETag"), "sha256": digest(b)})
	}
	switch fate {
	case 0:
		st := w.s.Call(t, u.token, http.MethodPost, "/v1/recordings/"+r.id+"/complete", map[string]any{"parts": done}, nil)
		r.put = st == http.StatusOK
		r.unsure = !r.put // a failed complete may still have assembled the object
		w.counts[fmt.Sprintf("multipart complete %d", st)]++
	case 1:
		w.counts["multipart abandoned"]++
	case 2:
		var d deletion
		st := w.s.Call(t, u.token, http.MethodDelete, "/v1/recordings/"+r.id, nil, &d)
		w.answered(t, r, false, st, d)
		w.counts[fmt.Sprintf("multipart delete %d", st)]++
	}
}
