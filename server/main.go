// Command server is the HTTP API. Inside AWS Lambda it serves API Gateway
// (HTTP API, payload v2) events; anywhere else it listens on API_ADDR.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/wire"
	"github.com/voicerec/backend/server/api"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	parts, err := wire.FromEnv(ctx, getenv, stdout)
	if err != nil {
		return err
	}
	cfg, log := parts.Config, parts.Log
	app := api.New(api.Deps{Config: cfg, Log: log, Service: parts.Service, Now: parts.Now, Exports: parts.Exports})
	if getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		lambda.StartWithOptions(lambdaHandler(app), lambda.WithContext(ctx))
		return nil
	}
	ln, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		return fmt.Errorf("API_ADDR %s: %w", cfg.APIAddr, err)
	}
	if cfg.DebugAddr != "" {
		if err := serveDebug(ctx, cfg.DebugAddr); err != nil {
			return err
		}
		log.Info("debug endpoints listening", "addr", cfg.DebugAddr)
	}
	log.Info("api listening", "addr", ln.Addr().String())
	return api.Serve(ctx, ln, app, log)
}

// serveDebug serves net/http/pprof on its own listener, so profiles never
// share a port, a router or middleware with the public API.
func serveDebug(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("DEBUG_ADDR %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return nil
}

// lambdaHandler serves API Gateway HTTP API (payload v2) events with the same
// echo app the plain server uses.
func lambdaHandler(app *echo.Echo) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return api.LambdaHandler(app)
}
