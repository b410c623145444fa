package recorder_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/voicerec/backend/infra/recorder"
)

// The export worker is started by its queue, one message at a time; a
// message is redelivered only after an attempt has surely ended, and goes
// to the dead-letter queue after the worker's last attempt; archives
// expire under their own lifecycle rule.
func TestExportQueueFunctionAndLifecycle(t *testing.T) {
	s := synth(t, true)
	fnID := logicalID(t, s, "AWS::Lambda::Function", recorder.ExportFunctionID)
	fn := s.res[fnID]
	if js(fn.Properties["Timeout"]) != strconv.Itoa(recorder.ExportTimeoutSeconds) ||
		get(fn.Properties, "Environment", "Variables", "EXPORT_WORKER_TIMEOUT") != fmt.Sprintf("%ds", recorder.ExportTimeoutSeconds) {
		t.Errorf("export function timeout %s, env %s", js(fn.Properties["Timeout"]), js(get(fn.Properties, "Environment")))
	}
	qID := logicalID(t, s, "AWS::SQS::Queue", "ExportQueue")
	dlqID := logicalID(t, s, "AWS::SQS::Queue", "ExportDeadLetterQueue")
	q := s.res[qID]
	if got := js(get(q.Properties, "RedrivePolicy")); got != fmt.Sprintf(`{"deadLetterTargetArn":{"Fn::GetAtt":[%q,"Arn"]},"maxReceiveCount":%d}`, dlqID, recorder.ExportMaxReceives) {
		t.Errorf("redrive %s", got)
	}
	if v, _ := strconv.Atoi(js(q.Properties["VisibilityTimeout"])); v <= recorder.ExportTimeoutSeconds {
		t.Errorf("visibility timeout %d, not above the function's timeout", v)
	}
	var mapped bool
	for _, m := range s.ofType("AWS::Lambda::EventSourceMapping") {
		if js(m.Properties["FunctionName"]) == fmt.Sprintf(`{"Ref":%q}`, fnID) {
			mapped = js(m.Properties["BatchSize"]) == "1" && js(m.Properties["EventSourceArn"]) == fmt.Sprintf(`{"Fn::GetAtt":[%q,"Arn"]}`, qID)
		}
	}
	if !mapped {
		t.Error("the export function is not started by its queue one message at a time")
	}
	api := s.res[logicalID(t, s, "AWS::Lambda::Function", recorder.APIFunctionID)]
	if got := js(get(api.Properties, "Environment", "Variables", "EXPORT_QUEUE_URL")); got != fmt.Sprintf(`{"Ref":%q}`, qID) {
		t.Errorf("API EXPORT_QUEUE_URL %s", got)
	}
	_, bucket := s.one(t, "AWS::S3::Bucket")
	found := false
	for _, r := range get(bucket.Properties, "LifecycleConfiguration", "Rules").([]any) {
		if get(r, "Id") == "exports-expire" {
			found = get(r, "Prefix") == "exports/" && js(get(r, "ExpirationInDays")) == "8"
		}
	}
	if !found {
		t.Errorf("no 8-day expiry on exports/: %s", js(get(bucket.Properties, "LifecycleConfiguration")))
	}
}
