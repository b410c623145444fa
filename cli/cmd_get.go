package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicerec/backend/client"
)

type getOptions struct {
	id     string
	output string
}

func newGetCommand(e *env) *cobra.Command {
	var o getOptions
	c := &cobra.Command{
		Use:   "get ID|PREFIX|NAME",
		Short: "Download a recording (default: under its original name, here)",
		Example: `  recorder get 01J... -o interview.m4a   # to this file
  recorder get 01J... -o ~/Music          # into this folder, under the original name
  recorder get 01J... -o - | ffplay -      # to stdout`,
		Args:              args(1, 1),
		ValidArgsFunction: e.completeIDs("available"),
		RunE: func(cmd *cobra.Command, a []string) error {
			o.id = a[0]
			return runGet(cmd.Context(), e, o)
		},
	}
	c.Flags().StringVarP(&o.output, "output", "o", "", "a file, a folder (the original name inside it), or - for stdout")
	return c
}

func runGet(ctx context.Context, e *env, o getOptions) error {
	if err := e.needSession(); err != nil {
		return err
	}
	id, err := e.resolve(ctx, o.id, resolveOptions{status: "available"})
	if err != nil {
		return err
	}
	rec, err := e.api.GetRecording(ctx, id)
	if err != nil {
		return notFoundAs(err, o.id)
	}
	if rec.Download == nil {
		return fmt.Errorf("%s is %s, nothing to download", rec.ID, rec.Status)
	}
	out := o.output
	if out == "-" {
		return e.api.Retry(ctx, func() error { return download(ctx, e, rec, nil) })
	}
	target := out
	if st, err := os.Stat(out); out == "" || (err == nil && st.IsDir()) {
		dir := out
		if dir == "" {
			dir = "."
		}
		if target, err = inFolder(dir, safeName(rec.FileName)); err != nil {
			return err
		}
		if _, err := os.Stat(target); err == nil {
			return fmt.Errorf("%s already exists; choose another name with -o", target)
		}
	}
	if err := e.api.Retry(ctx, func() error { return download(ctx, e, rec, &target) }); err != nil {
		return err
	}
	if err := os.Chtimes(target, time.Time{}, rec.Date()); err != nil {
		fmt.Fprintf(e.stderr, "recorder: %s keeps today's date: %v\n", target, err)
	}
	fmt.Fprintln(e.stdout, target)
	return nil
}

// download fetches rec through its presigned URL into target (nil:
// stdout), checking the length and, when the server has it, the SHA-256.
// A file is written beside target and renamed into place only when whole,
// with the permissions of any new file (the umask's).
func download(ctx context.Context, e *env, rec client.Recording, target *string) error {
	body, err := e.api.OpenDownload(ctx, *rec.Download)
	if err != nil {
		return err
	}
	defer body.Close()
	h := sha256.New()
	bar := e.newBar(rec.SizeBytes, rec.FileName)
	if target == nil {
		// Bytes already on stdout cannot be taken back: verify what can be.
		n, err := io.Copy(io.MultiWriter(e.stdout, h, bar), body)
		if err == nil {
			err = checkDownload(rec, n, h.Sum(nil))
		}
		bar.Finish(err == nil)
		return err
	}
	tmp, err := createNew(filepath.Dir(*target), ".recorder-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(io.MultiWriter(tmp, h, bar), body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = checkDownload(rec, n, h.Sum(nil))
	}
	bar.Finish(err == nil)
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), *target)
}

func checkDownload(rec client.Recording, n int64, sum []byte) error {
	if n != rec.SizeBytes {
		return fmt.Errorf("download of %s ended after %d of %d bytes", rec.ID, n, rec.SizeBytes)
	}
	if rec.SHA256 != "" && base64.StdEncoding.EncodeToString(sum) != rec.SHA256 {
		return fmt.Errorf("download of %s does not match its SHA-256; nothing was kept", rec.ID)
	}
	return nil
}

// createNew creates a new file in dir with mode 0666 less the umask, like
// any file a program saves (os.CreateTemp would make it 0600).
func createNew(dir, prefix string) (*os.File, error) {
	for range 100 {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		f, err := os.OpenFile(filepath.Join(dir, prefix+hex.EncodeToString(b)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, errors.New("cannot create a temporary file in " + dir)
}
