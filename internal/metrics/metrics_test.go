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

// The "_aws" directive of a set of metrics is marshalled once and reused;
// every line, the first and the later ones, must read exactly as the
// directive built and marshalled afresh for that line, as it was before
// the cache.
func TestCachedDirectivesMatchFreshOnes(t *testing.T) {
	type def struct {
		Name string `json:"Name"`
		Unit string `json:"Unit"`
	}
	type dir struct {
		Namespace  string     `json:"Namespace"`
		Dimensions [][]string `json:"Dimensions"`
		Metrics    []def      `json:"Metrics"`
	}
	fresh := func(now time.Time, values []metrics.Value) map[string]any {
		var dirs []dir
		for _, v := range values {
			i := slices.IndexFunc(dirs, func(d dir) bool { return slices.EqualFunc(d.Dimensions, v.Metric.Dimensions, slices.Equal) })
			if i < 0 {
				dirs = append(dirs, dir{Namespace: metrics.Namespace, Dimensions: v.Metric.Dimensions})
				i = len(dirs) - 1
			}
			dirs[i].Metrics = append(dirs[i].Metrics, def{v.Metric.Name, string(v.Metric.Unit)})
		}
		return map[string]any{"Timestamp": now.UnixMilli(), "CloudWatchMetrics": dirs}
	}
	v := func(m metrics.Metric) metrics.Value { return metrics.Value{Metric: m, Value: 1} }
	sets := [][]metrics.Value{
		{v(metrics.Requests), v(metrics.Latency)},
		{v(metrics.Requests), v(metrics.Latency), v(metrics.Logins)},
		{v(metrics.Requests), v(metrics.Latency), v(metrics.UploadsCreated)},
		{v(metrics.Latency), v(metrics.Requests)}, // the same metrics in another order
		{v(metrics.Confirmed), v(metrics.ConfirmationLatency), v(metrics.BytesRead)},
		{v(metrics.Rejected)},
		// More metrics than the cache keys hold: marshalled each time.
		{v(metrics.Requests), v(metrics.Latency), v(metrics.Logins), v(metrics.UploadsCreated), v(metrics.Confirmed)},
	}
	dims := map[string]string{}
	for _, m := range metrics.All {
		for _, set := range m.Dimensions {
			for _, d := range set {
				dims[d] = "x"
			}
		}
	}
	line := func(aws slog.Attr) string {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})).Info("line", aws)
		return buf.String()
	}
	for round := range 2 { // the first round fills the cache, the second reads it
		for i, set := range sets {
			now := time.UnixMilli(1_700_000_000_000 + int64(round*100+i))
			got := line(metrics.Attrs(now, dims, set...)[0].(slog.Attr))
			want := line(slog.Any("_aws", fresh(now, set)))
			if got != want {
				t.Errorf("round %d, set %d:\n got %s\nwant %s", round, i, got, want)
			}
		}
	}
}
