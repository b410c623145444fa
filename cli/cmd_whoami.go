package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

func newWhoamiCommand(e *env) *cobra.Command {
	return &cobra.Command{Use: "whoami", Short: "The signed-in account and its quota", Args: args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runWhoami(cmd.Context(), e) }}
}

func runWhoami(ctx context.Context, e *env) error {
	if err := e.needSession(); err != nil {
		return err
	}
	u, err := e.api.Me(ctx)
	if err != nil {
		return err
	}
	q := u.Quota
	fmt.Fprintf(e.stdout, "user        %s\napi         %s\nrecordings  %d of %s\nstorage     %s used, %s reserved for uploads in progress, of %s (%s free)\nuploads     %d in progress, at most %d at once\n",
		account(u.User), e.api.Base(), u.RecordingCount, limitText(q.RecordingsLimit),
		humanBytes(q.BytesUsed), humanBytes(q.BytesReserved), humanBytes(q.BytesLimit),
		humanBytes(max(0, q.BytesLimit-q.BytesUsed-q.BytesReserved)), q.UploadsInFlight, q.UploadsInFlightLimit)
	return nil
}

func limitText(n int64) string {
	if n <= 0 {
		return "unlimited"
	}
	return strconv.FormatInt(n, 10)
}
