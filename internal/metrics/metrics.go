// Package metrics names every metric the backend emits and writes them as
// CloudWatch Embedded Metric Format (EMF): the structured log line itself
// carries an "_aws" directive, so CloudWatch Logs turns it into metrics with
// no agent and no PutMetricData call. No maintained Go EMF library is served
// here; the format is a small documented JSON layout, written by hand.
//
// The names below are the only ones: the code emits them and infra/ builds
// its dashboard and alarms from them, so the two cannot drift apart.
package metrics

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every metric.
const Namespace = "Recorder"

// Unit is a CloudWatch unit.
type Unit string

const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
	Bytes        Unit = "Bytes"
)

// Dimension names. Service tells the API, the events handler and the
// reconciler apart; the others have few values each, as CloudWatch wants.
const (
	DimService     = "Service"
	DimStatusClass = "StatusClass" // 2xx, 4xx, 5xx
	DimRoute       = "Route"       // the route pattern, never the raw path
	DimProvider    = "Provider"
	DimOutcome     = "Outcome"
	DimMethod      = "Method" // upload method: PUT, MULTIPART
	DimReason      = "Reason" // a reject reason code
	DimKind        = "Kind"   // what the reconciler visited: recording, account
	DimCall        = "Call"   // a call to an identity provider: token, revoke, unlink, unlink_callback
)

// Services, the values of DimService.
const (
	ServiceAPI        = "api"
	ServiceEvents     = "events"
	ServiceReconciler = "reconciler"
)

// Metric is one metric and the dimension sets it is published under.
type Metric struct {
	Name       string
	Unit       Unit
	Dimensions [][]string
}

// Every metric the backend emits.
var (
	// API: one per request, on the access log line.
	Requests = Metric{"Requests", Count, [][]string{{DimService, DimStatusClass}}}
	Latency  = Metric{"Latency", Milliseconds, [][]string{{DimService}, {DimService, DimRoute}}}
	Logins   = Metric{"Logins", Count, [][]string{{DimService, DimProvider, DimOutcome}}}
	// UploadsCreated counts new recordings by upload method.
	UploadsCreated = Metric{"UploadsCreated", Count, [][]string{{DimService}, {DimService, DimMethod}}}

	// Events handler and reconciler: one per converged recording.
	Confirmed      = Metric{"Confirmed", Count, [][]string{{DimService}}}
	Rejected       = Metric{"Rejected", Count, [][]string{{DimService}, {DimService, DimReason}}}
	OrphansRemoved = Metric{"OrphansRemoved", Count, [][]string{{DimService}}}
	// StaleEvents are events that changed nothing: duplicates, late or
	// reordered deliveries.
	StaleEvents = Metric{"StaleEvents", Count, [][]string{{DimService}}}
	// ConfirmationLatency runs from the object's creation in storage to its
	// record turning available.
	ConfirmationLatency = Metric{"ConfirmationLatency", Milliseconds, [][]string{{DimService}}}
	// BytesRead is what one audio check read of the object.
	BytesRead = Metric{"BytesRead", Bytes, [][]string{{DimService}}}

	// Reconciler: one line per pass.
	ReconcileExamined = Metric{"ReconcileExamined", Count, [][]string{{DimService, DimKind}}}
	ReconcileFixed    = Metric{"ReconcileFixed", Count, [][]string{{DimService, DimKind}}}

	// ProviderCalls counts calls to identity providers (Apple's token and
	// revoke endpoints, Kakao's unlink API) and Kakao's unlink callbacks, by
	// outcome: ok, failed (left due; the reconciler retries), abandoned
	// (retries exhausted or the token unreadable: an operator must look),
	// unauthorized (a callback with a bad key), unknown_user.
	ProviderCalls = Metric{"ProviderCalls", Count, [][]string{{DimService, DimProvider, DimCall, DimOutcome}}}
)

// All lists every metric, for infra/ and the tests.
var All = []Metric{Requests, Latency, Logins, UploadsCreated, Confirmed, Rejected, OrphansRemoved, StaleEvents,
	ConfirmationLatency, BytesRead, ReconcileExamined, ReconcileFixed, ProviderCalls}

// Value is one measurement.
type Value struct {
	Metric Metric
	Value  float64
}

// Attrs returns the slog attributes that make a log line an EMF record: the
// "_aws" directive, each metric's value and each dimension's value, all at
// the top level as EMF requires. dims must hold a value for every dimension
// the metrics name. Add them to the line's own attributes (one line per
// request or per record, not a second line).
func Attrs(now time.Time, dims map[string]string, values ...Value) []any {
	type metricDef struct {
		Name string `json:"Name"`
		Unit Unit   `json:"Unit"`
	}
	type directive struct {
		Namespace  string      `json:"Namespace"`
		Dimensions [][]string  `json:"Dimensions"`
		Metrics    []metricDef `json:"Metrics"`
	}
	// Metrics that share dimension sets share a directive entry.
	byDims := map[string]*directive{}
	var order []string
	attrs := make([]any, 0, 2+2*len(values)+2*len(dims))
	for _, v := range values {
		key := dimsKey(v.Metric.Dimensions)
		d, ok := byDims[key]
		if !ok {
			d = &directive{Namespace: Namespace, Dimensions: v.Metric.Dimensions}
			byDims[key] = d
			order = append(order, key)
		}
		d.Metrics = append(d.Metrics, metricDef{Name: v.Metric.Name, Unit: v.Metric.Unit})
		attrs = append(attrs, v.Metric.Name, v.Value)
		tally(v)
	}
	directives := make([]directive, 0, len(order))
	for _, k := range order {
		directives = append(directives, *byDims[k])
	}
	names := make([]string, 0, len(dims))
	for n := range dims {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		attrs = append(attrs, n, dims[n])
	}
	aws := map[string]any{"Timestamp": now.UnixMilli(), "CloudWatchMetrics": directives}
	return append([]any{slog.Any("_aws", aws)}, attrs...)
}

func dimsKey(sets [][]string) string {
	k := ""
	for _, s := range sets {
		for _, d := range s {
			k += d + ","
		}
		k += ";"
	}
	return k
}

// The process keeps running totals, so the local stack can print what an
// operator would see on the dashboard.
var (
	mu     sync.Mutex
	totals = map[string]float64{}
)

func tally(v Value) {
	if v.Metric.Unit != Count {
		return
	}
	mu.Lock()
	totals[v.Metric.Name] += v.Value
	mu.Unlock()
}

// Totals returns the running count of every Count metric emitted by this
// process so far.
func Totals() map[string]float64 {
	mu.Lock()
	defer mu.Unlock()
	out := make(map[string]float64, len(totals))
	for k, v := range totals {
		out[k] = v
	}
	return out
}

// StatusClass is "2xx", "4xx", ... for an HTTP status.
func StatusClass(status int) string {
	return string(rune('0'+status/100)) + "xx"
}

type serviceKey struct{}

// WithService marks ctx as work of one service (DimService), for code the
// API, the events handler and the reconciler share.
func WithService(ctx context.Context, service string) context.Context {
	return context.WithValue(ctx, serviceKey{}, service)
}

// ServiceFrom is the service ctx was marked with, or def.
func ServiceFrom(ctx context.Context, def string) string {
	if s, ok := ctx.Value(serviceKey{}).(string); ok {
		return s
	}
	return def
}
