package artefact

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// queue stands in for SQS as far as the API's SendMessage goes (the SDK's
// JSON protocol, the body's MD5 the SDK checks): it keeps each message so a
// test can deliver it to the export function as Lambda's SQS poller would.
type queue struct {
	srv *httptest.Server
	mu  sync.Mutex
	// sent is each message as sent: the queue URL and the body.
	sent []queuedMessage
}

type queuedMessage struct {
	QueueURL string `json:"QueueUrl"`
	Body     string `json:"MessageBody"`
	id       string
}

func newQueue() *queue {
	q := &queue{}
	q.srv = httptest.NewServer(http.HandlerFunc(q.serve))
	return q
}

func (q *queue) serve(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	var m queuedMessage
	if err != nil || r.Header.Get("X-Amz-Target") != "AmazonSQS.SendMessage" || json.Unmarshal(raw, &m) != nil {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.sqs#InvalidAction","message":"the stand-in queue takes SendMessage only"}`))
		return
	}
	m.id = requestID()
	q.mu.Lock()
	q.sent = append(q.sent, m)
	q.mu.Unlock()
	sum := md5.Sum([]byte(m.Body))
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(map[string]string{"MessageId": m.id, "MD5OfMessageBody": hex.EncodeToString(sum[:])})
}

// take returns the messages sent since the last take.
func (q *queue) take() []queuedMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.sent
	q.sent = nil
	return out
}

// sqsEvent is the batch Lambda's SQS event source mapping hands the
// function for m (the queue's batch size is one).
func sqsEvent(m queuedMessage, queueARN string) map[string]any {
	now := time.Now().UnixMilli()
	sum := md5.Sum([]byte(m.Body))
	return map[string]any{"Records": []any{map[string]any{
		"messageId": m.id, "receiptHandle": "artefact-" + m.id, "body": m.Body,
		"attributes": map[string]string{
			"ApproximateReceiveCount": "1", "SentTimestamp": strconv.FormatInt(now, 10), "SenderId": templateAccount,
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(now, 10),
		},
		"messageAttributes": map[string]any{}, "md5OfBody": hex.EncodeToString(sum[:]),
		"eventSource": "aws:sqs", "eventSourceARN": queueARN, "awsRegion": templateRegion,
	}}}
}
