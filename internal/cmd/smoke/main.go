// Command smoke checks a deployed stage the way an app uses it: it signs
// in with a provider's ID token read from stdin, uploads a small real
// recording, waits for its confirmation, finds it in the list, downloads it
// and compares the bytes, deletes it for good and signs out, printing each
// step. `make smoke STAGE=...` runs it against the stage's ApiUrl.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/voicerec/backend/client"
	"github.com/voicerec/backend/internal/testenv/testaudio"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "smoke:", err)
		os.Exit(1)
	}
}

// run is the whole check; hc (nil: the client's own) carries every request,
// the API's and storage's.
func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, hc *http.Client) error {
	fs := flag.NewFlagSet("smoke", flag.ContinueOnError)
	api := fs.String("api", "", "the stage's API (its ApiUrl output)")
	provider := fs.String("provider", "google", "the identity provider whose ID token stdin holds")
	wait := fs.Duration("wait", 2*time.Minute, "longest wait for the upload's confirmation")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *api == "" {
		return errors.New("-api is required (the stack's ApiUrl output)")
	}
	idToken, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the ID token from stdin: %w", err)
	}
	if idToken = strings.TrimSpace(idToken); idToken == "" {
		return errors.New("no ID token on stdin")
	}
	c := client.New(*api, client.Options{HTTP: hc})
	step := func(format string, a ...any) func(error) error {
		start := time.Now()
		fmt.Fprintf(stdout, "%-52s ", fmt.Sprintf(format, a...))
		return func(err error) error {
			if err != nil {
				fmt.Fprintf(stdout, "FAILED after %s\n", time.Since(start).Round(time.Millisecond))
				return err
			}
			fmt.Fprintf(stdout, "ok (%s)\n", time.Since(start).Round(time.Millisecond))
			return nil
		}
	}

	done := step("sign in with %s at %s", *provider, c.Base())
	sess, err := c.Login(ctx, client.LoginRequest{Provider: *provider, IDToken: idToken})
	if err := done(err); err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	c.SetToken(sess.AccessToken)
	fmt.Fprintf(stdout, "  account %s\n", sess.User.ID)
	// Signing out is the last thing, whatever failed before it.
	defer func() {
		if c.Token() != "" {
			_ = c.Logout(context.WithoutCancel(ctx))
		}
	}()

	body := recording()
	digest, err := client.SHA256(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return err
	}
	name := "smoke-" + time.Now().UTC().Format("20060102T150405Z") + ".m4a"
	done = step("upload %s (%d bytes)", name, len(body))
	rec, err := c.Upload(ctx, client.FileUpload{
		File: bytes.NewReader(body),
		Declare: client.CreateRecordingRequest{
			FileName: name, ContentType: "audio/mp4", SizeBytes: int64(len(body)), SHA256: digest,
		},
		IdempotencyKey: name,
		Wait:           *wait,
	})
	if err := done(err); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	fmt.Fprintf(stdout, "  recording %s is %s\n", rec.ID, rec.Status)
	// Whatever fails from here, the recording is not left behind.
	purged := false
	defer func() {
		if !purged {
			_, _ = c.Delete(context.WithoutCancel(ctx), rec.ID, true)
		}
	}()

	done = step("find it in the list")
	err = listed(ctx, c, rec.ID)
	if err := done(err); err != nil {
		return err
	}

	done = step("download it and compare the bytes")
	err = downloadSame(ctx, c, rec.ID, body)
	if err := done(err); err != nil {
		return err
	}

	done = step("delete it for good")
	_, err = c.Delete(ctx, rec.ID, true)
	if err == nil {
		if _, err = c.GetRecording(ctx, rec.ID); client.IsStatus(err, http.StatusNotFound) {
			err = nil
		} else if err == nil {
			err = errors.New("it is still there after the purge")
		}
	}
	if err := done(err); err != nil {
		return err
	}
	purged = true

	done = step("sign out")
	err = c.Logout(ctx)
	if err := done(err); err != nil {
		return err
	}
	c.SetToken("")
	fmt.Fprintln(stdout, "smoke test passed")
	return nil
}

// recording is a small real M4A, different each run so nothing upstream
// can answer from an earlier one.
func recording() []byte {
	seed := make([]byte, 1)
	_, _ = rand.Read(seed)
	return testaudio.Body("audio/mp4", testaudio.MinSize("audio/mp4")+4096, seed[0])
}

func listed(ctx context.Context, c *client.Client, id string) error {
	all, err := c.ListAll(ctx, client.ListOptions{Status: "available"}, 10000)
	if err != nil {
		return err
	}
	for _, r := range all {
		if r.ID == id {
			return nil
		}
	}
	return fmt.Errorf("recording %s is not among the %d available ones", id, len(all))
}

func downloadSame(ctx context.Context, c *client.Client, id string, want []byte) error {
	rec, err := c.GetRecording(ctx, id)
	if err != nil {
		return err
	}
	if rec.Download == nil {
		return fmt.Errorf("recording %s (%s) has no download", id, rec.Status)
	}
	rc, err := c.OpenDownload(ctx, *rec.Download)
	if err != nil {
		return err
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("downloaded %d bytes that differ from the %d uploaded", len(got), len(want))
	}
	return nil
}
