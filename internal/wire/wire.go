// Package wire is the composition root: the one place that turns a
// configuration into the running parts (AWS clients, stores, the identity
// providers, the token verifier, the lifecycle Keeper and the recorder
// service), each built once. The API server, the events Lambda, the local
// stack and the tests all start here; none of them builds a part itself,
// and nothing is patched after Build returns.
package wire

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/voicerec/backend/internal/auth"
	"github.com/voicerec/backend/internal/awsclients"
	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/export"
	"github.com/voicerec/backend/internal/lifecycle"
	"github.com/voicerec/backend/internal/providers"
	"github.com/voicerec/backend/internal/recorder"
	"github.com/voicerec/backend/internal/s3"
	"github.com/voicerec/backend/internal/transcribe"
)

// App is every part, built from one configuration.
type App struct {
	Config    config.Config
	Log       *slog.Logger
	Clients   awsclients.Clients
	Store     *dynamo.Store
	Nonces    *dynamo.Nonces
	Objects   *s3.Store
	Verifier  *auth.Verifier
	Providers *providers.Set
	// Keeper converges recordings and accounts: the events handler and
	// the reconciler call it, and so does the service.
	Keeper *lifecycle.Keeper
	// Converger is what a complete converges through: the Keeper, or
	// with EVENTS_FUNCTION_NAME the events function, so the API's process
	// never reads audio.
	Converger recorder.Converger
	Service   *recorder.Service
	// Exports is the API's side of exports; ExportWorker builds the
	// archives (the export Lambda on AWS, this process locally).
	Exports      *export.Service
	ExportWorker *export.Worker
	// Now is the clock every part was given.
	Now func() time.Time
}

type options struct {
	clients *awsclients.Clients
	now     func() time.Time

	transcripts export.TranscriptSource
}

// Option changes how Build makes a part.
type Option func(*options)

// WithClients uses ready-made AWS clients instead of loading credentials
// the SDK's usual way (tests pass the emulators').
func WithClients(c awsclients.Clients) Option {
	return func(o *options) { o.clients = &c }
}

// WithClock gives every part the same clock (expiry tests step it).
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// Build makes every part from cfg.
func Build(ctx context.Context, cfg config.Config, log *slog.Logger, opts ...Option) (*App, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	now := o.now
	if now == nil {
		now = time.Now
	}
	var clients awsclients.Clients
	if o.clients != nil {
		clients = *o.clients
	} else {
		var err error
		if clients, err = awsclients.Load(ctx, cfg, log); err != nil {
			return nil, err
		}
	}
	verifier, err := Verifier(cfg)
	if err != nil {
		return nil, err
	}
	set, err := providers.Build(ctx, cfg.Providers, clients.AWS)
	if err != nil {
		return nil, err
	}
	a := &App{
		Config: cfg, Log: log, Clients: clients, Now: now, Verifier: verifier, Providers: set,
		Store:   dynamo.New(clients.DynamoDB, cfg.TablePrefix),
		Nonces:  dynamo.NewNonces(clients.DynamoDB, cfg.TablePrefix),
		Objects: s3.New(clients.S3, clients.Presign, cfg.Bucket),
	}
	a.Store.SetChangeRetention(cfg.ChangesRetention)
	a.Keeper = &lifecycle.Keeper{
		Store: a.Store, Objects: a.Objects, Log: log, Now: now, TrashRetention: cfg.TrashRetention, Providers: set,
		Transcription: transcription(cfg, clients),
		Exports:       dynamo.NewExports(clients.DynamoDB, cfg.TablePrefix),
	}
	a.Converger = a.Keeper
	if cfg.EventsFunctionName != "" {
		a.Converger = lifecycle.Remote{Lambda: clients.Lambda, Function: cfg.EventsFunctionName}
	}
	a.Service = recorder.New(recorder.Deps{
		Config: cfg, Log: log, DynamoDB: clients.DynamoDB, Store: a.Store, Nonces: a.Nonces, Objects: a.Objects,
		Keeper: a.Keeper, Converger: a.Converger, Verifier: verifier, Providers: set, Now: now,
	})
	buildExports(a, o.transcripts)
	return a, nil
}

// Verifier checks ID tokens of the providers cfg configures.
func Verifier(cfg config.Config) (*auth.Verifier, error) {
	ps := make([]auth.Provider, len(cfg.OIDC))
	for i, p := range cfg.OIDC {
		ps[i] = auth.Provider(p)
	}
	return auth.NewVerifier(ps, auth.Options{})
}

// FromEnv is what every deployed entry point starts with: the configuration
// from the environment (every bad variable named at once), the logger it
// asks for writing to stdout, and every part built from them.
func FromEnv(ctx context.Context, getenv func(string) string, stdout io.Writer) (*App, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	return Build(ctx, cfg, cfg.Logger(stdout))
}

// transcription is the Keeper's engine when the configuration enables one.
// Completed transcripts go nowhere else yet: a search index is fed through
// the Sink.
func transcription(cfg config.Config, clients awsclients.Clients) lifecycle.Transcription {
	t := lifecycle.Transcription{MinutesPerMonth: cfg.Transcription.MinutesPerMonth, Sink: lifecycle.NoTranscriptSink{}}
	if cfg.Transcription.Enabled && clients.Transcribe != nil {
		t.Engine = &transcribe.Engine{
			Client: clients.Transcribe, Bucket: cfg.Bucket, Languages: cfg.Transcription.Languages, MaxSpeakers: 10,
		}
	}
	return t
}
