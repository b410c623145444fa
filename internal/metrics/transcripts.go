package metrics

// Transcription: one per job started, finished or failed, by the events
// handler (and the API, for a transcript the user asked for again).
var (
	TranscriptionsStarted   = Metric{"TranscriptionsStarted", Count, [][]string{{DimService}}}
	TranscriptionsCompleted = Metric{"TranscriptionsCompleted", Count, [][]string{{DimService}}}
	TranscriptionsFailed    = Metric{"TranscriptionsFailed", Count, [][]string{{DimService}}}
	// TranscribedSeconds is the audio sent to the engine: what it bills.
	TranscribedSeconds = Metric{"TranscribedSeconds", Count, [][]string{{DimService}}}
	// TranscriptionLatency runs from the recording's confirmation to its
	// transcript being stored.
	TranscriptionLatency = Metric{"TranscriptionLatency", Milliseconds, [][]string{{DimService}}}
)

// Kept in All beside the others; a file of their own keeps them together.
func init() {
	All = append(All, TranscriptionsStarted, TranscriptionsCompleted, TranscriptionsFailed, TranscribedSeconds, TranscriptionLatency)
}
