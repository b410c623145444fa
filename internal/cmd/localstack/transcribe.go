package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"time"

	"github.com/voicerec/backend/internal/awsclients"
	"github.com/voicerec/backend/internal/devstack"
	"github.com/voicerec/backend/internal/devtranscribe"
	"github.com/voicerec/backend/internal/s3event"
)

// The local transcription engine stands in for Amazon Transcribe: the API
// and the events handler reach it through AWS_ENDPOINT_URL_TRANSCRIBE, and
// it posts its completion events to the events webhook under
// transcribeEventsPath, as EventBridge invokes the events Lambda.
const transcribeEventsPath = "/transcribe-events"

// transcribeAddr is where the local engine listens (TRANSCRIBE_ADDR).
func transcribeAddr(getenv func(string) string) (string, error) {
	addr := getenv("TRANSCRIBE_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8083"
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", fmt.Errorf("TRANSCRIBE_ADDR: want host:port, got %q", addr)
	}
	return addr, nil
}

// localTranscribeTools reports what the engine needs and is missing.
func localTranscribeTools() []string {
	var missing []string
	for _, tool := range []string{"ffmpeg", "pocketsphinx_continuous"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	return missing
}

// localTranscribeDefaults turn transcription on against the local engine,
// in the one language its model knows, when its tools are installed.
func localTranscribeDefaults(addr string) map[string]string {
	if len(localTranscribeTools()) > 0 {
		return nil
	}
	return map[string]string{
		"TRANSCRIBE_ENABLED":          "true",
		"TRANSCRIBE_LANGUAGES":        devtranscribe.Language,
		"AWS_ENDPOINT_URL_TRANSCRIBE": loopbackURL(addr),
	}
}

// withTranscribeEvents adds the route the engine posts its events to
// beside MinIO's webhook.
func withTranscribeEvents(storage http.Handler, events *s3event.Handler, token string, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(transcribeEventsPath, s3event.EventWebhook(func(ctx context.Context, raw json.RawMessage) error {
		_, err := events.Invoke(ctx, raw)
		return err
	}, token, log))
	mux.Handle("/", storage)
	return mux
}

// startTranscribeEngine serves the engine on addr and runs its jobs until
// ctx ends; its events go to the webhook at hookURL.
func startTranscribeEngine(ctx context.Context, addr, hookURL, token string, clients awsclients.Clients, log *slog.Logger,
	serve func(string, http.Handler) error) error {
	if missing := localTranscribeTools(); len(missing) > 0 {
		log.Warn("no local transcription: install ffmpeg, pocketsphinx and pocketsphinx-en-us (make run does, as root)", "missing", missing)
		return nil
	}
	if err := devstack.CheckPortFree(addr, "transcription engine (TRANSCRIBE_ADDR)"); err != nil {
		return err
	}
	httpc := &http.Client{Timeout: time.Minute}
	eng := &devtranscribe.Engine{
		S3: clients.S3, Log: log,
		Deliver: func(ctx context.Context, ev []byte) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, hookURL+transcribeEventsPath, bytes.NewReader(ev))
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := httpc.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				return fmt.Errorf("events webhook answered %s", resp.Status)
			}
			return nil
		},
	}
	if err := serve(addr, eng.Handler()); err != nil {
		return err
	}
	go eng.Run(ctx)
	return nil
}
