package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/recording"
)

// TranscriptsTable holds transcript segments. A recording's transcript
// state (status, job, reason) lives on the recording item, so a listing
// shows it for free; the segments live here, because a long recording's
// words do not fit in one item: DynamoDB's limit is 400 KB, and three
// hours of speech is about 27,000 words, some 250 KB of segments as JSON
// (Korean's UTF-8 takes more), while a recording may run for days.
// They are cut into chunks of at most chunkBytes, each an item
// "<recording_id>#<job>#<nnnn>", so a transcript of any length is stored
// and read with one Query, and a new job's chunks never mix with an old
// one's.
const TranscriptsTable = "transcripts"

// chunkBytes bounds one chunk's segments (compact JSON), leaving room
// under the 400 KB item limit for the keys and attribute names.
const chunkBytes = 300_000

type transcriptChunk struct {
	UserID   string `dynamodbav:"user_id"`
	Part     string `dynamodbav:"part"`
	Segments string `dynamodbav:"segments"`
}

func chunkPart(recordingID, job string, n int) string {
	return fmt.Sprintf("%s#%s#%04d", recordingID, job, n)
}

// ChunkSegments cuts segs into JSON arrays of at most max bytes each (a
// single segment longer than max makes a chunk of its own).
func ChunkSegments(segs []recording.Segment, max int) ([]string, error) {
	var chunks []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			b.WriteByte(']')
			chunks = append(chunks, b.String())
			b.Reset()
		}
	}
	for _, s := range segs {
		enc, err := json.Marshal(s)
		if err != nil {
			return nil, fmt.Errorf("encode segment: %w", err)
		}
		if b.Len() > 0 && b.Len()+len(enc)+2 > max {
			flush()
		}
		if b.Len() == 0 {
			b.WriteByte('[')
		} else {
			b.WriteByte(',')
		}
		b.Write(enc)
	}
	flush()
	return chunks, nil
}

// PutTranscriptSegments stores job's segments of a recording. It is the
// first half of a completion: SetTranscriptStatus, conditional on the
// recording still wanting this job, makes them the transcript, and the
// caller deletes them again when it does not (DeleteTranscript).
func (s *Store) PutTranscriptSegments(ctx context.Context, userID, recordingID, job string, segs []recording.Segment) error {
	chunks, err := ChunkSegments(segs, chunkBytes)
	if err != nil {
		return err
	}
	if len(chunks) == 0 {
		chunks = []string{"[]"} // an empty transcript is still one
	}
	for start := 0; start < len(chunks); start += 25 {
		var reqs []types.WriteRequest
		for i := start; i < min(start+25, len(chunks)); i++ {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
				"user_id": str(userID), "part": str(chunkPart(recordingID, job, i)), "segments": str(chunks[i]),
			}}})
		}
		pending := map[string][]types.WriteRequest{s.transcripts: reqs}
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 8 {
				return fmt.Errorf("put transcript %s/%s: items left unprocessed", userID, recordingID)
			}
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return fmt.Errorf("put transcript %s/%s: %w", userID, recordingID, err)
			}
			pending = out.UnprocessedItems
		}
	}
	return nil
}

// TranscriptSegments reads job's segments of a recording, in order.
func (s *Store) TranscriptSegments(ctx context.Context, userID, recordingID, job string) ([]recording.Segment, error) {
	segs := []recording.Segment{}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:              &s.transcripts,
		KeyConditionExpression: aws.String("user_id = :u AND begins_with(part, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":u": str(userID), ":p": str(recordingID + "#" + job + "#"),
		},
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read transcript %s/%s: %w", userID, recordingID, err)
		}
		for _, it := range out.Items {
			v, _ := it["segments"].(*types.AttributeValueMemberS)
			if v == nil {
				continue
			}
			var chunk []recording.Segment
			if err := json.Unmarshal([]byte(v.Value), &chunk); err != nil {
				return nil, fmt.Errorf("decode transcript %s/%s: %w", userID, recordingID, err)
			}
			segs = append(segs, chunk...)
		}
	}
	return segs, nil
}

// DeleteTranscript removes a recording's chunks: every job's, or with
// keep, every job's but that one.
func (s *Store) DeleteTranscript(ctx context.Context, userID, recordingID, keep string) error {
	return s.deleteChunks(ctx, userID, recordingID+"#", func(part string) bool {
		return keep != "" && strings.HasPrefix(part, recordingID+"#"+keep+"#")
	})
}

// DeleteTranscriptJob removes the chunks one job stored.
func (s *Store) DeleteTranscriptJob(ctx context.Context, userID, recordingID, job string) error {
	return s.deleteChunks(ctx, userID, recordingID+"#"+job+"#", func(string) bool { return false })
}

// DeleteUserTranscripts removes every chunk of a user (account deletion).
func (s *Store) DeleteUserTranscripts(ctx context.Context, userID string) error {
	return s.deleteChunks(ctx, userID, "", func(string) bool { return false })
}

func (s *Store) deleteChunks(ctx context.Context, userID, prefix string, kept func(string) bool) error {
	in := &dynamodb.QueryInput{
		TableName:                 &s.transcripts,
		KeyConditionExpression:    aws.String("user_id = :u"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(userID)},
		ProjectionExpression:      aws.String("user_id, part"),
	}
	if prefix != "" {
		in.KeyConditionExpression = aws.String("user_id = :u AND begins_with(part, :p)")
		in.ExpressionAttributeValues[":p"] = str(prefix)
	}
	var keys []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list transcript chunks of %s: %w", userID, err)
		}
		for _, it := range out.Items {
			if v, ok := it["part"].(*types.AttributeValueMemberS); ok && !kept(v.Value) {
				keys = append(keys, it)
			}
		}
	}
	return s.batchDelete(ctx, s.transcripts, keys)
}

// TranscriptState is what SetTranscriptStatus writes on a recording.
type TranscriptState struct {
	Status   recording.TranscriptStatus
	Job      string
	Language string
	Reason   string
	Detail   string
}

// ErrTranscriptMoved is SetTranscriptStatus's answer when the recording is
// gone, being deleted, or wants another job than the one expected.
var ErrTranscriptMoved = errors.New("the recording no longer wants this transcript")

// SetTranscriptStatus is the one write of a recording's transcript state
// (transcript_status and what goes with it). It applies only while the
// recording exists as available or in the trash and its current job is
// expectJob (empty: it has none), so a job that finishes after a newer
// one started, or after the recording was purged, changes nothing
// (ErrTranscriptMoved). Recordings show transcript_status, so the change
// feed records the recording as this write leaves it, in the same
// transaction: the recording is read first and the write is conditional on
// what was read (read again when something else changed it meanwhile).
func (s *Store) SetTranscriptStatus(ctx context.Context, userID, recordingID, expectJob string, t TranscriptState) error {
	for range maxRenameAttempts {
		rec, err := s.GetRecording(ctx, userID, recordingID)
		if errors.Is(err, recording.ErrNotFound) {
			return ErrTranscriptMoved
		}
		if err != nil {
			return fmt.Errorf("set transcript status of %s/%s: %w", userID, recordingID, err)
		}
		if (rec.Status != recording.StatusAvailable && rec.Status != recording.StatusDeleted) || rec.TranscriptJob != expectJob {
			return ErrTranscriptMoved
		}
		err = s.setTranscriptStatus(ctx, rec, expectJob, t)
		if errors.Is(err, ErrStateChanged) {
			continue
		}
		return err
	}
	return fmt.Errorf("set transcript status of %s/%s: %w", userID, recordingID, ErrStateChanged)
}

// setTranscriptStatus writes t over rec and records the result in the
// feed, conditional on rec's status, name and job still being what they
// are (ErrStateChanged otherwise).
func (s *Store) setTranscriptStatus(ctx context.Context, rec recording.Recording, expectJob string, t TranscriptState) error {
	set := []string{"transcript_status = :ts"}
	remove := []string{}
	vals := map[string]types.AttributeValue{
		":ts": str(string(t.Status)), ":st": str(string(rec.Status)), ":fn": str(rec.FileName),
	}
	field := func(name, v string) {
		if v == "" {
			remove = append(remove, name)
			return
		}
		set = append(set, name+" = :"+name)
		vals[":"+name] = str(v)
	}
	field("transcript_job", t.Job)
	field("transcript_language", t.Language)
	field("transcript_reason", t.Reason)
	field("transcript_detail", t.Detail)
	cond := "#st = :st AND file_name = :fn AND "
	if expectJob == "" {
		cond += "attribute_not_exists(transcript_job)"
	} else {
		cond += "transcript_job = :expect"
		vals[":expect"] = str(expectJob)
	}
	update := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		update += " REMOVE " + strings.Join(remove, ", ")
	}
	after := rec
	after.TranscriptStatus, after.TranscriptJob, after.TranscriptLanguage = t.Status, t.Job, t.Language
	after.TranscriptReason, after.TranscriptDetail = t.Reason, t.Detail
	err := s.transactChange(ctx, upsertOf(after, time.Now()), types.TransactWriteItem{Update: &types.Update{
		TableName: &s.recordings, Key: recKey(rec.UserID, rec.ID),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: vals,
	}})
	if conditionFailed(err) || transactionConflict(err) {
		return ErrStateChanged
	}
	if err != nil {
		return fmt.Errorf("set transcript status of %s/%s: %w", rec.UserID, rec.ID, err)
	}
	return nil
}

// ChargeTranscription counts seconds of audio against the user's
// allowance of limit seconds in month ("2006-01"): false, and nothing
// counted, when they do not fit. A new month starts from zero. One
// conditional update when the month is the user's current one; when it
// turned, a second starts it (and a third adds, if a concurrent charge
// started it first).
func (s *Store) ChargeTranscription(ctx context.Context, userID, month string, seconds, limit int64) (bool, error) {
	if seconds > limit {
		return false, nil
	}
	vals := map[string]types.AttributeValue{":s": num(seconds), ":m": str(month), ":room": num(limit - seconds)}
	add := &dynamodb.UpdateItemInput{
		TableName: &s.users, Key: userKey(userID),
		UpdateExpression:          aws.String("ADD transcribe_seconds :s"),
		ConditionExpression:       aws.String("transcribe_month = :m AND transcribe_seconds <= :room AND attribute_not_exists(account_state)"),
		ExpressionAttributeValues: vals,
	}
	begin := &dynamodb.UpdateItemInput{
		TableName: &s.users, Key: userKey(userID),
		UpdateExpression:          aws.String("SET transcribe_month = :m, transcribe_seconds = :s"),
		ConditionExpression:       aws.String("attribute_exists(user_id) AND attribute_not_exists(account_state) AND (attribute_not_exists(transcribe_month) OR transcribe_month < :m)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": num(seconds), ":m": str(month)},
	}
	for _, in := range []*dynamodb.UpdateItemInput{add, begin, add} {
		_, err := s.db.UpdateItem(ctx, in)
		if err == nil {
			return true, nil
		}
		if !conditionFailed(err) {
			return false, fmt.Errorf("charge transcription: %w", err)
		}
	}
	return false, nil // this month's allowance is spent, or the account is going
}

// SetTranscription records the user's choice to transcribe new
// recordings or not.
func (s *Store) SetTranscription(ctx context.Context, userID string, off bool) error {
	update := "REMOVE transcription_off"
	vals := map[string]types.AttributeValue(nil)
	if off {
		update = "SET transcription_off = :t"
		vals = map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}}
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.users, Key: userKey(userID),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("attribute_exists(user_id) AND attribute_not_exists(account_state)"),
		ExpressionAttributeValues: vals,
	})
	if conditionFailed(err) {
		return recording.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("set transcription: %w", err)
	}
	return nil
}
