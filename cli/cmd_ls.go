package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/voicerec/backend/client"
)

var statuses = []string{"available", "pending", "rejected", "deleted", "all"}

type lsOptions struct {
	json   bool
	limit  int
	status string
}

func newLsCommand(e *env) *cobra.Command {
	var o lsOptions
	c := &cobra.Command{
		Use:   "ls",
		Short: "List recordings, newest first",
		Args:  args(0, 0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return runLs(cmd.Context(), e, o) },
	}
	c.Flags().BoolVar(&o.json, "json", false, "print JSON for scripts")
	c.Flags().IntVar(&o.limit, "limit", 0, "at most this many (default: all)")
	c.Flags().StringVar(&o.status, "status", "available", "available, pending, rejected, deleted, or all")
	_ = c.RegisterFlagCompletionFunc("status", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return statuses, cobra.ShellCompDirectiveNoFileComp
	})
	return c
}

func runLs(ctx context.Context, e *env, o lsOptions) error {
	if o.limit < 0 {
		return usageError("--limit must be positive")
	}
	if !slices.Contains(statuses, o.status) {
		return usageError(fmt.Sprintf("--status %q: want one of %s", o.status, strings.Join(statuses, ", ")))
	}
	if err := e.needSession(); err != nil {
		return err
	}
	items, err := e.list(ctx, o.status, o.limit, false)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(lsJSON(items))
	}
	if len(items) == 0 {
		// On stderr: the hint is for a person, and a script reading the
		// table's stdout finds no rows either way.
		if o.status == "available" || o.status == "all" {
			fmt.Fprintln(e.stderr, "no recordings yet: `recorder upload FILE` or `recorder backup DIR`")
		} else {
			fmt.Fprintf(e.stderr, "no %s recordings\n", o.status)
		}
		return nil
	}
	rows := make([][]string, 0, len(items))
	for _, r := range items {
		dur := formatDuration(r.DurationMS)
		date := r.Date()
		status := r.Status
		if r.Status == "rejected" && r.RejectReason != "" {
			status += ": " + r.RejectReason
			if r.RejectDetail != "" {
				status += " (" + r.RejectDetail + ")"
			}
		}
		rows = append(rows, []string{r.ID, r.FileName, humanBytes(r.SizeBytes), dur, date.Local().Format("2006-01-02 15:04"), status})
	}
	return e.printTable([]string{"ID", "NAME", "SIZE", "DURATION", "DATE", "STATUS"}, rows)
}

// lsJSON is what `ls --json` prints of each recording: the fields it has
// printed since it shipped. The client's Recording has more (the codec,
// the sample rate, a pending upload's window); printing them is a change
// of the output scripts read, to be made on purpose.
func lsJSON(items []client.Recording) []client.Recording {
	out := make([]client.Recording, len(items))
	for i, r := range items {
		r.Codec, r.SampleRateHz, r.Channels, r.ExpiresAt = "", 0, 0, nil
		out[i] = r
	}
	return out
}

// list pages through the recordings of one status ("all" for every one),
// at most limit of them (0: all). withURLs asks for presigned downloads on
// the page, so a restore signs nothing per file.
func (e *env) list(ctx context.Context, status string, limit int, withURLs bool) ([]client.Recording, error) {
	return e.api.ListAll(ctx, client.ListOptions{Status: status, WithDownloads: withURLs}, limit)
}
