package cli

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicerec/backend/client"
)

func newShareCommand(e *env) *cobra.Command {
	var expires time.Duration
	cmd := &cobra.Command{
		Use: "share ID|PREFIX|NAME", Short: "Make a link that plays a recording until it expires", Args: args(1, 1),
		Long: `share prints a link anyone can open to play the recording, without signing in,
until it expires (--expires, at most 720h), you run unshare, or the recording
goes to the trash. The link is shown only now: the server keeps no copy.`,
		ValidArgsFunction: e.completeIDs("available"),
		RunE: func(cmd *cobra.Command, a []string) error {
			return runShare(cmd.Context(), e, a[0], expires)
		},
	}
	cmd.Flags().DurationVar(&expires, "expires", 0, "how long the link works (default 168h)")
	return cmd
}

func runShare(ctx context.Context, e *env, arg string, expires time.Duration) error {
	if err := e.needSession(); err != nil {
		return err
	}
	if expires < 0 {
		return usageError("--expires must be positive")
	}
	id, err := e.resolve(ctx, arg, resolveOptions{status: "available"})
	if err != nil {
		return err
	}
	sh, err := e.api.CreateShare(ctx, id, expires)
	if err != nil {
		return notFoundAs(err, id)
	}
	// The link alone on stdout, so it can be piped to a clipboard.
	fmt.Fprintln(e.stdout, sh.URL)
	fmt.Fprintf(e.stderr, "share %s of %s works until %s\n", sh.ID, id, sh.ExpiresAt.Local().Format("2006-01-02 15:04"))
	return nil
}

func newSharesCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use: "shares", Short: "List your links that still play", Args: args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runShares(cmd.Context(), e) },
	}
}

func runShares(ctx context.Context, e *env) error {
	if err := e.needSession(); err != nil {
		return err
	}
	shares, err := e.api.ListShares(ctx)
	if err != nil {
		return err
	}
	if len(shares) == 0 {
		fmt.Fprintln(e.stderr, "no shares; make one with `recorder share ID`")
		return nil
	}
	rows := make([][]string, len(shares))
	for i, s := range shares {
		rows[i] = []string{s.ID, s.RecordingID, s.FileName, s.ExpiresAt.Local().Format("2006-01-02 15:04"), strconv.FormatInt(s.Views, 10)}
	}
	return e.printTable([]string{"SHARE", "RECORDING", "NAME", "EXPIRES", "VIEWS"}, rows)
}

func newUnshareCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use: "unshare SHARE|RECORDING", Short: "Revoke a link at once", Args: args(1, 1),
		Long: `unshare revokes a share named by its id or a unique prefix of it (see
recorder shares), or every share of a recording named as other commands take
it (id, id prefix or file name).`,
		RunE: func(cmd *cobra.Command, a []string) error { return runUnshare(cmd.Context(), e, a[0]) },
	}
}

func runUnshare(ctx context.Context, e *env, arg string) error {
	if err := e.needSession(); err != nil {
		return err
	}
	shares, err := e.api.ListShares(ctx)
	if err != nil {
		return err
	}
	var revoke []client.Share
	if isShareID(arg) && len(arg) >= minPrefix {
		for _, s := range shares {
			if strings.HasPrefix(s.ID, strings.ToLower(arg)) {
				revoke = append(revoke, s)
			}
		}
		if len(revoke) > 1 {
			return usageError(fmt.Sprintf("%q matches %d shares; give more of the id", arg, len(revoke)))
		}
	}
	if len(revoke) == 0 {
		// Not a share: a recording, all of whose shares go.
		id, err := e.resolve(ctx, arg, resolveOptions{status: "available"})
		if err != nil {
			return err
		}
		for _, s := range shares {
			if s.RecordingID == id {
				revoke = append(revoke, s)
			}
		}
		if len(revoke) == 0 {
			return fmt.Errorf("recording %s has no shares", id)
		}
	}
	for _, s := range revoke {
		if err := e.api.RevokeShare(ctx, s.ID); err != nil && !client.IsStatus(err, http.StatusNotFound) {
			return err
		}
		fmt.Fprintf(e.stderr, "share %s of %s revoked\n", s.ID, s.RecordingID)
	}
	return nil
}

// isShareID reports whether s could be (a prefix of) a share id: hex.
func isShareID(s string) bool {
	for _, c := range strings.ToLower(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return s != ""
}
