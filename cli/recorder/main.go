// Command recorder is the command-line client of the recorder backend: it
// signs in, uploads, lists, downloads and deletes recordings through the
// public API and the presigned URLs it hands out, exactly as the app does.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/voicerec/backend/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
