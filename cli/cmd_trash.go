package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func newTrashCommand(e *env) *cobra.Command {
	var o lsOptions
	c := &cobra.Command{
		Use:   "trash",
		Short: "List the trash; `trash restore ID...` brings recordings back",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.status = "deleted"
			return runLs(cmd.Context(), e, o)
		},
	}
	c.Flags().BoolVar(&o.json, "json", false, "print JSON for scripts")
	c.Flags().IntVar(&o.limit, "limit", 0, "at most this many (default: all)")
	c.AddCommand(&cobra.Command{
		Use:               "restore ID|PREFIX|NAME...",
		Short:             "Bring recordings back from the trash",
		Args:              args(1, -1),
		ValidArgsFunction: e.completeIDs("deleted"),
		RunE:              func(cmd *cobra.Command, a []string) error { return runUntrash(cmd.Context(), e, a) },
	})
	return c
}

// runUntrash is `trash restore ID...`, and the older `restore ID...`.
func runUntrash(ctx context.Context, e *env, ids []string) error {
	if err := e.needSession(); err != nil {
		return err
	}
	for _, arg := range ids {
		id, err := e.resolve(ctx, arg, resolveOptions{status: "deleted"})
		if err != nil {
			return err
		}
		if err := e.api.Restore(ctx, id); err != nil {
			return notFoundAs(err, id)
		}
		fmt.Fprintf(e.stderr, "restored %s\n", id)
	}
	return nil
}
