package api

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/auth"
	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/dynamo"
	provider "github.com/voicerec/backend/internal/providers"
	"github.com/voicerec/backend/internal/s3"
)

// Build wires the API from configuration: AWS clients, stores, verifier.
// server/main.go and the local stack both call it.
func Build(ctx context.Context, cfg config.Config, providers []auth.Provider, log *slog.Logger) (*echo.Echo, error) {
	clients, err := cfg.AWSClients(ctx, log)
	if err != nil {
		return nil, err
	}
	verifier, err := auth.NewVerifier(providers, auth.Options{})
	if err != nil {
		return nil, err
	}
	set, err := provider.Build(ctx, cfg.Providers, clients.AWS)
	if err != nil {
		return nil, err
	}
	return New(Deps{
		Config: cfg, Log: log, DynamoDB: clients.DynamoDB, Store: dynamo.New(clients.DynamoDB, cfg.TablePrefix),
		Objects: s3.New(clients.S3, clients.Presign, cfg.Bucket), Verifier: verifier, Providers: set,
	}), nil
}

// FromClients wires the API from ready-made clients (tests use emulator
// credentials).
func FromClients(cfg config.Config, log *slog.Logger, c config.Clients, verifier *auth.Verifier) *echo.Echo {
	return New(Deps{
		Config:   cfg,
		Log:      log,
		DynamoDB: c.DynamoDB,
		Store:    dynamo.New(c.DynamoDB, cfg.TablePrefix),
		Objects:  s3.New(c.S3, c.Presign, cfg.Bucket),
		Verifier: verifier,
	})
}

func pingTables(ctx context.Context, c *dynamodb.Client, prefix string) error {
	return dynamo.Ping(ctx, c, prefix)
}

var _ http.Handler = (*echo.Echo)(nil)
