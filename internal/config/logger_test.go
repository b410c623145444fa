package config_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/metrics"
)

// logRequest writes a line shaped like the API's access log: our own
// snake_case fields followed by the EMF record metrics.Attrs builds.
func logRequest(format string) string {
	var buf bytes.Buffer
	log := config.Config{LogFormat: format, LogLevel: slog.LevelInfo}.Logger(&buf)
	dims := map[string]string{metrics.DimService: metrics.ServiceAPI, metrics.DimStatusClass: "2xx", metrics.DimRoute: "/v1/recordings"}
	attrs := []any{"request_id", "01JREQ", "method", "GET", "route", "/v1/recordings", "status", 200, "latency_ms", 1.25}
	attrs = append(attrs, metrics.Attrs(time.Unix(1700000000, 0),
		dims, metrics.Value{Metric: metrics.Requests, Value: 1}, metrics.Value{Metric: metrics.Latency, Value: 1.25})...)
	log.Info("request", attrs...)
	return buf.String()
}

// A developer reading `make run`'s terminal wants the request's own fields;
// the EMF record is for CloudWatch and buried them.
func TestTextLogLeavesOutTheMetricsRecord(t *testing.T) {
	line := logRequest("text")
	for _, want := range []string{"request_id=01JREQ", "route=/v1/recordings", "status=200", "latency_ms=1.25"} {
		if !strings.Contains(line, want) {
			t.Errorf("text line lacks %q: %s", want, line)
		}
	}
	for _, unwanted := range []string{"_aws", "CloudWatchMetrics", "Requests=", "StatusClass="} {
		if strings.Contains(line, unwanted) {
			t.Errorf("text line carries the metrics record (%q): %s", unwanted, line)
		}
	}
	if len(line) > 160 {
		t.Errorf("text request line is %d characters, want at most 160: %s", len(line), line)
	}
}

// CloudWatch turns the JSON line into metrics: it keeps the exact EMF record.
func TestJSONLogKeepsTheMetricsRecord(t *testing.T) {
	var rec map[string]any
	if err := json.Unmarshal([]byte(logRequest("json")), &rec); err != nil {
		t.Fatal(err)
	}
	aws, ok := rec["_aws"].(map[string]any)
	if !ok || aws["CloudWatchMetrics"] == nil {
		t.Fatalf("JSON line lost its _aws directive: %v", rec)
	}
	if rec["Requests"] != float64(1) || rec["Route"] != "/v1/recordings" {
		t.Errorf("JSON line lost a metric value or dimension: %v", rec)
	}
}
