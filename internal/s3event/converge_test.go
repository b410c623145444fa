package s3event_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/voicerec/backend/internal/lifecycle"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3event"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// fakeLambda speaks the Lambda Invoke API for one function, running h's
// entry point as the Lambda runtime would: an answer is the payload, an
// error is a function error (HTTP 200, X-Amz-Function-Error).
func fakeLambda(t *testing.T, function string, h *s3event.Handler) *lambda.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/2015-03-31/functions/"+function+"/invocations" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"Type":"User","message":"Function not found"}`)
			return
		}
		if it := r.Header.Get("X-Amz-Invocation-Type"); it != "RequestResponse" {
			t.Errorf("invocation type %q, want RequestResponse (the API waits for the outcome)", it)
		}
		raw, _ := io.ReadAll(r.Body)
		ans, err := h.Invoke(r.Context(), raw)
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		if err != nil {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_ = json.NewEncoder(w).Encode(map[string]string{"errorMessage": err.Error(), "errorType": "errorString"})
			return
		}
		_ = json.NewEncoder(w).Encode(ans)
	}))
	t.Cleanup(srv.Close)
	return lambda.NewFromConfig(aws.Config{
		Region: "us-east-1", Credentials: aws.AnonymousCredentials{},
	}, func(o *lambda.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

// The API's complete converges through the events function: the remote
// converger's payload reaches the Keeper through the events handler's
// routing, and the outcome comes back.
func TestRemoteConvergeInvokesTheEventsFunction(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	// Hold the storage events, so only the invoke can confirm.
	s.Env.OnEvent(t, s.Config.Bucket, func(context.Context, events.S3Event) error { return nil })
	remote := lifecycle.Remote{Lambda: fakeLambda(t, "recorder-events", s.Events), Function: "recorder-events"}
	token, userID := s.Login(t, "remote")
	up := s.CreateUpload(t, token, "remote.m4a", m4a, 6000)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	if out, err := remote.Converge(ctx, userID, up.Recording.ID, ""); err != nil || out != lifecycle.OutcomeWaiting {
		t.Fatalf("converge before the PUT: %q, %v; want %q", out, err, lifecycle.OutcomeWaiting)
	}
	stack.Put(t, up.Upload, body(6000, 'r'))
	if out, err := remote.Converge(ctx, userID, up.Recording.ID, ""); err != nil || out != lifecycle.OutcomeConfirmed {
		t.Fatalf("converge after the PUT: %q, %v; want %q", out, err, lifecycle.OutcomeConfirmed)
	}
	if out, err := remote.Converge(ctx, userID, up.Recording.ID, ""); err != nil || out != lifecycle.OutcomeInSync {
		t.Fatalf("converge again: %q, %v; want %q", out, err, lifecycle.OutcomeInSync)
	}
	if rec, st := s.Get(t, token, up.Recording.ID); st != http.StatusOK || rec.Status != "available" {
		t.Errorf("after the remote converge: %d %+v", st, rec)
	}
	// A request that names no recording is the function's error, and the
	// converger's.
	if _, err := remote.Converge(ctx, userID, "not-an-id", ""); err == nil || !strings.Contains(err.Error(), "names no recording") {
		t.Errorf("converge of a malformed id: %v", err)
	}
	// So is a function that is not there.
	other := lifecycle.Remote{Lambda: remote.Lambda, Function: "missing"}
	if _, err := other.Converge(ctx, userID, up.Recording.ID, ""); err == nil {
		t.Error("converge through a missing function succeeded")
	}
}

// The three payloads the events function takes are told apart: a converge
// request is answered with its outcome, a notification and the schedule
// with nothing.
func TestInvokeRoutesAConvergeRequest(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	_, userID := s.Login(t, "routed")
	ans, err := s.Events.Invoke(context.Background(), json.RawMessage(`{"converge":{"user_id":"`+userID+`","recording_id":"`+recording.NewID(time.Now())+`"}}`))
	if err != nil || ans == nil || ans.Outcome != lifecycle.OutcomeIgnored {
		t.Fatalf("converge of a recording never created: %+v, %v; want %q", ans, err, lifecycle.OutcomeIgnored)
	}
	if ans, err := s.Events.Invoke(context.Background(), json.RawMessage(`{"Records":[]}`)); err != nil || ans != nil {
		t.Errorf("an empty notification answered %+v, %v", ans, err)
	}
}

// A complete and the storage event of the same upload race: whichever
// comes first confirms it, exactly once (one transition, the bytes counted
// once, one "recording confirmed" line with its metric), and the other finds
// it done. Each round delivers both at once.
func TestCompleteAndEventRaceConfirmOnce(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	held := make(chan events.S3Event, 64)
	s.Env.OnEvent(t, s.Config.Bucket, func(_ context.Context, ev events.S3Event) error {
		held <- ev
		return nil
	})
	token, _ := s.Login(t, "racer")
	const rounds, size = 24, 6000
	for i := range rounds {
		up := s.CreateUpload(t, token, "race.m4a", m4a, size)
		stack.Put(t, up.Upload, body(size, byte(i)))
		var ev events.S3Event
		for ev.Records == nil || !strings.Contains(ev.Records[0].S3.Object.Key, up.Recording.ID) {
			select {
			case ev = <-held:
			case <-time.After(20 * time.Second):
				t.Fatalf("round %d: no notification", i)
			}
		}
		done := make(chan error, 1)
		go func() { done <- s.Events.Handle(context.Background(), ev) }()
		var rec stack.Recording
		st := s.Call(t, token, http.MethodPost, "/v1/recordings/"+up.Recording.ID+"/complete", map[string]any{}, &rec)
		if err := <-done; err != nil {
			t.Fatalf("round %d: event: %v", i, err)
		}
		if st != http.StatusOK || rec.Status != "available" {
			t.Fatalf("round %d: complete answered %d %+v", i, st, rec)
		}
	}
	if n, count := s.Usage(t, token); n != rounds*size || count != rounds {
		t.Errorf("usage %d bytes, %d recordings; want %d, %d (each counted once)", n, count, rounds*size, rounds)
	}
	eventWon := 0
	for _, line := range s.Logged("s3 record") {
		if line["outcome"] == lifecycle.OutcomeConfirmed {
			eventWon++
		}
	}
	t.Logf("the event confirmed %d of %d, the complete the rest", eventWon, rounds)
	confirmed := s.Logged("recording confirmed")
	if len(confirmed) != rounds {
		t.Errorf("%d recordings confirmed in %d lines, want one each", rounds, len(confirmed))
	}
	for _, line := range confirmed {
		if _, ok := line["_aws"]; !ok {
			t.Errorf("a confirmation without its metric: %v", line)
		}
	}
}
