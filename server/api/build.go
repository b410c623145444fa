package api

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/s3"
)

// Build wires the API from configuration: AWS clients, stores, verifier.
// server/main.go and the local stack both call it.
func Build(ctx context.Context, cfg config.Config, log *slog.Logger) (*echo.Echo, error) {
	clients, err := cfg.AWSClients(ctx)
	if err != nil {
		return nil, err
	}
	return FromClients(cfg, log, clients)
}

// FromClients wires the API from ready-made clients (tests use emulator
// credentials).
func FromClients(cfg config.Config, log *slog.Logger, c config.Clients) (*echo.Echo, error) {
	return New(Deps{
		Config:   cfg,
		Log:      log,
		DynamoDB: c.DynamoDB,
		Objects:  s3.New(c.S3, c.Presign, cfg.Bucket),
	}), nil
}

func pingTables(ctx context.Context, c *dynamodb.Client, prefix string) error {
	return dynamo.Ping(ctx, c, prefix)
}

var _ http.Handler = (*echo.Echo)(nil)
