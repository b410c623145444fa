// Package devtranscribe is the local stack's transcription engine: it
// stands in for Amazon Transcribe the way MinIO stands in for S3. It
// answers enough of Transcribe's JSON API (StartTranscriptionJob,
// GetTranscriptionJob) for the SDK's own client to use it; a job reads its
// object from the bucket, decodes it with ffmpeg to 16 kHz mono, recognises
// it with pocketsphinx, writes an output document in Transcribe's format
// where Transcribe would, and posts the same "Transcribe Job State Change"
// event EventBridge delivers, so everything after the engine runs the
// production code. It knows US English only (Debian's pocketsphinx-en-us);
// a job in another language fails with a reason that says so.
package devtranscribe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// Language is the one language the engine recognises.
const Language = "en-US"

// Engine runs transcription jobs, one at a time (a recogniser takes a
// core, and a laptop running the stack has few).
type Engine struct {
	S3 *awss3.Client
	// Deliver hands a completion event to the events handler (the local
	// stack posts it to the events webhook); an error is retried.
	Deliver func(ctx context.Context, event []byte) error
	Log     *slog.Logger
	// Region and Account are what the events and documents name.
	Region, Account string

	mu    sync.Mutex
	jobs  map[string]*job
	queue chan *job
	once  sync.Once
	// CPU is the recogniser's and decoder's CPU time so far, for the
	// benchmark (seconds of CPU per minute of audio).
	cpu, audio time.Duration
}

type job struct {
	Name         string
	Status       string // IN_PROGRESS, COMPLETED, FAILED
	Language     string
	Identify     bool
	Bucket, Key  string
	OutBucket    string
	OutKey       string
	FailReason   string
	CreationTime time.Time
	Completion   time.Time
}

// Usage is the CPU time the engine's tools spent and the audio they
// transcribed.
func (e *Engine) Usage() (cpu, audio time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cpu, e.audio
}

// Run works through the queued jobs until ctx ends.
func (e *Engine) Run(ctx context.Context) {
	e.init()
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-e.queue:
			e.work(ctx, j)
		}
	}
}

func (e *Engine) init() {
	e.once.Do(func() {
		e.jobs = map[string]*job{}
		e.queue = make(chan *job, 1024)
		if e.Log == nil {
			e.Log = slog.New(slog.DiscardHandler)
		}
		if e.Account == "" {
			e.Account = "000000000000"
		}
		if e.Region == "" {
			e.Region = "us-east-1"
		}
	})
}

// Handler serves Transcribe's JSON 1.1 protocol: POST / with the
// operation in X-Amz-Target. Requests are signed by the SDK; like MinIO's
// test credentials, the signature is not checked: the engine listens on
// loopback for the local stack only.
func (e *Engine) Handler() http.Handler {
	e.init()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil || r.Method != http.MethodPost {
			apiError(w, http.StatusBadRequest, "BadRequestException", "POST a JSON request")
			return
		}
		switch strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Transcribe.") {
		case "StartTranscriptionJob":
			e.start(w, body)
		case "GetTranscriptionJob":
			e.get(w, body)
		default:
			apiError(w, http.StatusBadRequest, "BadRequestException", "the local engine answers StartTranscriptionJob and GetTranscriptionJob only")
		}
	})
}

var jobName = regexp.MustCompile(`^[0-9a-zA-Z._-]{1,200}$`)

func (e *Engine) start(w http.ResponseWriter, body []byte) {
	var in struct {
		TranscriptionJobName string
		LanguageCode         string
		IdentifyLanguage     bool
		LanguageOptions      []string
		Media                struct{ MediaFileUri string }
		OutputBucketName     string
		OutputKey            string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		apiError(w, http.StatusBadRequest, "BadRequestException", "undecodable request: "+err.Error())
		return
	}
	bucket, key, ok := strings.Cut(strings.TrimPrefix(in.Media.MediaFileUri, "s3://"), "/")
	switch {
	case !jobName.MatchString(in.TranscriptionJobName):
		apiError(w, http.StatusBadRequest, "BadRequestException", "TranscriptionJobName must match "+jobName.String())
		return
	case !strings.HasPrefix(in.Media.MediaFileUri, "s3://") || !ok || key == "":
		apiError(w, http.StatusBadRequest, "BadRequestException", "Media.MediaFileUri must be s3://bucket/key")
		return
	case in.OutputBucketName == "" || in.OutputKey == "":
		apiError(w, http.StatusBadRequest, "BadRequestException", "the local engine needs OutputBucketName and OutputKey")
		return
	case in.LanguageCode == "" && !in.IdentifyLanguage:
		apiError(w, http.StatusBadRequest, "BadRequestException", "LanguageCode or IdentifyLanguage is required")
		return
	}
	j := &job{
		Name: in.TranscriptionJobName, Status: "IN_PROGRESS", Language: in.LanguageCode, Identify: in.IdentifyLanguage,
		Bucket: bucket, Key: key, OutBucket: in.OutputBucketName, OutKey: in.OutputKey, CreationTime: time.Now(),
	}
	switch {
	case in.IdentifyLanguage && !contains(in.LanguageOptions, Language):
		j.Status, j.FailReason = "FAILED", fmt.Sprintf("Unsupported language: none of %s is supported by the local engine (pocketsphinx), which transcribes %s only.", strings.Join(in.LanguageOptions, ", "), Language)
	case in.IdentifyLanguage:
		// One language to identify among: it is that one.
		j.Language = Language
	case in.LanguageCode != Language:
		j.Status, j.FailReason = "FAILED", fmt.Sprintf("Unsupported language: %s is not supported by the local engine (pocketsphinx), which transcribes %s only.", in.LanguageCode, Language)
	}
	e.mu.Lock()
	if _, dup := e.jobs[j.Name]; dup {
		e.mu.Unlock()
		apiError(w, http.StatusBadRequest, "ConflictException", "The requested job name already exists. Use a different job name.")
		return
	}
	e.jobs[j.Name] = j
	e.mu.Unlock()
	writeJob(w, j)
	e.queue <- j
}

func (e *Engine) get(w http.ResponseWriter, body []byte) {
	var in struct{ TranscriptionJobName string }
	if err := json.Unmarshal(body, &in); err != nil {
		apiError(w, http.StatusBadRequest, "BadRequestException", "undecodable request")
		return
	}
	e.mu.Lock()
	j, ok := e.jobs[in.TranscriptionJobName]
	var snapshot job
	if ok {
		snapshot = *j
	}
	e.mu.Unlock()
	if !ok {
		apiError(w, http.StatusBadRequest, "NotFoundException", "The requested job couldn't be found. Check the job name and try your request again.")
		return
	}
	writeJob(w, &snapshot)
}

func writeJob(w http.ResponseWriter, j *job) {
	out := map[string]any{
		"TranscriptionJobName":   j.Name,
		"TranscriptionJobStatus": j.Status,
		"Media":                  map[string]string{"MediaFileUri": "s3://" + j.Bucket + "/" + j.Key},
		"CreationTime":           float64(j.CreationTime.UnixMilli()) / 1000,
	}
	if j.Language != "" {
		out["LanguageCode"] = j.Language
	}
	if j.FailReason != "" {
		out["FailureReason"] = j.FailReason
	}
	if !j.Completion.IsZero() {
		out["CompletionTime"] = float64(j.Completion.UnixMilli()) / 1000
	}
	if j.Status == "COMPLETED" {
		out["Transcript"] = map[string]string{"TranscriptFileUri": "s3://" + j.OutBucket + "/" + j.OutKey}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{"TranscriptionJob": out})
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "Message": msg})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// work runs one job to its end and announces it.
func (e *Engine) work(ctx context.Context, j *job) {
	if j.Status == "IN_PROGRESS" {
		err := e.transcribe(ctx, j)
		e.mu.Lock()
		if err != nil {
			j.Status, j.FailReason = "FAILED", err.Error()
		} else {
			j.Status = "COMPLETED"
		}
		e.mu.Unlock()
	}
	e.mu.Lock()
	j.Completion = time.Now()
	status := j.Status
	e.mu.Unlock()
	e.Log.InfoContext(ctx, "transcription job finished", "job", j.Name, "status", status, "reason", j.FailReason)
	e.announce(ctx, j.Name, status)
}

// announce delivers the state change as EventBridge would: retried with
// backoff while the events handler fails or is away.
func (e *Engine) announce(ctx context.Context, name, status string) {
	detail, _ := json.Marshal(map[string]string{"TranscriptionJobName": name, "TranscriptionJobStatus": status})
	ev, _ := json.Marshal(map[string]any{
		"version": "0", "id": fmt.Sprintf("local-%d", time.Now().UnixNano()), "detail-type": "Transcribe Job State Change",
		"source": "aws.transcribe", "account": e.Account, "time": time.Now().UTC().Format(time.RFC3339),
		"region": e.Region, "resources": []string{}, "detail": json.RawMessage(detail),
	})
	for attempt := range 8 {
		err := e.Deliver(ctx, ev)
		if err == nil {
			return
		}
		e.Log.WarnContext(ctx, "transcription event not delivered; retrying", "job", name, "attempt", attempt+1, "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(1<<attempt) * 100 * time.Millisecond):
		}
	}
	e.Log.ErrorContext(ctx, "transcription event given up", "job", name)
}

func (e *Engine) transcribe(ctx context.Context, j *job) error {
	dir, err := os.MkdirTemp("", "devtranscribe-")
	if err != nil {
		return fmt.Errorf("internal failure: %w", err)
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "media")
	obj, err := e.S3.GetObject(ctx, &awss3.GetObjectInput{Bucket: &j.Bucket, Key: &j.Key})
	if err != nil {
		return fmt.Errorf("The media file could not be read from s3://%s/%s: %v", j.Bucket, j.Key, err)
	}
	f, err := os.Create(in)
	if err == nil {
		_, err = io.Copy(f, obj.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	obj.Body.Close()
	if err != nil {
		return fmt.Errorf("internal failure reading the media: %w", err)
	}
	words, audio, cpu, err := Recognise(ctx, in, dir)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.cpu += cpu
	e.audio += audio
	e.mu.Unlock()
	doc, err := json.Marshal(Document(j.Name, e.Account, Language, j.Identify, words))
	if err != nil {
		return fmt.Errorf("internal failure: %w", err)
	}
	if _, err := e.S3.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: &j.OutBucket, Key: &j.OutKey, Body: bytes.NewReader(doc), ContentType: aws.String("application/json"),
	}); err != nil {
		return fmt.Errorf("The output could not be written to s3://%s/%s: %v", j.OutBucket, j.OutKey, err)
	}
	return nil
}

// Word is one recognised word and where it is.
type Word struct {
	Text       string
	Start, End time.Duration
	Confidence float64
}

// Recognise decodes the media at path to 16 kHz mono with ffmpeg and runs
// pocketsphinx over it, in dir; it answers the words, the audio's
// duration and the CPU time both tools took.
func Recognise(ctx context.Context, path, dir string) (words []Word, audio, cpu time.Duration, err error) {
	wav := filepath.Join(dir, "speech.wav")
	ff := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", path,
		"-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", "-f", "wav", wav)
	var ffErr bytes.Buffer
	ff.Stderr = &ffErr
	if err := ff.Run(); err != nil {
		return nil, 0, 0, fmt.Errorf("The media format could not be decoded: %v: %s", err, strings.TrimSpace(ffErr.String()))
	}
	cpu += ff.ProcessState.UserTime() + ff.ProcessState.SystemTime()
	if st, err := os.Stat(wav); err == nil && st.Size() > 44 {
		audio = time.Duration((st.Size()-44)/32) * time.Millisecond // 16,000 samples of 2 bytes a second
	}
	ps := exec.CommandContext(ctx, "pocketsphinx_continuous", "-infile", wav, "-time", "yes", "-logfn", os.DevNull)
	var out, psErr bytes.Buffer
	ps.Stdout, ps.Stderr = &out, &psErr
	if err := ps.Run(); err != nil {
		return nil, 0, 0, fmt.Errorf("The recogniser failed: %v: %s", err, strings.TrimSpace(psErr.String()))
	}
	cpu += ps.ProcessState.UserTime() + ps.ProcessState.SystemTime()
	return ParseTimes(out.String()), audio, cpu, nil
}

// ParseTimes reads pocketsphinx_continuous's "-time yes" output: per
// utterance a line of its hypothesis, then one line per word, "word start
// end confidence" (seconds), with fillers (<s>, </s>, <sil>, [NOISE],
// ++GARBAGE++) and alternative pronunciations marked "(2)".
func ParseTimes(out string) []Word {
	var words []Word
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 4 {
			continue
		}
		start, err1 := strconv.ParseFloat(f[1], 64)
		end, err2 := strconv.ParseFloat(f[2], 64)
		conf, err3 := strconv.ParseFloat(f[3], 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			continue
		}
		w := f[0]
		if strings.HasPrefix(w, "<") || strings.HasPrefix(w, "[") || strings.HasPrefix(w, "+") {
			continue
		}
		if i := strings.IndexByte(w, '('); i > 0 {
			w = w[:i]
		}
		words = append(words, Word{
			Text: w, Start: time.Duration(start * float64(time.Second)), End: time.Duration(end * float64(time.Second)), Confidence: conf,
		})
	}
	return words
}

// Document is an output document in Amazon Transcribe's format: the
// transcript, and an item per word with its times and confidence as
// strings, as Transcribe writes them. pocketsphinx tells no speakers
// apart and writes no punctuation, so there are no speaker labels and
// every item is a pronunciation.
func Document(jobName, account, language string, identified bool, words []Word) map[string]any {
	items := make([]map[string]any, 0, len(words))
	texts := make([]string, 0, len(words))
	for i, w := range words {
		items = append(items, map[string]any{
			"id": i, "type": "pronunciation",
			"start_time": secs(w.Start), "end_time": secs(w.End),
			"alternatives": []map[string]string{{"confidence": strconv.FormatFloat(w.Confidence, 'f', 4, 64), "content": w.Text}},
		})
		texts = append(texts, w.Text)
	}
	results := map[string]any{
		"transcripts": []map[string]string{{"transcript": strings.Join(texts, " ")}},
		"items":       items,
	}
	if identified {
		results["language_code"] = language
		results["language_identification"] = []map[string]string{{"code": language, "score": "1.0"}}
	}
	return map[string]any{"jobName": jobName, "accountId": account, "status": "COMPLETED", "results": results}
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }
