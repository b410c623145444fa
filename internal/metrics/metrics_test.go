package metrics_test

import (
	"bytes"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/metrics"
)

func TestAttrsMakeValidEMF(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("request", metrics.Attrs(time.Now(), map[string]string{
		metrics.DimService: "api", metrics.DimStatusClass: "2xx", metrics.DimRoute: "/v1/recordings",
	}, metrics.Value{Metric: metrics.Requests, Value: 1}, metrics.Value{Metric: metrics.Latency, Value: 12.5})...)
	names, err := metrics.ValidateEMF(buf.Bytes())
	if err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	if !slices.Equal(names, []string{"Requests", "Latency"}) {
		t.Errorf("metrics %v", names)
	}
	// A dimension without its value is invalid EMF: the validator says so.
	buf.Reset()
	log.Info("bad", metrics.Attrs(time.Now(), map[string]string{metrics.DimService: "api"},
		metrics.Value{Metric: metrics.Requests, Value: 1})...)
	if _, err := metrics.ValidateEMF(buf.Bytes()); err == nil {
		t.Errorf("a line without StatusClass passed: %s", buf.Bytes())
	}
}

func TestNamesAreUniqueAndDimensioned(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range metrics.All {
		if seen[m.Name] || len(m.Dimensions) == 0 || m.Dimensions[0][0] != metrics.DimService {
			t.Errorf("metric %+v: duplicate, or not dimensioned by Service first", m)
		}
		seen[m.Name] = true
	}
	if got := metrics.StatusClass(404); got != "4xx" {
		t.Errorf("StatusClass(404) = %q", got)
	}
}
