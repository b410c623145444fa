package cli

import (
	"context"

	"github.com/spf13/cobra"
)

func newRenameCommand(e *env) *cobra.Command {
	return &cobra.Command{Use: "rename ID|PREFIX|NAME NEWNAME", Short: "Rename a recording", Args: args(2, 2),
		ValidArgsFunction: e.completeIDs("all"),
		RunE:              func(cmd *cobra.Command, a []string) error { return runRename(cmd.Context(), e, a[0], a[1]) }}
}

func runRename(ctx context.Context, e *env, id, name string) error {
	if err := e.needSession(); err != nil {
		return err
	}
	id, err := e.resolve(ctx, id, resolveOptions{status: "all"})
	if err != nil {
		return err
	}
	rec, err := e.api.RenameRecording(ctx, id, name)
	if err != nil {
		return notFoundAs(err, id)
	}
	return e.printTable(nil, [][]string{{rec.ID, rec.FileName}})
}
