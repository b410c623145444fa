package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// ConvergeRequest is the payload that asks the events function to converge
// one recording now (the API's complete); the events handler answers a
// ConvergeAnswer. Its one field tells it apart from an S3 notification and
// the reconciler's schedule.
type ConvergeRequest struct {
	Converge *ConvergeKey `json:"converge"`
}

// ConvergeKey names the recording (Converge's arguments).
type ConvergeKey struct {
	UserID      string `json:"user_id"`
	RecordingID string `json:"recording_id"`
	Key         string `json:"key,omitempty"`
}

// ConvergeAnswer is what the events function converged to.
type ConvergeAnswer struct {
	Outcome string `json:"outcome"`
}

// Remote converges through the events function, invoked synchronously:
// the probe's ranged reads of audio stay in that function, whose role may
// read the bucket, and the API only hears the outcome.
type Remote struct {
	Lambda   *lambda.Client
	Function string
}

// Converge asks the events function to converge one recording and waits
// for its outcome. A function error (the Keeper failed) is an error here
// too; the caller leaves the recording to the event and the reconciler.
func (r Remote) Converge(ctx context.Context, userID, recordingID, key string) (string, error) {
	payload, err := json.Marshal(ConvergeRequest{Converge: &ConvergeKey{UserID: userID, RecordingID: recordingID, Key: key}})
	if err != nil {
		return "", err
	}
	out, err := r.Lambda.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(r.Function),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		return "", fmt.Errorf("invoke %s to converge %s/%s: %w", r.Function, userID, recordingID, err)
	}
	if out.FunctionError != nil {
		return "", fmt.Errorf("%s failed to converge %s/%s (%s): %s", r.Function, userID, recordingID, *out.FunctionError, out.Payload)
	}
	var ans ConvergeAnswer
	if err := json.Unmarshal(out.Payload, &ans); err != nil || ans.Outcome == "" {
		return "", fmt.Errorf("%s answered %q to converge %s/%s, not an outcome", r.Function, out.Payload, userID, recordingID)
	}
	return ans.Outcome, nil
}

// ReindexRequest is the payload that asks the events function to index a
// recording's current name (after a rename). It has no answer: the API
// invokes it asynchronously, so a rename stays one DynamoDB round trip.
type ReindexRequest struct {
	Reindex *ConvergeKey `json:"reindex"`
}

// ReindexName asks the events function to reindex the recording's name and
// returns once Lambda has queued the request (an Event invocation, which
// Lambda retries on its own).
func (r Remote) ReindexName(ctx context.Context, userID, recordingID string) error {
	payload, err := json.Marshal(ReindexRequest{Reindex: &ConvergeKey{UserID: userID, RecordingID: recordingID}})
	if err != nil {
		return err
	}
	if _, err := r.Lambda.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(r.Function),
		InvocationType: types.InvocationTypeEvent,
		Payload:        payload,
	}); err != nil {
		return fmt.Errorf("invoke %s to reindex %s/%s: %w", r.Function, userID, recordingID, err)
	}
	return nil
}
