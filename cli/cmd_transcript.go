package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/voicerec/backend/client"
)

type transcriptOptions struct {
	again    bool
	segments bool
}

func newTranscriptCommand(e *env) *cobra.Command {
	var o transcriptOptions
	cmd := &cobra.Command{Use: "transcript ID|PREFIX|NAME", Short: "Print what was said in a recording", Args: args(1, 1),
		ValidArgsFunction: e.completeIDs("all"),
		RunE:              func(cmd *cobra.Command, a []string) error { return runTranscript(cmd.Context(), e, a[0], o) }}
	cmd.Flags().BoolVar(&o.again, "again", false, "transcribe the recording again (also when transcription is off)")
	cmd.Flags().BoolVar(&o.segments, "segments", false, "one line per segment, with its time and speaker")
	return cmd
}

func runTranscript(ctx context.Context, e *env, id string, o transcriptOptions) error {
	if err := e.needSession(); err != nil {
		return err
	}
	id, err := e.resolve(ctx, id, resolveOptions{status: "all"})
	if err != nil {
		return err
	}
	var tr client.Transcript
	if o.again {
		tr, err = e.api.Retranscribe(ctx, id)
	} else {
		tr, err = e.api.Transcript(ctx, id)
	}
	if err != nil {
		return notFoundAs(err, id)
	}
	switch tr.Status {
	case client.TranscriptCompleted:
	case "":
		fmt.Fprintf(e.stderr, "%s has no transcript (the server transcribes nothing, or the recording is not confirmed yet)\n", id)
		return nil
	case client.TranscriptPending:
		fmt.Fprintf(e.stderr, "%s is being transcribed; try again in a moment\n", id)
		return nil
	default:
		fmt.Fprintf(e.stderr, "%s: transcript %s: %s\n", id, tr.Status, tr.Detail)
		return nil
	}
	if !o.segments {
		fmt.Fprintln(e.stdout, tr.Text)
		return nil
	}
	for _, s := range tr.Segments {
		who := ""
		if s.Speaker != "" {
			who = " " + s.Speaker
		}
		fmt.Fprintf(e.stdout, "[%s]%s %s\n", clock(s.StartMS), who, s.Text)
	}
	return nil
}
