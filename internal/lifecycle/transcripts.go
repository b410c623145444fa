package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/metrics"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/transcribe"
)

// TranscriptSink is told of every transcript that completed, so what is
// built from transcripts (a search index) can be fed from one place. It
// must be idempotent: a completion event may be delivered twice.
type TranscriptSink interface {
	TranscriptReady(ctx context.Context, userID, recordingID, language string, segments []recording.Segment) error
}

// NoTranscriptSink does nothing with a completed transcript.
type NoTranscriptSink struct{}

// TranscriptReady does nothing.
func (NoTranscriptSink) TranscriptReady(context.Context, string, string, string, []recording.Segment) error {
	return nil
}

// Transcription is what the Keeper needs to transcribe recordings: the
// engine (nil: this deployment transcribes nothing), each user's monthly
// allowance and where completed transcripts go besides the store.
type Transcription struct {
	Engine          *transcribe.Engine
	MinutesPerMonth int64
	Sink            TranscriptSink
}

// Outcomes of a completion event.
const (
	OutcomeTranscribed       = "transcript_completed"
	OutcomeTranscriptFailed  = "transcript_failed"
	OutcomeTranscriptStale   = "transcript_not_wanted"
	OutcomeTranscriptStarted = "transcript_started"
)

// billedMinimumSeconds is what Amazon Transcribe bills a job at least;
// maxJobMS the longest audio one batch job takes (4 hours).
const (
	billedMinimumSeconds = 15
	maxJobMS             = 4 * 3600 * 1000
)

// maxOutputBytes bounds an output document read back: a job over a
// recording of the longest duration accepted stays well under it.
const maxOutputBytes = 64 << 20

// StartTranscript decides a confirmed recording's transcript and starts
// its job: skipped when the user switched transcription off (unless
// asked is true: the user asked for this one) or the month's allowance
// cannot hold it, unsupported when the engine lacks its language.
// expectJob is the job the recording has now (empty: none), so two
// starts at once apply once.
func (k *Keeper) StartTranscript(ctx context.Context, rec recording.Recording, asked bool) (recording.TranscriptStatus, error) {
	e := k.Transcription.Engine
	if e == nil {
		return "", nil
	}
	set := func(st dynamo.TranscriptState) (recording.TranscriptStatus, error) {
		if err := k.Store.SetTranscriptStatus(ctx, rec.UserID, rec.ID, rec.TranscriptJob, st); err != nil {
			return "", err
		}
		return st.Status, nil
	}
	lang := rec.Language
	if lang == "" {
		lang = recording.LanguageAuto
	}
	if lang == recording.LanguageAuto && len(e.Languages) == 1 {
		// Nothing to identify among: the job is asked for that one.
		lang = e.Languages[0]
	}
	u, err := k.Store.GetUser(ctx, rec.UserID)
	if err != nil {
		return "", err
	}
	if u.TranscriptionOff && !asked {
		return set(dynamo.TranscriptState{Status: recording.TranscriptSkipped, Language: lang,
			Reason: recording.TranscriptReasonOff, Detail: "transcription is switched off for this account"})
	}
	if !e.Supports(lang) {
		return set(dynamo.TranscriptState{Status: recording.TranscriptUnsupported, Language: lang,
			Reason: recording.TranscriptReasonLanguage,
			Detail: fmt.Sprintf("this server's engine does not transcribe %s (it transcribes %s)", lang, strings.Join(e.Languages, ", "))})
	}
	if rec.DurationMS == nil {
		return set(dynamo.TranscriptState{Status: recording.TranscriptSkipped, Language: lang,
			Reason: recording.TranscriptReasonNoDuration, Detail: "the recording's duration is unknown, so it cannot be counted against the allowance"})
	}
	if *rec.DurationMS > maxJobMS {
		return set(dynamo.TranscriptState{Status: recording.TranscriptSkipped, Language: lang,
			Reason: recording.TranscriptReasonTooLong, Detail: "recordings longer than 4 hours are not transcribed"})
	}
	secs := max(billedMinimumSeconds, (*rec.DurationMS+999)/1000)
	month := k.now().UTC().Format("2006-01")
	ok, err := k.Store.ChargeTranscription(ctx, rec.UserID, month, secs, k.Transcription.MinutesPerMonth*60)
	if err != nil {
		return "", err
	}
	if !ok {
		return set(dynamo.TranscriptState{Status: recording.TranscriptSkipped, Language: lang,
			Reason: recording.TranscriptReasonAllowance,
			Detail: fmt.Sprintf("this month's %d minutes of transcription are used up", k.Transcription.MinutesPerMonth)})
	}
	attempt := 1
	if _, _, n, ok := recording.ParseJobName(rec.TranscriptJob); ok {
		attempt = n + 1
	}
	name := recording.JobName(rec.UserID, rec.ID, attempt)
	// The job first, the record second: a record naming a job that was
	// never started would wait for it forever; a job whose record moved
	// on meanwhile only finds its result unwanted.
	if err := e.Start(ctx, transcribe.Job{
		Name: name, MediaKey: rec.Key, OutputKey: recording.TranscriptKey(rec.UserID, rec.ID, name), Language: lang,
	}); err != nil {
		return "", err
	}
	st, err := set(dynamo.TranscriptState{Status: recording.TranscriptPending, Job: name, Language: lang})
	if err == nil {
		k.emit(ctx, "transcription started", nil, []any{"user_id", rec.UserID, "recording_id", rec.ID, "job", name, "language", lang},
			metrics.Value{Metric: metrics.TranscriptionsStarted, Value: 1},
			metrics.Value{Metric: metrics.TranscribedSeconds, Value: float64(secs)})
	}
	return st, err
}

// startTranscriptOnce starts the transcript of a recording that never had
// one: at confirmation, and whenever the Keeper visits an available
// recording whose start failed.
func (k *Keeper) startTranscriptOnce(ctx context.Context, rec recording.Recording) error {
	if k.Transcription.Engine == nil || rec.TranscriptStatus != "" {
		return nil
	}
	_, err := k.StartTranscript(ctx, rec, false)
	if errors.Is(err, dynamo.ErrTranscriptMoved) {
		return nil // started meanwhile by another visit, or deleted
	}
	return err
}

// FinishTranscript stores what a job's completion event announces: the
// segments of a completed job, the reason of a failed one. The record
// decides whether it is still wanted (the recording may have been purged,
// or a newer job started); an unwanted result is dropped, so a late,
// repeated or reordered event changes nothing.
func (k *Keeper) FinishTranscript(ctx context.Context, change transcribe.StateChange) (string, error) {
	userID, recID, _, ok := recording.ParseJobName(change.TranscriptionJobName)
	e := k.Transcription.Engine
	if !ok || e == nil {
		return OutcomeIgnored, nil
	}
	job := change.TranscriptionJobName
	outputKey := recording.TranscriptKey(userID, recID, job)
	rec, err := k.Store.GetRecording(ctx, userID, recID)
	if errors.Is(err, recording.ErrNotFound) || (err == nil && rec.TranscriptJob != job) {
		// A delivery before this one may have stored segments and failed
		// before its conditional write.
		if err := k.Store.DeleteTranscriptJob(ctx, userID, recID, job); err != nil {
			return "", err
		}
		return OutcomeTranscriptStale, k.Objects.Delete(ctx, outputKey)
	}
	if err != nil {
		return "", err
	}
	if rec.TranscriptStatus == recording.TranscriptCompleted {
		return OutcomeInSync, nil
	}
	switch change.TranscriptionJobStatus {
	case transcribe.StateFailed:
		reason, err := e.FailureReason(ctx, job)
		if err != nil {
			return "", err
		}
		st := dynamo.TranscriptState{Status: recording.TranscriptFailed, Job: job, Language: rec.Language,
			Reason: recording.TranscriptReasonEngine, Detail: transcribe.Clip(reason)}
		if strings.Contains(strings.ToLower(reason), "language") && strings.Contains(strings.ToLower(reason), "support") {
			st.Status, st.Reason = recording.TranscriptUnsupported, recording.TranscriptReasonLanguage
		}
		if err := k.Store.SetTranscriptStatus(ctx, userID, recID, job, st); errors.Is(err, dynamo.ErrTranscriptMoved) {
			return OutcomeTranscriptStale, nil
		} else if err != nil {
			return "", err
		}
		k.emit(ctx, "transcription failed", nil, []any{"user_id", userID, "recording_id", recID, "job", job, "reason", reason},
			metrics.Value{Metric: metrics.TranscriptionsFailed, Value: 1})
		return OutcomeTranscriptFailed, nil
	case transcribe.StateCompleted:
	default:
		return OutcomeIgnored, nil
	}
	data, err := k.Objects.ReadDocument(ctx, outputKey, maxOutputBytes)
	if err != nil {
		return "", err
	}
	lang, segs, err := transcribe.ParseOutput(data)
	if err != nil {
		return "", err
	}
	if lang == "" {
		lang = rec.TranscriptLanguage
	}
	// Segments first, the record second: the record names the job whose
	// segments are the transcript only once they are all stored.
	if err := k.Store.PutTranscriptSegments(ctx, userID, recID, job, segs); err != nil {
		return "", err
	}
	err = k.Store.SetTranscriptStatus(ctx, userID, recID, job, dynamo.TranscriptState{
		Status: recording.TranscriptCompleted, Job: job, Language: lang,
	})
	if errors.Is(err, dynamo.ErrTranscriptMoved) {
		// Purged or restarted meanwhile: a purge that ran before the
		// segments were stored could not remove them.
		if err := k.Store.DeleteTranscriptJob(ctx, userID, recID, job); err != nil {
			return "", err
		}
		return OutcomeTranscriptStale, k.Objects.Delete(ctx, outputKey)
	}
	if err != nil {
		return "", err
	}
	// Older jobs' segments and the engine's output are no longer needed.
	if err := k.Store.DeleteTranscript(ctx, userID, recID, job); err != nil {
		return "", err
	}
	if err := k.Objects.Delete(ctx, outputKey); err != nil {
		return "", err
	}
	sink := k.Transcription.Sink
	if sink == nil {
		sink = NoTranscriptSink{}
	}
	if err := sink.TranscriptReady(ctx, userID, recID, lang, segs); err != nil {
		return "", fmt.Errorf("transcript sink: %w", err)
	}
	latency := 0.0
	if rec.UploadedAt != nil {
		latency = float64(k.now().Sub(*rec.UploadedAt).Milliseconds())
	}
	k.emit(ctx, "transcription completed", nil,
		[]any{"user_id", userID, "recording_id", recID, "job", job, "language", lang, "segments", len(segs)},
		metrics.Value{Metric: metrics.TranscriptionsCompleted, Value: 1},
		metrics.Value{Metric: metrics.TranscriptionLatency, Value: max(0, latency)})
	return OutcomeTranscribed, nil
}

// dropTranscript removes a recording's transcript with its record. A
// recording that never had a job has no segments to look for: a job that
// stores some after this read fails its conditional write (the record is
// deleting or gone) and removes them itself, or on its retry.
func (k *Keeper) dropTranscript(ctx context.Context, rec recording.Recording) error {
	if rec.TranscriptStatus == "" {
		return nil
	}
	return k.Store.DeleteTranscript(ctx, rec.UserID, rec.ID, "")
}

// dropUserTranscripts removes every transcript and engine output of an
// account being deleted.
func (k *Keeper) dropUserTranscripts(ctx context.Context, userID string) error {
	if err := k.Store.DeleteUserTranscripts(ctx, userID); err != nil {
		return err
	}
	_, err := k.Objects.DeletePrefix(ctx, recording.UserTranscriptPrefix(userID))
	return err
}

// Transcript is a recording's transcript as its owner sees it.
func (k *Keeper) Transcript(ctx context.Context, rec recording.Recording) (recording.Transcript, error) {
	t := recording.Transcript{
		RecordingID: rec.ID, Status: rec.TranscriptStatus, Language: rec.TranscriptLanguage,
		Reason: rec.TranscriptReason, Detail: rec.TranscriptDetail, Segments: []recording.Segment{},
	}
	if t.Language == "" {
		t.Language = rec.Language
	}
	if rec.TranscriptStatus != recording.TranscriptCompleted {
		return t, nil
	}
	segs, err := k.Store.TranscriptSegments(ctx, rec.UserID, rec.ID, rec.TranscriptJob)
	if err != nil {
		return t, err
	}
	t.Segments, t.Text = segs, recording.JoinSegments(segs)
	return t, nil
}
