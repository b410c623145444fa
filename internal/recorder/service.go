// Package recorder holds every operation a user of the voice recorder can
// ask for: create an upload (one PUT or multipart), sign and list its parts,
// complete it, list, get, rename, delete and restore recordings, sign in and
// out, read and delete the account. The rules live here; the HTTP layer
// (server/api) only decodes a request, calls one method and encodes the
// answer, and maps the domain errors these methods return to statuses.
//
// What converges (confirming an upload, finishing a delete, tearing down an
// account) belongs to lifecycle.Keeper, which the service calls; the Keeper
// never calls the service.
package recorder

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/voicerec/backend/internal/auth"
	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/lifecycle"
	"github.com/voicerec/backend/internal/providers"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

// Deps are what the service is built from; the composition root
// (internal/wire) builds each once.
type Deps struct {
	Config config.Config
	Log    *slog.Logger
	// DynamoDB is only asked whether the tables answer (readiness).
	DynamoDB *dynamodb.Client
	Store    *dynamo.Store
	Nonces   *dynamo.Nonces
	Objects  *s3.Store
	Keeper   *lifecycle.Keeper
	// Converger converges a recording at complete (nil: the Keeper, in
	// this process).
	Converger Converger
	// Names reindexes a recording's name after a rename (nil: the
	// Keeper, in this process, before the rename answers).
	Names    NameIndexer
	Verifier *auth.Verifier
	// Providers are the identity providers called on a user's behalf
	// (nil: none).
	Providers *providers.Set
	Now       func() time.Time
}

// Service is every user-facing operation.
type Service struct {
	cfg       config.Config
	log       *slog.Logger
	ddb       *dynamodb.Client
	store     *dynamo.Store
	nonces    *dynamo.Nonces
	objects   *s3.Store
	keeper    *lifecycle.Keeper
	converger Converger
	names     NameIndexer
	verifier  *auth.Verifier
	providers *providers.Set
	limits    recording.Limits
	now       func() time.Time
}

// New builds the service. A missing verifier knows no provider, so every
// sign-in is refused; a missing clock is time.Now.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Verifier == nil {
		d.Verifier, _ = auth.NewVerifier(nil, auth.Options{}) // every provider unknown
	}
	if d.Converger == nil && d.Keeper != nil {
		d.Converger = d.Keeper
	}
	if d.Names == nil && d.Keeper != nil {
		d.Names = d.Keeper
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		cfg: d.Config, log: d.Log, ddb: d.DynamoDB, store: d.Store, nonces: d.Nonces, objects: d.Objects,
		keeper: d.Keeper, converger: d.Converger, names: d.Names, verifier: d.Verifier, providers: d.Providers, now: d.Now,
		limits: recording.Limits{
			MaxUploadBytes: d.Config.MaxUploadBytes, MaxBytes: d.Config.QuotaMaxBytes,
			MaxRecordings: d.Config.QuotaMaxRecordings, MaxPending: d.Config.QuotaMaxPendingUploads,
		},
	}
}

// Dependencies are the checks readiness runs, by the name it reports.
func (s *Service) Dependencies() map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		"dynamodb": func(ctx context.Context) error { return dynamo.Ping(ctx, s.ddb, s.cfg.TablePrefix) },
		"s3":       s.objects.Ping,
	}
}

// Providers are the sign-ins this deployment takes.
func (s *Service) Providers() []auth.Provider { return s.verifier.Providers() }

// ProviderEnabled reports whether name is a configured sign-in.
func (s *Service) ProviderEnabled(name string) bool { return s.verifier.Enabled(name) }

// ownRecording loads the caller's visible recording. A malformed id, another
// user's id and a missing one all end here as the same not-found: the key
// includes the caller's id, so another user's record is never even read.
func (s *Service) ownRecording(ctx context.Context, userID, id string) (recording.Recording, error) {
	if !recording.ValidID(id) {
		return recording.Recording{}, recording.ErrNotFound
	}
	rec, err := s.store.GetRecording(ctx, userID, id)
	if err != nil {
		return recording.Recording{}, err
	}
	if !rec.Visible() {
		return recording.Recording{}, recording.ErrNotFound
	}
	return rec, nil
}
