package config

import (
	"strings"

	"github.com/voicerec/backend/internal/recording"
)

// Transcription is how confirmed recordings are transcribed.
type Transcription struct {
	// Enabled starts a job for every confirmed recording (CDK and the
	// local stack set it; the test stacks leave it off).
	Enabled bool
	// Endpoint is the Transcribe API's address when it is not AWS's:
	// the local stack's engine.
	Endpoint string
	// Languages are what the engine transcribes; a recording in another
	// ends unsupported without a job.
	Languages []string
	// MinutesPerMonth is each user's monthly allowance of audio sent to
	// the engine.
	MinutesPerMonth int64
}

func (r *reader) transcription() Transcription {
	t := Transcription{
		Enabled:         r.boolean("TRANSCRIBE_ENABLED", false),
		Endpoint:        r.endpoint("AWS_ENDPOINT_URL_TRANSCRIBE"),
		MinutesPerMonth: r.int64("TRANSCRIBE_MINUTES_PER_MONTH", 300, 0, 1<<20),
	}
	for _, l := range strings.Split(r.str("TRANSCRIBE_LANGUAGES", recording.LanguageEnglish+","+recording.LanguageKorean), ",") {
		code, ok := recording.NormalizeLanguage(l)
		if !ok || code == recording.LanguageAuto {
			r.fail("TRANSCRIBE_LANGUAGES", "want a comma-separated list of %s and %s, got %q", recording.LanguageEnglish, recording.LanguageKorean, l)
			continue
		}
		t.Languages = append(t.Languages, code)
	}
	return t
}
