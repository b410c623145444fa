package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/devstack"
	"github.com/voicerec/backend/internal/metrics"
	"github.com/voicerec/backend/internal/s3event"
	"github.com/voicerec/backend/internal/wire"
	"github.com/voicerec/backend/server/api"
)

// LocalWebhookID names the MinIO notification target of `make run`.
const LocalWebhookID = "RECORDER"

// localSettings are the knobs of the local stack itself (the API and events
// handler read theirs through config.Load).
type localSettings struct {
	dir, jar, minioBin                    string
	ddbAddr, minioAddr, hookAddr, issAddr string
}

func readLocal(getenv func(string) string) (localSettings, error) {
	get := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	s := localSettings{
		dir:       get("RECORDER_LOCAL_DIR", ".local"),
		jar:       getenv("DYNAMODB_LOCAL_JAR"),
		minioBin:  getenv("MINIO_BINARY"),
		ddbAddr:   get("DYNAMODB_LOCAL_ADDR", "127.0.0.1:8000"),
		minioAddr: get("MINIO_ADDR", "127.0.0.1:9000"),
		hookAddr:  get("EVENTS_WEBHOOK_ADDR", "127.0.0.1:8081"),
		issAddr:   get("DEV_ISSUER_ADDR", "127.0.0.1:8082"),
	}
	if s.jar == "" || s.minioBin == "" {
		return s, errors.New("DYNAMODB_LOCAL_JAR and MINIO_BINARY must be set; start the stack with `make run`")
	}
	for name, addr := range map[string]string{"DYNAMODB_LOCAL_ADDR": s.ddbAddr, "MINIO_ADDR": s.minioAddr,
		"EVENTS_WEBHOOK_ADDR": s.hookAddr, "DEV_ISSUER_ADDR": s.issAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return s, fmt.Errorf("%s: want host:port, got %q", name, addr)
		}
	}
	return s, nil
}

// loopbackURL is how local clients reach addr (a wildcard bind included).
func loopbackURL(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// runLocal runs the local stack until ctx ends. Defaults for the API's
// variables are set only where the environment has none, so anything set
// for `make run` reaches the API and the events handler unchanged.
func runLocal(ctx context.Context, getenv func(string) string, setenv func(string, string) error, out io.Writer) error {
	started := time.Now()
	ls, err := readLocal(getenv)
	if err != nil {
		return err
	}
	defaults := map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": loopbackURL(ls.ddbAddr),
		"AWS_ENDPOINT_URL_S3":       loopbackURL(ls.minioAddr),
		"AWS_REGION":                config.DefaultRegion,
		"AWS_ACCESS_KEY_ID":         devstack.MinIOUser,
		"AWS_SECRET_ACCESS_KEY":     devstack.MinIOPassword,
		"LOG_FORMAT":                "text",
	}
	for k, v := range localAuthDefaults(ls) {
		defaults[k] = v
	}
	trAddr, err := transcribeAddr(getenv)
	if err != nil {
		return err
	}
	for k, v := range localTranscribeDefaults(trAddr) {
		defaults[k] = v
	}
	if getenv("TOKEN_ENCRYPTION_KEY") == "" && getenv("TOKEN_KMS_KEY_ID") == "" {
		key, err := localTokenKey(filepath.Join(ls.dir, "data", "token-encryption-key"))
		if err != nil {
			return err
		}
		defaults["TOKEN_ENCRYPTION_KEY"] = key
	}
	for k, v := range defaults {
		if getenv(k) == "" {
			if err := setenv(k, v); err != nil {
				return err
			}
		}
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := cfg.Logger(out)

	// Every port is checked before anything starts, so a clash is one clear
	// message rather than a half-started stack.
	for what, addr := range map[string]string{"API (API_ADDR)": cfg.APIAddr, "DynamoDB Local (DYNAMODB_LOCAL_ADDR)": ls.ddbAddr,
		"MinIO (MINIO_ADDR)": ls.minioAddr, "events webhook (EVENTS_WEBHOOK_ADDR)": ls.hookAddr,
		"dev OIDC issuer (DEV_ISSUER_ADDR)": ls.issAddr} {
		if err := devstack.CheckPortFree(addr, what); err != nil {
			return err
		}
	}
	logDir := filepath.Join(ls.dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	ddbLog, err := os.Create(filepath.Join(logDir, "dynamodb.log"))
	if err != nil {
		return err
	}
	defer ddbLog.Close()
	minioLog, err := os.Create(filepath.Join(logDir, "minio.log"))
	if err != nil {
		return err
	}
	defer minioLog.Close()

	var servers []*http.Server
	defer func() {
		for _, s := range servers {
			_ = s.Close()
		}
	}()
	serve := func(addr string, h http.Handler) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, s)
		go s.Serve(ln)
		return nil
	}

	// The webhook must listen before MinIO starts, or early events are lost.
	// Its handler is set once the events handler is wired.
	var hook http.Handler = http.NotFoundHandler()
	var hookMu sync.RWMutex
	if err := serve(ls.hookAddr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookMu.RLock()
		h := hook
		hookMu.RUnlock()
		h.ServeHTTP(w, r)
	})); err != nil {
		return err
	}
	issuerInfo, err := startDevIssuer(ls, serve)
	if err != nil {
		return err
	}

	hookToken := devstack.NewToken()
	var ddb, minio *devstack.Process
	var ddbErr, minioErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		ddb, ddbErr = devstack.StartDynamoDB(ctx, devstack.DynamoDBOptions{Jar: ls.jar, Addr: ls.ddbAddr,
			DataDir: filepath.Join(ls.dir, "data", "dynamodb"), Log: ddbLog})
	}()
	go func() {
		defer wg.Done()
		minio, minioErr = devstack.StartMinIO(ctx, devstack.MinIOOptions{Binary: ls.minioBin, Addr: ls.minioAddr,
			DataDir: filepath.Join(ls.dir, "data", "minio"), Log: minioLog,
			Webhooks: map[string]devstack.Webhook{LocalWebhookID: {
				URL: loopbackURL(ls.hookAddr) + "/events", AuthToken: hookToken,
				QueueDir: filepath.Join(ls.dir, "data", "minio-events-queue"),
			}}})
	}()
	wg.Wait()
	defer func() {
		if minio != nil {
			_ = minio.Stop()
		}
		if ddb != nil {
			_ = ddb.Stop()
		}
	}()
	if err := errors.Join(ddbErr, minioErr); err != nil {
		return fmt.Errorf("%w (emulator logs in %s)", err, logDir)
	}

	parts, err := wire.Build(ctx, cfg, log)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = devstack.Provision(pctx, parts.Clients, cfg, devstack.WebhookARN(LocalWebhookID))
	cancel()
	if err != nil && strings.Contains(err.Error(), "older version") {
		return fmt.Errorf("%w\nThe local data under %s predates this schema; remove it (make clean-data) and start again", err, filepath.Join(ls.dir, "data"))
	}
	if err != nil {
		return err
	}
	events := s3event.New(log.With("component", "events"), parts.Keeper, parts.Objects, cfg.ReconcileMaxItems)
	hookMu.Lock()
	hook = s3event.Webhook(events.Handle, hookToken, log.With("component", "events"))
	hook = withTranscribeEvents(hook, events, hookToken, log.With("component", "events"))
	hookMu.Unlock()
	if err := startTranscribeEngine(ctx, trAddr, loopbackURL(ls.hookAddr), hookToken, parts.Clients,
		log.With("component", "transcribe"), serve); err != nil {
		return err
	}
	go events.Keeper.Loop(ctx, cfg.ReconcileInterval, cfg.ReconcileMaxItems)
	go parts.ExportWorker.SweepLoop(ctx, cfg.ReconcileInterval, cfg.ReconcileMaxItems)
	go summarizeMetrics(ctx, log.With("component", "metrics"), time.Minute)

	app := api.New(api.Deps{Config: cfg, Log: log.With("component", "api"), Service: parts.Service, Now: parts.Now, Exports: parts.Exports})
	ln, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		return fmt.Errorf("API_ADDR %s: %w", cfg.APIAddr, err)
	}
	apiErr := make(chan error, 1)
	go func() { apiErr <- api.Serve(ctx, ln, app, log) }()

	printBanner(out, cfg, ls, issuerInfo, time.Since(started))
	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "\nstopping: API, MinIO, DynamoDB Local ...")
	case err := <-apiErr:
		return err
	}
	if err := <-apiErr; err != nil {
		return err
	}
	return nil
}

func printBanner(out io.Writer, cfg config.Config, ls localSettings, iss devIssuerInfo, took time.Duration) {
	api := loopbackURL(cfg.APIAddr)
	fmt.Fprintf(out, `
Local stack ready in %.1fs:
  API               %s   (health: %s/readyz)
  web app           %s/app/   (record, upload, play, search and share in a browser)
  DynamoDB Local    %s   tables %s*
  MinIO (S3)        %s   bucket %s, user/password %s/%s
  events webhook    %s   (MinIO -> events handler)
  dev OIDC issuer   %s   (provider "dev")
  transcription     %s
  data and logs     %s
%s
Point the CLI at this stack:
  RECORDER_API=%s recorder login --dev alice

Ctrl-C stops everything.
`, took.Seconds(), api, api, api, cfg.DynamoEndpoint, cfg.TablePrefix, cfg.S3Endpoint, cfg.Bucket, devstack.MinIOUser, devstack.MinIOPassword,
		loopbackURL(ls.hookAddr), iss.URL, transcriptionLine(cfg), ls.dir, iss.Quickstart(api), api)
}

// transcriptionLine says what transcribes confirmed recordings here.
func transcriptionLine(cfg config.Config) string {
	t := cfg.Transcription
	if !t.Enabled {
		return "off (ffmpeg or pocketsphinx missing: make speech-tools)"
	}
	return fmt.Sprintf("%s   (pocketsphinx, %s; stands in for Amazon Transcribe)", t.Endpoint, strings.Join(t.Languages, ", "))
}

// summarizeMetrics prints, every interval, what the dashboard would show of
// this process's EMF metrics, so a developer sees what an operator would.
func summarizeMetrics(ctx context.Context, log *slog.Logger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	prev := metrics.Totals()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := metrics.Totals()
		delta := func(name string) int { return int(now[name] - prev[name]) }
		log.Info("metrics, last minute", "requests", delta(metrics.Requests.Name), "uploads_created", delta(metrics.UploadsCreated.Name),
			"confirmed", delta(metrics.Confirmed.Name), "rejected", delta(metrics.Rejected.Name),
			"orphans_removed", delta(metrics.OrphansRemoved.Name), "reconciler_fixes", delta(metrics.ReconcileFixed.Name))
		prev = now
	}
}

// localTokenKey is the local stack's TOKEN_ENCRYPTION_KEY: made once, kept
// beside the local data (owner-only), so provider tokens sealed in one run
// still open in the next; make clean-data removes both.
func localTokenKey(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	b64 := base64.StdEncoding.EncodeToString(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(b64+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("keep the local token encryption key: %w", err)
	}
	return b64, nil
}
