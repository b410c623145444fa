package recorder_test

import (
	"strings"
	"testing"

	"github.com/voicerec/backend/infra/recorder"
)

// Transcribe's job state changes, finished ones only, reach the events
// function, retried and then dead-lettered like S3's events; the failed
// jobs alarm and the dashboard's row exist.
func TestTranscribeJobEventsReachTheEventsFunction(t *testing.T) {
	s := synth(t, true)
	fn := logicalID(t, s, "AWS::Lambda::Function", recorder.EventsFunctionID)
	var found int
	for _, r := range s.ofType("AWS::Events::Rule") {
		pattern := js(r.Properties["EventPattern"])
		if !strings.Contains(pattern, "aws.transcribe") {
			continue
		}
		found++
		for _, want := range []string{`"detail-type":["Transcribe Job State Change"]`, `"TranscriptionJobStatus":["COMPLETED","FAILED"]`} {
			if !strings.Contains(pattern, want) {
				t.Errorf("pattern %s lacks %s", pattern, want)
			}
		}
		targets := js(r.Properties["Targets"])
		if !strings.Contains(targets, fn) || !strings.Contains(targets, "DeadLetterConfig") || !strings.Contains(targets, "RetryPolicy") {
			t.Errorf("targets %s", targets)
		}
	}
	if found != 1 {
		t.Fatalf("%d rules for Transcribe's events, want 1", found)
	}
	alarms := 0
	for _, a := range s.ofType("AWS::CloudWatch::Alarm") {
		if a.Properties["MetricName"] == "TranscriptionsFailed" {
			alarms++
		}
	}
	if alarms != 1 {
		t.Errorf("%d alarms on failed transcriptions, want 1", alarms)
	}
	for _, d := range s.ofType("AWS::CloudWatch::Dashboard") {
		if body := js(d.Properties["DashboardBody"]); !strings.Contains(body, "TranscribedSeconds") {
			t.Errorf("the dashboard shows no transcription")
		}
	}
}
