package transcribe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	awstranscribe "github.com/aws/aws-sdk-go-v2/service/transcribe"
	"github.com/aws/aws-sdk-go-v2/service/transcribe/types"

	"github.com/voicerec/backend/internal/recording"
)

// Engine starts jobs on Amazon Transcribe, or on whatever answers its API
// at the client's endpoint (the local stack's engine).
type Engine struct {
	Client *awstranscribe.Client
	// Bucket holds both the recordings the jobs read and the outputs
	// they write.
	Bucket string
	// Languages are the ones the engine is asked to transcribe; a
	// recording in another ends unsupported without a job.
	Languages []string
	// MaxSpeakers is how many speakers a job tells apart.
	MaxSpeakers int32
}

// Job is one transcription of one recording.
type Job struct {
	Name      string
	MediaKey  string
	OutputKey string
	// Language is a code, or recording.LanguageAuto to have the engine
	// identify it among Languages.
	Language string
}

// Supports reports whether the engine transcribes language (auto: any of
// its languages).
func (e *Engine) Supports(language string) bool {
	return language == recording.LanguageAuto && len(e.Languages) > 0 || slices.Contains(e.Languages, language)
}

// Start starts job. A job of the same name that already exists (a retry
// after a lost answer) counts as started.
func (e *Engine) Start(ctx context.Context, job Job) error {
	in := &awstranscribe.StartTranscriptionJobInput{
		TranscriptionJobName: aws.String(job.Name),
		Media:                &types.Media{MediaFileUri: aws.String("s3://" + e.Bucket + "/" + job.MediaKey)},
		OutputBucketName:     aws.String(e.Bucket),
		OutputKey:            aws.String(job.OutputKey),
		Settings: &types.Settings{
			ShowSpeakerLabels: aws.Bool(true),
			MaxSpeakerLabels:  aws.Int32(max(2, e.MaxSpeakers)),
		},
	}
	switch {
	case job.Language != recording.LanguageAuto:
		in.LanguageCode = types.LanguageCode(job.Language)
	case len(e.Languages) == 1:
		in.LanguageCode = types.LanguageCode(e.Languages[0])
	default:
		in.IdentifyLanguage = aws.Bool(true)
		for _, l := range e.Languages {
			in.LanguageOptions = append(in.LanguageOptions, types.LanguageCode(l))
		}
	}
	_, err := e.Client.StartTranscriptionJob(ctx, in)
	var conflict *types.ConflictException
	if errors.As(err, &conflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("start transcription job %s: %w", job.Name, err)
	}
	return nil
}

// FailureReason is why the engine says job failed.
func (e *Engine) FailureReason(ctx context.Context, name string) (string, error) {
	out, err := e.Client.GetTranscriptionJob(ctx, &awstranscribe.GetTranscriptionJobInput{TranscriptionJobName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("get transcription job %s: %w", name, err)
	}
	if out.TranscriptionJob == nil {
		return "", nil
	}
	return aws.ToString(out.TranscriptionJob.FailureReason), nil
}

// Event detail types and source of the completion events EventBridge
// delivers.
const (
	EventSource     = "aws.transcribe"
	EventDetailType = "Transcribe Job State Change"
)

// Job states a completion event names.
const (
	StateCompleted = "COMPLETED"
	StateFailed    = "FAILED"
)

// StateChange is the detail of a "Transcribe Job State Change" event.
type StateChange struct {
	TranscriptionJobName   string `json:"TranscriptionJobName"`
	TranscriptionJobStatus string `json:"TranscriptionJobStatus"`
}

// Event is the EventBridge envelope of a state change, as delivered to a
// Lambda target (and posted by the local engine).
type Event struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}
