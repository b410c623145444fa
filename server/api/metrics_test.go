package api_test

import (
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// Every access log line is also an EMF record, and a login, an upload and
// its confirmation produce the metrics the dashboard plots.
func TestAccessLogLinesAreEMF(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, _ := login(t, s, "measured")
	c.upload("m.wav", "audio/wav", audioBytes("audio/wav", 1000))
	c.do("GET", "/v1/recordings/not-an-id", nil)
	requests := 0
	for _, line := range strings.Split(s.Logs.String(), "\n") {
		if strings.Contains(line, `"msg":"request"`) {
			requests++
			if !strings.Contains(line, `"_aws"`) {
				t.Errorf("access log line without EMF: %s", line)
			}
		}
	}
	if requests == 0 {
		t.Fatal("no access log lines")
	}
	emitted := s.EmittedMetrics(t)
	for _, want := range []string{"Requests", "Latency", "Logins", "UploadsCreated", "Confirmed"} {
		if !emitted[want] {
			t.Errorf("no %s metric emitted", want)
		}
	}
	if !strings.Contains(s.Logs.String(), `"Outcome":"success","Provider":"dev"`) {
		t.Error("login metric without provider and outcome")
	}
}
