// Command localstack is `make run`: DynamoDB Local and MinIO on loopback with
// data kept under .local/, the tables, the bucket and its notifications, the
// events handler behind MinIO's webhook, a development OIDC issuer, and the
// API. Ctrl-C stops all of it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runLocal(ctx, os.Getenv, os.Setenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "make run:", err)
		os.Exit(1)
	}
}
