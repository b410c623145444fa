package metrics_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/metrics"
)

func TestTypicalGatewayLineFillsEveryVariable(t *testing.T) {
	line := metrics.TypicalGatewayAccessLogLine()
	if strings.Contains(line, "$context") {
		t.Fatalf("a variable is left unfilled: %s", line)
	}
	var fields map[string]string
	if err := json.Unmarshal([]byte(line), &fields); err != nil {
		t.Fatalf("not one JSON object: %v: %s", err, line)
	}
	if len(fields) != strings.Count(metrics.GatewayAccessLogFormat, "$context") {
		t.Fatalf("%d fields for %d variables: %s", len(fields), strings.Count(metrics.GatewayAccessLogFormat, "$context"), line)
	}
}
