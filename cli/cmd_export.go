package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/voicerec/backend/client"
)

type exportOptions struct {
	output        string
	trash         bool
	noTranscripts bool
	poll          time.Duration
}

func newExportCommand(e *env) *cobra.Command {
	o := exportOptions{poll: time.Second}
	c := &cobra.Command{
		Use:   "export [-o FILE]",
		Short: "Download every recording in one ZIP archive (with a manifest and transcripts)",
		Example: `  recorder export                        # recordings-YYYY-MM-DD.zip, here
  recorder export -o ~/backup/all.zip    # to this file
  recorder export --trash                # the trash too`,
		Args: args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runExport(cmd.Context(), e, o)
		},
	}
	c.Flags().StringVarP(&o.output, "output", "o", "", "a file, or a folder (the archive's name inside it)")
	c.Flags().BoolVar(&o.trash, "trash", false, "include the recordings in the trash")
	c.Flags().BoolVar(&o.noTranscripts, "no-transcripts", false, "leave the transcripts out")
	return c
}

func runExport(ctx context.Context, e *env, o exportOptions) error {
	if err := e.needSession(); err != nil {
		return err
	}
	req := client.StartExportRequest{}
	if o.trash {
		req.Status = []string{"available", "deleted"}
	}
	if o.noTranscripts {
		no := false
		req.IncludeTranscripts = &no
	}
	ex, err := e.api.StartExport(ctx, req)
	var apiErr *client.APIError
	if errors.As(err, &apiErr) && apiErr.Code == "conflict" {
		// One is already running: wait for that one instead.
		if ex, err = runningExport(ctx, e); err == nil {
			fmt.Fprintf(e.stderr, "recorder: an export started earlier is still running; waiting for it\n")
		}
	}
	if err != nil {
		return err
	}
	if ex, err = waitExport(ctx, e, ex, o.poll); err != nil {
		return err
	}
	if ex.Status != "ready" || ex.Download == nil || ex.SizeBytes == nil {
		return fmt.Errorf("the export failed: %s", ex.FailureReason)
	}
	target := o.output
	if st, err := os.Stat(target); target == "" || (err == nil && st.IsDir()) {
		dir := target
		if dir == "" {
			dir = "."
		}
		if target, err = inFolder(dir, safeName(ex.Download.FileName)); err != nil {
			return err
		}
		if _, err := os.Stat(target); err == nil {
			return fmt.Errorf("%s already exists; choose another name with -o", target)
		}
	}
	err = e.api.Retry(ctx, func() error {
		// A retry signs a fresh URL: the last one may have expired.
		fresh, err := e.api.GetExport(ctx, ex.ID)
		if err != nil {
			return err
		}
		if fresh.Download == nil {
			return fmt.Errorf("export %s is %s, nothing to download", ex.ID, fresh.Status)
		}
		return downloadExport(ctx, e, fresh, target)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, target)
	return nil
}

// runningExport finds the user's running export.
func runningExport(ctx context.Context, e *env) (client.Export, error) {
	list, err := e.api.ListExports(ctx)
	if err != nil {
		return client.Export{}, err
	}
	for _, ex := range list {
		if ex.Status == "running" {
			return ex, nil
		}
	}
	return client.Export{}, errors.New("an export was running a moment ago; try again")
}

// waitExport polls until the export is no longer running, with a bar of
// recordings done on a terminal.
func waitExport(ctx context.Context, e *env, ex client.Export, every time.Duration) (client.Export, error) {
	var pb *progressbar.ProgressBar
	defer func() {
		if pb != nil {
			_ = pb.Finish()
		}
	}()
	for ex.Status == "running" {
		if e.progress && ex.RecordingsTotal > 0 {
			if pb == nil {
				pb = progressbar.NewOptions(ex.RecordingsTotal,
					progressbar.OptionSetWriter(e.stderr),
					progressbar.OptionSetDescription("archiving"),
					progressbar.OptionSetWidth(30),
					progressbar.OptionShowCount(),
					progressbar.OptionClearOnFinish(),
				)
			}
			_ = pb.Set(ex.RecordingsDone)
		}
		select {
		case <-ctx.Done():
			return ex, ctx.Err()
		case <-time.After(every):
		}
		next, err := e.api.GetExport(ctx, ex.ID)
		if err != nil {
			return ex, err
		}
		ex = next
	}
	return ex, nil
}

// downloadExport saves a ready archive to target through a file beside it,
// renamed into place only when its length is the export's size_bytes.
func downloadExport(ctx context.Context, e *env, ex client.Export, target string) error {
	body, err := e.api.OpenDownload(ctx, client.Download{URL: ex.Download.URL, ExpiresAt: ex.Download.ExpiresAt})
	if err != nil {
		return err
	}
	defer body.Close()
	tmp, err := createNew(filepath.Dir(target), ".recorder-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bar := e.newBar(*ex.SizeBytes, ex.Download.FileName)
	n, err := io.Copy(io.MultiWriter(tmp, bar), body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != *ex.SizeBytes {
		err = fmt.Errorf("the archive downloaded %d bytes, the server announced %d", n, *ex.SizeBytes)
	}
	bar.Finish(err == nil)
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), target)
}
