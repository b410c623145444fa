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

type searchOptions struct {
	json   bool
	limit  int
	status string
}

func newSearchCommand(e *env) *cobra.Command {
	var o searchOptions
	c := &cobra.Command{
		Use:   "search WORDS...",
		Short: "Find recordings by name and by what was said, best first",
		Args:  args(1, -1),
		RunE: func(cmd *cobra.Command, a []string) error {
			return runSearch(cmd.Context(), e, strings.Join(a, " "), o)
		},
	}
	c.Flags().BoolVar(&o.json, "json", false, "print JSON for scripts")
	c.Flags().IntVar(&o.limit, "limit", 0, "at most this many results (default: the server's, 20)")
	c.Flags().StringVar(&o.status, "status", "available", "available, pending, rejected, deleted (the trash), or all")
	_ = c.RegisterFlagCompletionFunc("status", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return statuses, cobra.ShellCompDirectiveNoFileComp
	})
	return c
}

func runSearch(ctx context.Context, e *env, query string, o searchOptions) error {
	if o.limit < 0 || o.limit > 100 {
		return usageError("--limit must be from 1 to 100")
	}
	if !slices.Contains(statuses, o.status) {
		return usageError(fmt.Sprintf("--status %q: want one of %s", o.status, strings.Join(statuses, ", ")))
	}
	if err := e.needSession(); err != nil {
		return err
	}
	found, err := e.api.Search(ctx, query, client.SearchOptions{Status: o.status, Limit: o.limit})
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(found)
	}
	if len(found) == 0 {
		fmt.Fprintf(e.stderr, "nothing found for %q\n", query)
		return nil
	}
	// One line per recording, then one per moment, so the id to `get` and
	// the time to seek to are both at hand.
	for _, f := range found {
		fmt.Fprintf(e.stdout, "%s  %s  %s\n", f.ID, f.FileName, f.Date().Local().Format("2006-01-02 15:04"))
		for _, m := range f.Matches {
			if m.StartMS == nil {
				continue
			}
			fmt.Fprintf(e.stdout, "  %s  %s\n", clock(*m.StartMS), oneLine(m.Snippet))
		}
	}
	return nil
}

// clock is a position in a recording as m:ss, or h:mm:ss past an hour.
func clock(ms int64) string {
	s := ms / 1000
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// oneLine keeps a snippet on its line: a transcript may hold line breaks.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
