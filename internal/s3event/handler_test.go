package s3event_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/internal/awsclients"
	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/devstack"
	"github.com/voicerec/backend/internal/s3"
	"github.com/voicerec/backend/internal/s3event"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
	"github.com/voicerec/backend/internal/testenv/testaudio"
	"github.com/voicerec/backend/internal/wire"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const m4a = "audio/mp4"

// body is an upload of n bytes whose content differs by seed.
// It is real audio (an M4A padded to n bytes): the handler checks content.
func body(n int, seed byte) []byte { return testaudio.Body(m4a, n, seed) }

// --- Through MinIO's real webhook: the path the local stack and AWS take.

func TestPresignedUploadBecomesAvailableAndListed(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	token, _ := s.Login(t, "alice")

	up := s.CreateUpload(t, token, "morning walk.m4a", "audio/x-m4a", 8192)
	if up.Recording.Status != "pending" {
		t.Fatalf("new recording is %q", up.Recording.Status)
	}
	if st := stack.Put(t, up.Upload, body(8192, 'a')); st != http.StatusOK {
		t.Fatalf("PUT: %d", st)
	}
	rec := s.WaitStatus(t, token, up.Recording.ID, "available")
	if rec.SizeBytes != 8192 || rec.ContentType != m4a || rec.UploadedAt == nil || rec.ExpiresAt != nil || rec.Download == nil {
		t.Errorf("confirmed recording: %+v", rec)
	}
	// What the audio says, measured by the server: one second of AAC.
	if rec.Codec != "aac" || rec.DurationMS == nil || *rec.DurationMS < 950 || *rec.DurationMS > 1050 {
		t.Errorf("audio facts: codec %q, duration %v", rec.Codec, rec.DurationMS)
	}
	list := s.List(t, token, "available")
	if len(list) != 1 || list[0].ID != up.Recording.ID {
		t.Errorf("list after confirmation: %v", list)
	}
	if pending := s.List(t, token, "pending"); len(pending) != 0 {
		t.Errorf("still listed as pending: %v", pending)
	}
	if b, n := s.Usage(t, token); b != 8192 || n != 1 {
		t.Errorf("usage = %d bytes, %d recordings; want 8192, 1", b, n)
	}
	s.AssertLogsFree(t, token, up.Upload.URL)

	// The S3 console shows whose recording an object is: the upload set
	// the tags, confirmation added none (what it learns is in the record).
	tags, err := s.Objects.Tags(context.Background(), s.ObjectKey(t, up.Upload.URL))
	if err != nil || tags["user"] == "" || tags["recording"] != up.Recording.ID || len(tags) != 2 {
		t.Errorf("object tags %v, %v", tags, err)
	}
	// The handler's lines are EMF records CloudWatch can read.
	emitted := s.EmittedMetrics(t)
	for _, want := range []string{"Confirmed", "ConfirmationLatency", "BytesRead"} {
		if !emitted[want] {
			t.Errorf("no %s metric in the logs", want)
		}
	}
}

func TestUndeclaredBodiesAreRejectedAndRemoved(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{
		"QUOTA_MAX_BYTES": "3000", "MAX_UPLOAD_BYTES": "3000",
	}})
	token, _ := s.Login(t, "mallory")
	admin := s.Clients.S3

	for _, tc := range []struct {
		name         string
		body         []byte
		contentType  string
		code, detail string
	}{
		{"shorter body", bytes.Repeat([]byte{'x'}, 500), m4a, "size_mismatch", "500 bytes but 1000 were declared"},
		{"longer body", bytes.Repeat([]byte{'x'}, 1500), m4a, "size_mismatch", "1500 bytes but 1000 were declared"},
		{"other type", bytes.Repeat([]byte{'x'}, 1000), "text/html", "type_mismatch", `content type "text/html"`},
		{"text named audio", bytes.Repeat([]byte("meeting notes\n"), 1000)[:1000], m4a, "not_audio", "not a recognised audio format"},
		{"zeros", make([]byte, 1000), m4a, "not_audio", "not a recognised audio format"},
		{"WAV declared as M4A", testaudio.Body("audio/wav", 1000, 1), m4a, "type_mismatch", "wav audio"},
		{"cut short", truncatedM4A(1000), m4a, "unreadable_audio", "damaged or cut short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := s.CreateUpload(t, token, "memo.m4a", m4a, 1000)
			key := s.ObjectKey(t, up.Upload.URL)
			// The presigned URL would refuse these bodies; admin credentials
			// are how an undeclared object can appear at all.
			_, err := admin.PutObject(context.Background(), &awss3.PutObjectInput{
				Bucket: &s.Config.Bucket, Key: &key, Body: bytes.NewReader(tc.body),
				ContentType: aws.String(tc.contentType),
			})
			if err != nil {
				t.Fatal(err)
			}
			rec := s.WaitStatus(t, token, up.Recording.ID, "rejected")
			if rec.RejectReason != tc.code || !strings.Contains(rec.RejectDetail, tc.detail) || rec.Download != nil {
				t.Errorf("rejected recording: %+v (reason %q: %q)", rec, rec.RejectReason, rec.RejectDetail)
			}
			waitGone(t, admin, s.Config.Bucket, key)
		})
	}
	rejected := s.List(t, token, "rejected")
	if len(rejected) != 7 {
		t.Errorf("rejected list: %v", rejected)
	}
	if b, n := s.Usage(t, token); b != 0 || n != 0 {
		t.Errorf("usage after rejections = %d, %d", b, n)
	}
	// The reservations were released: the whole quota is usable again.
	s.CreateUpload(t, token, "next.m4a", m4a, s.Config.QuotaMaxBytes)
}

// A 42-byte FLAC whose STREAMINFO claims 2,177 years, uploaded as declared through its
// presigned URL, is rejected as unreadable: never available with that duration.
func TestImpossibleDurationIsRejected(t *testing.T) {
	bomb, err := os.ReadFile(filepath.Join("..", "audio", "testdata", "flac_impossible_duration.flac"))
	if err != nil {
		t.Fatal(err)
	}
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	token, _ := s.Login(t, "trudy")
	up := s.CreateUpload(t, token, "memo.flac", "audio/flac", int64(len(bomb)))
	if st := stack.Put(t, up.Upload, bomb); st != http.StatusOK {
		t.Fatalf("PUT: %d", st)
	}
	rec := s.WaitStatus(t, token, up.Recording.ID, "rejected")
	if rec.RejectReason != "unreadable_audio" || rec.DurationMS != nil && *rec.DurationMS > 0 {
		t.Errorf("rejected recording: %+v (reason %q: %q)", rec, rec.RejectReason, rec.RejectDetail)
	}
}

func TestObjectDeletedBehindTheAPIsBack(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	token, _ := s.Login(t, "bob")
	up := s.CreateUpload(t, token, "lecture.m4a", m4a, 8192)
	stack.Put(t, up.Upload, body(8192, 'b'))
	s.WaitStatus(t, token, up.Recording.ID, "available")

	key := s.ObjectKey(t, up.Upload.URL)
	if _, err := s.Clients.S3.DeleteObject(context.Background(), &awss3.DeleteObjectInput{Bucket: &s.Config.Bucket, Key: &key}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, st := s.Get(t, token, up.Recording.ID)
		if st == http.StatusNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("record still there (%d) after its object was deleted", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if list := s.List(t, token, "available"); len(list) != 0 {
		t.Errorf("list offers a recording without an object: %v", list)
	}
	if b, n := s.Usage(t, token); b != 0 || n != 0 {
		t.Errorf("usage after external delete = %d, %d", b, n)
	}
}

func TestUploadAfterCancelLeavesNoOrphan(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	token, _ := s.Login(t, "carol")
	up := s.CreateUpload(t, token, "draft.m4a", m4a, 6000)
	if st := s.Call(t, token, http.MethodDelete, "/v1/recordings/"+up.Recording.ID, nil, nil); st != http.StatusOK {
		t.Fatalf("cancel: %d", st)
	}
	// The URL is still within its lifetime, so storage accepts the bytes;
	// the events handler must not let them stay.
	if st := stack.Put(t, up.Upload, body(6000, 'c')); st != http.StatusOK {
		t.Fatalf("late PUT: %d", st)
	}
	waitGone(t, s.Clients.S3, s.Config.Bucket, s.ObjectKey(t, up.Upload.URL))
}

func TestOddKeysAreDecodedAndIgnored(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	_, uid := s.Login(t, "dave")
	keys := []string{
		"recordings/" + uid + "/회의 녹음+1.m4a",
		"recordings/" + uid + "/a b+c%2F.m4a",
		"recordings/report 1+1 (final).txt",
	}
	for _, key := range keys {
		_, err := s.Clients.S3.PutObject(context.Background(), &awss3.PutObjectInput{
			Bucket: &s.Config.Bucket, Key: aws.String(key), Body: strings.NewReader("x"),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range keys {
		line := waitLogLine(t, s.Logs, func(l logLine) bool { return l.Key == key })
		if line.Outcome != "ignored" {
			t.Errorf("%q: outcome %q", key, line.Outcome)
		}
	}
}

// --- Delivered by hand: real MinIO events, replayed in any order.

type replay struct {
	s      *stack.Stack
	rec    *stack.HeldEvents
	h      *s3event.Handler
	logs   *stack.SyncBuffer
	token  string
	userID string
}

func newReplay(t *testing.T) *replay {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	r := &replay{s: s, rec: s.Hold(t), logs: &stack.SyncBuffer{}}
	r.h = handlerFor(t, s.Config, slog.New(slog.NewJSONHandler(r.logs, nil)), s.Clients)
	r.token, r.userID = s.Login(t, "replayer")
	return r
}

// handle delivers ev and returns the outcome it logged.
func (r *replay) handle(t *testing.T, ev events.S3Event) string {
	t.Helper()
	before := len(parseLog(r.logs.String()))
	if err := r.h.Handle(context.Background(), ev); err != nil {
		t.Fatalf("handle %s: %v", ev.Records[0].EventName, err)
	}
	lines := parseLog(r.logs.String())[before:]
	if len(lines) != 1 {
		t.Fatalf("want one log line per record, got %v", lines)
	}
	return lines[0].Outcome
}

func TestDuplicateDeliveryChangesNothing(t *testing.T) {
	r := newReplay(t)
	up := r.s.CreateUpload(t, r.token, "twice.m4a", m4a, 6000)
	stack.Put(t, up.Upload, body(6000, 'd'))
	key := r.s.ObjectKey(t, up.Upload.URL)
	ev := r.rec.Next(t, key, "ObjectCreated")

	want := []string{"confirmed", "in_sync", "in_sync"}
	for i, w := range want {
		if got := r.handle(t, ev); got != w {
			t.Errorf("delivery %d: outcome %q, want %q", i+1, got, w)
		}
	}
	if b, n := r.s.Usage(t, r.token); b != 6000 || n != 1 {
		t.Errorf("usage = %d, %d; counted more than once", b, n)
	}
}

// Every order of put, external delete and put again to the same key ends
// the same way: the object exists, so the recording is available and counted
// once, whatever arrives late or twice.
func TestEventsInAnyOrder(t *testing.T) {
	r := newReplay(t)
	orders := [][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	for _, order := range orders {
		up := r.s.CreateUpload(t, r.token, "ordered.m4a", m4a, 6000)
		key := r.s.ObjectKey(t, up.Upload.URL)
		stack.Put(t, up.Upload, body(6000, '1'))
		put1 := r.rec.Next(t, key, "ObjectCreated")
		if _, err := r.s.Clients.S3.DeleteObject(context.Background(), &awss3.DeleteObjectInput{Bucket: &r.s.Config.Bucket, Key: &key}); err != nil {
			t.Fatal(err)
		}
		removed := r.rec.Next(t, key, "ObjectRemoved")
		stack.Put(t, up.Upload, body(6000, '2'))
		put2 := r.rec.Next(t, key, "ObjectCreated")
		evs := []events.S3Event{put1, removed, put2}
		if !(seq(put1) < seq(removed) && seq(removed) < seq(put2)) {
			t.Fatalf("sequencers not increasing: %s %s %s", seq(put1), seq(removed), seq(put2))
		}
		var outcomes []string
		for pass := 0; pass < 2; pass++ { // and everything again, as a redelivery
			for _, i := range order {
				outcomes = append(outcomes, r.handle(t, evs[i]))
			}
		}
		got, st := r.s.Get(t, r.token, up.Recording.ID)
		if st != http.StatusOK || got.Status != "available" || got.SizeBytes != 6000 {
			t.Errorf("order %v (outcomes %v): %d %v", order, outcomes, st, got)
		}
		if n := strings.Count(strings.Join(outcomes, " "), "confirmed"); n != 1 {
			t.Errorf("order %v: confirmed %d times: %v", order, n, outcomes)
		}
	}
	if b, n := r.s.Usage(t, r.token); b != 6000*int64(len(orders)) || n != int64(len(orders)) {
		t.Errorf("usage = %d bytes, %d recordings; want %d, %d", b, n, 6000*len(orders), len(orders))
	}
}

// seq orders sequencers the way S3 documents: as hex numbers, the shorter
// one left-padded with zeros.
func seq(ev events.S3Event) string {
	q := strings.ToUpper(ev.Records[0].S3.Object.Sequencer)
	return strings.Repeat("0", max(0, 32-len(q))) + q
}

func TestEventsForADeletedRecording(t *testing.T) {
	r := newReplay(t)
	up := r.s.CreateUpload(t, r.token, "gone.m4a", m4a, 6000)
	key := r.s.ObjectKey(t, up.Upload.URL)
	stack.Put(t, up.Upload, body(6000, 'g'))
	created := r.rec.Next(t, key, "ObjectCreated")
	if got := r.handle(t, created); got != "confirmed" {
		t.Fatalf("confirm: %s", got)
	}
	if st := r.s.Call(t, r.token, http.MethodDelete, "/v1/recordings/"+up.Recording.ID+"?purge=true", nil, nil); st != http.StatusOK {
		t.Fatalf("delete: %d", st)
	}
	removed := r.rec.Next(t, key, "ObjectRemoved")

	for _, tc := range []struct {
		ev   events.S3Event
		want string
	}{
		{removed, "ignored"},
		{created, "ignored"}, // a late redelivery must not resurrect it
		{removed, "ignored"},
	} {
		if got := r.handle(t, tc.ev); got != tc.want {
			t.Errorf("%s: outcome %q, want %q", tc.ev.Records[0].EventName, got, tc.want)
		}
	}
	if _, st := r.s.Get(t, r.token, up.Recording.ID); st != http.StatusNotFound {
		t.Errorf("deleted recording: %d", st)
	}
	assertGone(t, r.s.Clients.S3, r.s.Config.Bucket, key)
	if b, n := r.s.Usage(t, r.token); b != 0 || n != 0 {
		t.Errorf("usage = %d, %d", b, n)
	}
}

func TestOneBadRecordDoesNotStopTheOthers(t *testing.T) {
	r := newReplay(t)
	up := r.s.CreateUpload(t, r.token, "good.m4a", m4a, 6000)
	key := r.s.ObjectKey(t, up.Upload.URL)
	stack.Put(t, up.Upload, body(6000, 'o'))
	good := r.rec.Next(t, key, "ObjectCreated").Records[0]

	foreign := good
	foreign.S3.Object.Key, foreign.S3.Object.URLDecodedKey = "recordings/not-a-user/x.m4a", "recordings/not-a-user/x.m4a"
	otherBucket := good
	otherBucket.S3.Bucket.Name = "someone-elses-bucket"
	unknownEvent := good
	unknownEvent.EventName = "s3:Replication:OperationFailedReplication"

	ev := events.S3Event{Records: []events.S3EventRecord{foreign, otherBucket, unknownEvent, good}}
	if err := r.h.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	lines := parseLog(r.logs.String())
	var outcomes []string
	for _, l := range lines {
		outcomes = append(outcomes, l.Outcome)
	}
	if strings.Join(outcomes, ",") != "ignored,ignored,ignored,confirmed" {
		t.Errorf("outcomes %v", outcomes)
	}
	for _, l := range lines {
		if l.Key == "" || l.LatencyMS == nil {
			t.Errorf("log line lacks key or latency: %+v", l)
		}
	}
}

// A dependency that cannot be reached fails the invocation, so Lambda (or
// MinIO's webhook queue) delivers it again; the redelivery completes it.
func TestTransientFailureFailsTheInvocationAndRedeliveryCompletes(t *testing.T) {
	r := newReplay(t)
	up := r.s.CreateUpload(t, r.token, "retry.m4a", m4a, 6000)
	key := r.s.ObjectKey(t, up.Upload.URL)
	stack.Put(t, up.Upload, body(6000, 'r'))
	ev := r.rec.Next(t, key, "ObjectCreated")

	deadAddr, err := devstack.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	cfg := r.s.Config
	cfg.DynamoEndpoint = "http://" + deadAddr
	clients := awsclients.From(cfg, testenv.AWSConfig(cfg.Region))
	logs := &stack.SyncBuffer{}
	broken := handlerFor(t, cfg, slog.New(slog.NewJSONHandler(logs, nil)), clients)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = broken.Handle(ctx, ev)
	if err == nil || !strings.Contains(err.Error(), key) {
		t.Fatalf("Handle with DynamoDB down = %v, want an error naming the key", err)
	}
	if lines := parseLog(logs.String()); len(lines) != 1 || lines[0].Outcome != "failed_will_retry" {
		t.Errorf("log: %v", lines)
	}
	if pending := r.s.List(t, r.token, "pending"); len(pending) != 1 || pending[0].ID != up.Recording.ID {
		t.Errorf("after a failed invocation, pending: %v", pending)
	}
	if got := r.handle(t, ev); got != "confirmed" {
		t.Errorf("redelivery: %q", got)
	}
}

// The events Lambda receives what AWS sends; aws-lambda-go's own sample
// documents are that shape, read here from the module as published.
func TestParsesAWSLambdaGoSamples(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	if err != nil {
		t.Fatalf("locate aws-lambda-go: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "events", "testdata")
	samples := []string{
		"s3-event.json", "s3-event-with-decoded.json", "s3-lifecycle-event.json",
		"s3-glacier-event.json", "s3-restore-event.json", "s3-replication-event.json",
		"s3-intelligenttier-event.json",
	}
	env := testenv.Get(t)
	for _, name := range samples {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			var ev events.S3Event
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			if len(ev.Records) == 0 {
				t.Fatal("no records")
			}
			// A handler for the sample's own bucket, so each record gets past
			// the bucket check and is judged by its key.
			cfg := env.Config(t, map[string]string{"S3_BUCKET": ev.Records[0].S3.Bucket.Name})
			logs := &stack.SyncBuffer{}
			h := handlerFor(t, cfg, slog.New(slog.NewJSONHandler(logs, nil)), env.Clients(cfg))
			if err := h.Handle(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			lines := parseLog(logs.String())
			if len(lines) != len(ev.Records) {
				t.Fatalf("%d log lines for %d records", len(lines), len(ev.Records))
			}
			for i, l := range lines {
				want, _ := url.QueryUnescape(ev.Records[i].S3.Object.Key)
				if l.Key != want || l.Outcome != "ignored" {
					t.Errorf("record %d: key %q outcome %q; want %q ignored", i, l.Key, l.Outcome, want)
				}
			}
		})
	}
}

// The AWS sample, with only its bucket and key pointed at a real upload,
// confirms it: AWS's event names (no "s3:" prefix) and URL-encoded keys work.
func TestAWSShapedEventConfirms(t *testing.T) {
	r := newReplay(t)
	up := r.s.CreateUpload(t, r.token, "aws.m4a", m4a, 6000)
	key := r.s.ObjectKey(t, up.Upload.URL)
	stack.Put(t, up.Upload, body(6000, 'w'))
	r.rec.Next(t, key, "ObjectCreated") // MinIO's own copy, not used

	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "events", "testdata", "s3-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.NewReplacer(`"sourcebucket"`, `"`+r.s.Config.Bucket+`"`,
		`"Happy%20Face.jpg"`, `"`+url.QueryEscape(key)+`"`,
		`"Happy Sequencer"`, `"0055AED6DCD90281E5"`).Replace(string(raw))
	var ev events.S3Event
	if err := json.Unmarshal([]byte(doc), &ev); err != nil {
		t.Fatal(err)
	}
	if got := r.handle(t, ev); got != "confirmed" {
		t.Errorf("outcome %q", got)
	}
}

// --- helpers

func exists(t *testing.T, c *awss3.Client, bucket, key string) bool {
	t.Helper()
	_, err := c.HeadObject(context.Background(), &awss3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err == nil {
		return true
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
		return false
	}
	t.Fatal(err)
	return false
}

func assertGone(t *testing.T, c *awss3.Client, bucket, key string) {
	t.Helper()
	if exists(t, c, bucket, key) {
		t.Errorf("object %s is still stored", key)
	}
}

func waitGone(t *testing.T, c *awss3.Client, bucket, key string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for exists(t, c, bucket, key) {
		if time.Now().After(deadline) {
			t.Fatalf("object %s is still stored", key)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type logLine struct {
	Msg       string   `json:"msg"`
	Key       string   `json:"key"`
	Outcome   string   `json:"outcome"`
	LatencyMS *float64 `json:"latency_ms"`
}

// parseLog returns the per-record lines of a JSON log.
func parseLog(s string) []logLine {
	var lines []logLine
	dec := json.NewDecoder(strings.NewReader(s))
	for {
		var l logLine
		if err := dec.Decode(&l); err == io.EOF {
			return lines
		} else if err != nil {
			panic(err)
		}
		if l.Msg == "s3 record" {
			lines = append(lines, l)
		}
	}
}

func waitLogLine(t *testing.T, logs *stack.SyncBuffer, match func(logLine) bool) logLine {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, l := range parseLog(logs.String()) {
			if match(l) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching log line in\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// truncatedM4A is a real M4A cut off inside its first box: the container is
// recognised but cannot be read.
func truncatedM4A(n int) []byte {
	b := testaudio.Body(m4a, testaudio.MinSize(m4a), 0)
	out := make([]byte, n)
	copy(out, b[:64])
	return out
}

// An object removed behind the API's back removes its record, and the log
// says so (record_removed, with a latency in milliseconds that fits the
// call); the same event again finds nothing to do.
func TestObjectRemovedOutcomeAndLatency(t *testing.T) {
	r := newReplay(t)
	up := r.s.CreateUpload(t, r.token, "behind.m4a", m4a, 6000)
	key := r.s.ObjectKey(t, up.Upload.URL)
	stack.Put(t, up.Upload, body(6000, 'b'))
	if got := r.handle(t, r.rec.Next(t, key, "ObjectCreated")); got != "confirmed" {
		t.Fatalf("confirm: %s", got)
	}
	if _, err := r.s.Clients.S3.DeleteObject(context.Background(), &awss3.DeleteObjectInput{Bucket: &r.s.Config.Bucket, Key: &key}); err != nil {
		t.Fatal(err)
	}
	removed := r.rec.Next(t, key, "ObjectRemoved")
	before := len(parseLog(r.logs.String()))
	start := time.Now()
	if err := r.h.Handle(context.Background(), removed); err != nil {
		t.Fatal(err)
	}
	wall := float64(time.Since(start).Microseconds()) / 1000
	lines := parseLog(r.logs.String())[before:]
	if len(lines) != 1 || lines[0].Outcome != "record_removed" {
		t.Fatalf("log lines %+v, want one with outcome record_removed", lines)
	}
	if l := lines[0].LatencyMS; l == nil || *l < 0 || *l > wall {
		t.Fatalf("latency_ms %s for a call of %.3f ms", r.logs, wall)
	}
	if got := r.handle(t, removed); got != "ignored" {
		t.Fatalf("the removal again: %s, want ignored", got)
	}
	if b, n := r.s.Usage(t, r.token); b != 0 || n != 0 {
		t.Fatalf("usage %d bytes, %d recordings; want 0, 0", b, n)
	}
}

// The logged key is the decoded one: URLDecodedKey when the record has it
// (the Lambda runtime fills it in), else the raw Key unescaped, else the raw
// Key as it is.
func TestRecordKeyDecoding(t *testing.T) {
	logs := &stack.SyncBuffer{}
	h := &s3event.Handler{Log: slog.New(slog.NewJSONHandler(logs, nil)), Objects: s3.New(nil, nil, "ours")}
	for _, tc := range []struct {
		obj  events.S3Object
		want string
	}{
		{events.S3Object{URLDecodedKey: "recordings/a b", Key: "recordings/other"}, "recordings/a b"},
		{events.S3Object{Key: "recordings%2Fa+b"}, "recordings/a b"},
		{events.S3Object{Key: "bad%zz"}, "bad%zz"},
		{events.S3Object{}, ""},
	} {
		before := len(parseLog(logs.String()))
		ev := events.S3Event{Records: []events.S3EventRecord{{EventName: "ObjectCreated:Put",
			S3: events.S3Entity{Bucket: events.S3Bucket{Name: "someone-elses"}, Object: tc.obj}}}}
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		lines := parseLog(logs.String())[before:]
		if len(lines) != 1 || lines[0].Key != tc.want || lines[0].Outcome != "ignored" {
			t.Errorf("%+v: logged %+v, want key %q, ignored", tc.obj, lines, tc.want)
		}
	}
}

// handlerFor is the events handler over clients, built as the events
// Lambda builds it.
func handlerFor(t testing.TB, cfg config.Config, log *slog.Logger, clients awsclients.Clients) *s3event.Handler {
	t.Helper()
	parts, err := wire.Build(context.Background(), cfg, log, wire.WithClients(clients))
	if err != nil {
		t.Fatal(err)
	}
	return s3event.New(log, parts.Keeper, parts.Objects, cfg.ReconcileMaxItems)
}
