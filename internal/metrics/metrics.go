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
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
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
	attrs := make([]any, 1, 1+2*len(values)+2*len(dims))
	attrs[0] = slog.Any("_aws", directive{millis: now.UnixMilli(), metrics: metricDirectives(values)})
	for _, v := range values {
		attrs = append(attrs, v.Metric.Name, v.Value)
		tally(v)
	}
	names := make([]string, 0, len(dims))
	for n := range dims {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		attrs = append(attrs, n, dims[n])
	}
	return attrs
}

// directive is the "_aws" object. Only its timestamp changes from line to
// line; the metric directives, which depend only on which metrics the line
// carries, are marshalled once per set of metrics.
type directive struct {
	millis  int64
	metrics []byte // the CloudWatchMetrics array, JSON
}

// MarshalJSON writes what marshalling the map {"Timestamp": millis,
// "CloudWatchMetrics": [...]} wrote before the cache: keys in sorted order.
func (d directive) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(`{"CloudWatchMetrics":,"Timestamp":}`)+len(d.metrics)+20)
	b = append(b, `{"CloudWatchMetrics":`...)
	b = append(b, d.metrics...)
	b = append(b, `,"Timestamp":`...)
	b = strconv.AppendInt(b, d.millis, 10)
	return append(b, '}'), nil
}

// cachedSets bounds the directive cache by key size: a line carries at most
// this many metrics to be cached (the API's lines carry two to four);
// longer ones are marshalled each time.
const cachedSets = 4

// directiveKey names a set of metrics in order, without allocating.
type directiveKey [cachedSets]string

// The directives marshalled so far, by the metrics they describe. A
// handful of sets exist (metrics are fixed at build time), so it only grows
// to that handful.
var directiveCache sync.Map // directiveKey → []byte

func metricDirectives(values []Value) []byte {
	if len(values) > cachedSets {
		return marshalDirectives(values)
	}
	var k directiveKey
	for i, v := range values {
		k[i] = v.Metric.Name
	}
	if b, ok := directiveCache.Load(k); ok {
		return b.([]byte)
	}
	b := marshalDirectives(values)
	directiveCache.Store(k, b)
	return b
}

// marshalDirectives builds the CloudWatchMetrics array: metrics that share
// dimension sets share a directive entry, in the order they first appear.
func marshalDirectives(values []Value) []byte {
	b, err := json.Marshal(directives(values))
	if err != nil {
		panic(fmt.Sprintf("metrics: marshal directives: %v", err)) // plain strings and slices cannot fail
	}
	return b
}

type metricDef struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit"`
}

type metricDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

func directives(values []Value) []metricDirective {
	byDims := map[string]*metricDirective{}
	var order []string
	for _, v := range values {
		key := dimsKey(v.Metric.Dimensions)
		d, ok := byDims[key]
		if !ok {
			d = &metricDirective{Namespace: Namespace, Dimensions: v.Metric.Dimensions}
			byDims[key] = d
			order = append(order, key)
		}
		d.Metrics = append(d.Metrics, metricDef{Name: v.Metric.Name, Unit: v.Metric.Unit})
	}
	out := make([]metricDirective, 0, len(order))
	for _, k := range order {
		out = append(out, *byDims[k])
	}
	return out
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
