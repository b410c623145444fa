package main

import (
	"encoding/json"
	"testing"
)

// A record as Lambda's on-failure destination writes it to SQS.
const record = `{"version":"1.0","timestamp":"2026-11-26T12:00:00.000Z",
"requestContext":{"requestId":"e4b46cbf-b738-xmpl-8880-a18cdf61200e","functionArn":"arn:aws:lambda:us-east-1:123456789012:function:recorder-prod-events:$LATEST","condition":"RetriesExhausted","approximateInvokeCount":3},
"requestPayload":{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"recordings/u/r.m4a","size":10}}}]},
"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},
"responsePayload":{"errorMessage":"recordings/u/r.m4a: DynamoDB unavailable"}}`

func TestPayloadIsTheOriginalEvent(t *testing.T) {
	fn, payload, err := Payload([]byte(record))
	if err != nil {
		t.Fatal(err)
	}
	if fn != "arn:aws:lambda:us-east-1:123456789012:function:recorder-prod-events" {
		t.Errorf("function %q", fn)
	}
	var ev struct {
		Records []struct {
			EventName string `json:"eventName"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil || len(ev.Records) != 1 || ev.Records[0].EventName != "ObjectCreated:Put" {
		t.Errorf("payload %s: %v", payload, err)
	}
	for _, bad := range []string{`{}`, `not json`, `{"requestPayload":{"a":1}}`} {
		if _, _, err := Payload([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}
