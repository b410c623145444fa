package recorder

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/metrics"
)

// codeMetric is a metric the code emits (internal/metrics), under one of
// the dimension sets the code publishes it with: anything else would plot
// an empty line, so it panics at synth.
func codeMetric(m metrics.Metric, dims map[string]string, stat, label string) awscloudwatch.Metric {
	names := make([]string, 0, len(dims))
	for n := range dims {
		names = append(names, n)
	}
	slices.Sort(names)
	published := false
	for _, set := range m.Dimensions {
		s := slices.Clone(set)
		slices.Sort(s)
		published = published || slices.Equal(s, names)
	}
	if !published {
		panic(fmt.Sprintf("metric %s is not published with dimensions %v", m.Name, names))
	}
	dm := map[string]*string{}
	for k, v := range dims {
		dm[k] = jsii.String(v)
	}
	props := &awscloudwatch.MetricProps{
		Namespace: jsii.String(metrics.Namespace), MetricName: jsii.String(m.Name), DimensionsMap: &dm,
		Statistic: jsii.String(stat), Period: awscdk.Duration_Minutes(jsii.Number(5)),
	}
	if label != "" { // a label would turn an alarm's metric into metric math
		props.Label = jsii.String(label)
	}
	return awscloudwatch.NewMetric(props)
}

func svc(service string) map[string]string { return map[string]string{metrics.DimService: service} }

type alarmDef struct {
	id    string
	props *awscloudwatch.AlarmProps
}

// Alarm names, for the runbook (docs/operations.md has one section each).
const (
	Alarm5xx                 = "Api5xxAlarm"
	AlarmConfirmationLatency = "ConfirmationLatencyAlarm"
	AlarmReconcilerFixes     = "ReconcilerFixesAlarm"
	AlarmAppleRevokeFailing  = "AppleRevokeFailingAlarm"
	AlarmKakaoUnlinkFailing  = "KakaoUnlinkFailingAlarm"
)

// codeAlarms watch what only the code can say: answers that failed, uploads
// that confirm slowly, and the reconciler repairing what the event path
// should have done (which means events are being lost or failing).
func codeAlarms(stage string, _ awssqs.Queue) []alarmDef {
	name := func(id string) *string {
		return jsii.String(fmt.Sprintf("recorder-%s-%s", stage, kebab(strings.TrimSuffix(id, "Alarm"))))
	}
	return []alarmDef{
		{Alarm5xx, &awscloudwatch.AlarmProps{
			AlarmName:        name(Alarm5xx),
			AlarmDescription: jsii.String("The API answered 5xx 5 or more times in 5 minutes; runbook: docs/operations.md#api-5xx"),
			Metric:           codeMetric(metrics.Requests, map[string]string{metrics.DimService: metrics.ServiceAPI, metrics.DimStatusClass: "5xx"}, "Sum", ""),
			Threshold:        jsii.Number(5), EvaluationPeriods: jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}},
		{AlarmConfirmationLatency, &awscloudwatch.AlarmProps{
			AlarmName:        name(AlarmConfirmationLatency),
			AlarmDescription: jsii.String("p99 confirmation latency over 60 s for 15 minutes; runbook: docs/operations.md#confirmation-latency"),
			Metric:           codeMetric(metrics.ConfirmationLatency, svc(metrics.ServiceEvents), "p99", ""),
			Threshold:        jsii.Number(60_000), EvaluationPeriods: jsii.Number(3),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}},
		{AlarmReconcilerFixes, &awscloudwatch.AlarmProps{
			AlarmName:        name(AlarmReconcilerFixes),
			AlarmDescription: jsii.String("The reconciler fixed 10 or more recordings in 15 minutes: the event path is failing; runbook: docs/operations.md#reconciler-fixes"),
			Metric: codeMetric(metrics.ReconcileFixed, map[string]string{metrics.DimService: metrics.ServiceReconciler, metrics.DimKind: "recording"}, "Sum", "").
				With(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(15))}),
			Threshold: jsii.Number(10), EvaluationPeriods: jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}},
		providerAlarm(name, AlarmAppleRevokeFailing, "apple", "revoke"),
		providerAlarm(name, AlarmKakaoUnlinkFailing, "kakao", "unlink"),
	}
}

// providerAlarm fires when the reconciler's retries of a provider call keep
// failing: deleted accounts whose provider side is not undone yet.
func providerAlarm(name func(string) *string, id, provider, call string) alarmDef {
	return alarmDef{id, &awscloudwatch.AlarmProps{
		AlarmName: name(id),
		AlarmDescription: jsii.String(fmt.Sprintf("%s %s failed 3 or more times in an hour in the reconciler's retries; runbook: docs/operations.md#provider-calls",
			provider, call)),
		Metric: codeMetric(metrics.ProviderCalls, map[string]string{metrics.DimService: metrics.ServiceReconciler,
			metrics.DimProvider: provider, metrics.DimCall: call, metrics.DimOutcome: "failed"}, "Sum", "").
			With(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Hours(jsii.Number(1))}),
		Threshold: jsii.Number(3), EvaluationPeriods: jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	}}
}

type dashboardParts struct {
	api, events, reconciler *function
	dlq                     awssqs.Queue
	tables                  map[string]awsdynamodb.Table
	bucketName              *string
}

// DashboardName is the stage's dashboard.
func DashboardName(stage string) string { return "recorder-" + stage }

func newDashboard(stack awscdk.Stack, stage string, p dashboardParts) {
	graph := func(title string, ms ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &ms, Width: jsii.Number(8), Height: jsii.Number(6),
		})
	}
	fns := []*function{p.api, p.events, p.reconciler}
	lambdaWidget := func(title string, m func(f *function) awscloudwatch.IMetric) awscloudwatch.IWidget {
		var ms []awscloudwatch.IMetric
		for _, f := range fns {
			ms = append(ms, m(f))
		}
		return graph(title, ms...)
	}
	five := awscdk.Duration_Minutes(jsii.Number(5))
	var ddbThrottles, ddbReads, ddbWrites []awscloudwatch.IMetric
	for _, name := range []string{dynamo.RecordingsTable, dynamo.UsersTable, dynamo.SessionsTable} {
		t := p.tables[name]
		ddbThrottles = append(ddbThrottles, awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/DynamoDB"), MetricName: jsii.String("ThrottledRequests"),
			DimensionsMap: &map[string]*string{"TableName": t.TableName(), "Operation": jsii.String("TransactWriteItems")},
			Statistic:     jsii.String("Sum"), Period: five, Label: jsii.String(name + " transactions"),
		}))
		ddbReads = append(ddbReads, t.MetricConsumedReadCapacityUnits(&awscloudwatch.MetricOptions{Period: five, Label: jsii.String(name)}))
		ddbWrites = append(ddbWrites, t.MetricConsumedWriteCapacityUnits(&awscloudwatch.MetricOptions{Period: five, Label: jsii.String(name)}))
	}
	var logGroups []*string
	for _, f := range fns {
		logGroups = append(logGroups, f.Logs.LogGroupName())
	}
	rows := [][]awscloudwatch.IWidget{
		{
			graph("Uploads: created, confirmed, rejected",
				codeMetric(metrics.UploadsCreated, svc(metrics.ServiceAPI), "Sum", "created"),
				codeMetric(metrics.Confirmed, svc(metrics.ServiceEvents), "Sum", "confirmed by events"),
				codeMetric(metrics.Confirmed, svc(metrics.ServiceReconciler), "Sum", "confirmed by the reconciler"),
				codeMetric(metrics.Rejected, svc(metrics.ServiceEvents), "Sum", "rejected")),
			graph("Confirmation latency (ms)",
				codeMetric(metrics.ConfirmationLatency, svc(metrics.ServiceEvents), "p50", "p50"),
				codeMetric(metrics.ConfirmationLatency, svc(metrics.ServiceEvents), "p99", "p99")),
			graph("Reconciler: examined and fixed",
				codeMetric(metrics.ReconcileFixed, map[string]string{metrics.DimService: metrics.ServiceReconciler, metrics.DimKind: "recording"}, "Sum", "recordings fixed"),
				codeMetric(metrics.ReconcileFixed, map[string]string{metrics.DimService: metrics.ServiceReconciler, metrics.DimKind: "account"}, "Sum", "accounts finished"),
				codeMetric(metrics.ReconcileExamined, map[string]string{metrics.DimService: metrics.ServiceReconciler, metrics.DimKind: "recording"}, "Sum", "recordings examined"),
				codeMetric(metrics.OrphansRemoved, svc(metrics.ServiceEvents), "Sum", "orphans removed"),
				codeMetric(metrics.StaleEvents, svc(metrics.ServiceEvents), "Sum", "stale or duplicate events")),
		},
		{
			graph("API answers: 4xx and 5xx",
				codeMetric(metrics.Requests, map[string]string{metrics.DimService: metrics.ServiceAPI, metrics.DimStatusClass: "4xx"}, "Sum", "4xx"),
				codeMetric(metrics.Requests, map[string]string{metrics.DimService: metrics.ServiceAPI, metrics.DimStatusClass: "5xx"}, "Sum", "5xx")),
			graph("API latency (ms)",
				codeMetric(metrics.Latency, svc(metrics.ServiceAPI), "p50", "p50"),
				codeMetric(metrics.Latency, svc(metrics.ServiceAPI), "p99", "p99")),
			graph("Events dead-letter queue depth",
				p.dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")})),
		},
		{
			lambdaWidget("Lambda errors", func(f *function) awscloudwatch.IMetric {
				return f.Function.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Label: jsii.String(f.id)})
			}),
			lambdaWidget("Lambda throttles", func(f *function) awscloudwatch.IMetric {
				return f.Function.MetricThrottles(&awscloudwatch.MetricOptions{Period: five, Label: jsii.String(f.id)})
			}),
			lambdaWidget("Lambda duration p99 (ms)", func(f *function) awscloudwatch.IMetric {
				return f.Function.MetricDuration(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("p99"), Label: jsii.String(f.id)})
			}),
		},
		{
			lambdaWidget("Lambda concurrent executions", func(f *function) awscloudwatch.IMetric {
				return f.Function.Metric(jsii.String("ConcurrentExecutions"), &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum"), Label: jsii.String(f.id)})
			}),
			graph("DynamoDB throttled transactions", ddbThrottles...),
			graph("DynamoDB consumed capacity (reads, writes)", append(ddbReads, ddbWrites...)...),
		},
		{
			graph("Bucket size (bytes)", awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace: jsii.String("AWS/S3"), MetricName: jsii.String("BucketSizeBytes"),
				DimensionsMap: &map[string]*string{"BucketName": p.bucketName, "StorageType": jsii.String("StandardStorage")},
				Statistic:     jsii.String("Average"), Period: awscdk.Duration_Days(jsii.Number(1)),
			})),
			awscloudwatch.NewLogQueryWidget(&awscloudwatch.LogQueryWidgetProps{
				Title: jsii.String("Last errors (all functions)"), LogGroupNames: &logGroups, Width: jsii.Number(16), Height: jsii.Number(6),
				QueryLines: jsii.Strings(
					"fields @timestamp, @log, msg, error, request_id, key",
					`filter level = "ERROR"`,
					"sort @timestamp desc",
					"limit 50"),
			}),
		},
		{
			awscloudwatch.NewLogQueryWidget(&awscloudwatch.LogQueryWidgetProps{
				Title: jsii.String("One request, by id (edit the id in the query)"), LogGroupNames: &logGroups,
				Width: jsii.Number(24), Height: jsii.Number(6),
				QueryLines: jsii.Strings(
					"fields @timestamp, msg, method, route, status, latency_ms, user_id, error",
					`filter request_id = "PASTE-REQUEST-ID"`,
					"sort @timestamp asc"),
			}),
		},
	}
	rows = append(rows, transcriptionWidgets())
	widgets := make([]*[]awscloudwatch.IWidget, len(rows))
	for i := range rows {
		widgets[i] = &rows[i]
	}
	awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(DashboardName(stage)),
		Widgets:       &widgets,
	})
}
