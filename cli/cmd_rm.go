package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/voicerec/backend/client"
)

type rmOptions struct {
	ids   []string
	purge bool
}

func newRmCommand(e *env) *cobra.Command {
	var o rmOptions
	c := &cobra.Command{Use: "rm ID|PREFIX|NAME...", Short: "Move recordings to the trash (--purge: delete for good)", Args: args(1, -1),
		ValidArgsFunction: e.completeIDs("available"),
		RunE: func(cmd *cobra.Command, a []string) error {
			o.ids = a
			return runRm(cmd.Context(), e, o)
		}}
	c.Flags().BoolVar(&o.purge, "purge", false, "delete for good instead of moving to the trash")
	return c
}

func runRm(ctx context.Context, e *env, o rmOptions) error {
	if err := e.needSession(); err != nil {
		return err
	}
	failed := 0
	var last error
	for _, arg := range o.ids {
		// Without --purge a name in the trash is not what rm means: the
		// recording of that name outside it is.
		id, err := e.resolve(ctx, arg, resolveOptions{status: "all", skipDeleted: !o.purge})
		var res client.Deletion
		if err == nil {
			res, err = e.api.Delete(ctx, id, o.purge)
			err = notFoundAs(err, id)
		}
		if err != nil && len(o.ids) == 1 {
			return err
		}
		if err != nil {
			failed++
			last = err
			fmt.Fprintf(e.stderr, "recorder rm: %v\n", err)
			continue
		}
		fmt.Fprintf(e.stderr, "%s: %s\n", id, describeDeletion(res, o.purge))
	}
	if failed > 0 {
		return &batchError{n: failed, of: len(o.ids), verb: "deleted", last: last}
	}
	return nil
}

// describeDeletion says what happened to the recording, in the words the
// web page uses too.
func describeDeletion(r client.Deletion, purge bool) string {
	outcome := r.Outcome
	if outcome == "" {
		// An old server did what was asked.
		outcome = "trashed"
		if purge {
			outcome = "deleted"
		}
	}
	until := ""
	if r.Recording != nil && r.Recording.PurgeAt != nil {
		until = " (restorable until " + r.Recording.PurgeAt.Local().Format("2006-01-02 15:04") + ")"
	}
	switch outcome {
	case "trashed":
		return "moved to the trash" + until
	case "already_in_trash":
		return "already in the trash" + until
	case "deleted":
		return "deleted for good"
	}
	return fmt.Sprintf("the server answered %q", outcome)
}
