package recorder

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/metrics"
	"github.com/voicerec/backend/internal/recording"
)

// AlarmTranscriptionsFailing names the alarm on failed transcription jobs.
const AlarmTranscriptionsFailing = "TranscriptionsFailingAlarm"

// TranscribeEventRule names the rule that brings Transcribe's job state
// changes to the events function.
const TranscribeEventRule = "TranscribeJobStateChange"

// transcriptionParts are what transcription adds to and needs from the
// stack.
type transcriptionParts struct {
	api, events, reconciler *function
	tables                  map[string]awsdynamodb.Table
	bucketARN               *string
	dlq                     awssqs.Queue
	env                     map[string]string // the stage's settings (p.Env)
}

// addTranscription turns on Amazon Transcribe for confirmed recordings.
// Transcribe reads the media and writes its output with the permissions
// of whoever starts the job (the events function at confirmation, the
// API for POST .../transcript, the reconciler for a confirmation it
// makes), so those roles, and only for these prefixes, are what bound
// it: read under recordings/, write under transcripts/.
func addTranscription(stack awscdk.Stack, stage string, p transcriptionParts) []alarmDef {
	objects := func(prefix string) *string {
		return awscdk.Fn_Join(jsii.String(""), &[]*string{p.bucketARN, jsii.String("/" + prefix + "*")})
	}
	jobs := awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":transcribe:"), awscdk.Aws_REGION(), jsii.String(":"),
		awscdk.Aws_ACCOUNT_ID(), jsii.String(":transcription-job/*"),
	})
	for _, f := range []*function{p.api, p.events, p.reconciler} {
		f.Function.AddEnvironment(jsii.String("TRANSCRIBE_ENABLED"), jsii.String("true"), nil)
		for _, k := range []string{"TRANSCRIBE_MINUTES_PER_MONTH", "TRANSCRIBE_LANGUAGES"} {
			if v, ok := p.env[k]; ok && f != p.api { // the API has the stage's settings already
				f.Function.AddEnvironment(jsii.String(k), jsii.String(v), nil)
			}
		}
		f.allow("StartTranscription", []string{"transcribe:StartTranscriptionJob", "transcribe:GetTranscriptionJob"}, jobs)
		// The job's output, written with this role's permission.
		f.allow("TranscriptOutput", []string{"s3:PutObject"}, objects(recording.TranscriptPrefix))
	}
	// The events function reads a finished job's output, stores the
	// segments and removes the output; the reconciler removes an
	// account's outputs (a prefix it must list).
	p.events.allow("TranscriptOutputRead", []string{"s3:GetObject", "s3:DeleteObject"}, objects(recording.TranscriptPrefix))
	p.events.allow("Transcripts", []string{"dynamodb:Query", "dynamodb:BatchWriteItem"}, p.tables[dynamo.TranscriptsTable].TableArn())
	p.reconciler.allow("TranscriptOutputDelete", []string{"s3:DeleteObject"}, objects(recording.TranscriptPrefix))
	p.reconciler.allowWithCondition("ListTranscriptOutputs", []string{"s3:ListBucket"}, p.bucketARN,
		map[string]any{"StringLike": map[string]any{"s3:prefix": []string{recording.TranscriptPrefix + "*"}}})

	for _, f := range []*function{p.api, p.events, p.reconciler} {
		cdknag.NagSuppressions_AddResourceSuppressions(f.Role, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("Transcription outputs are scoped to the transcripts/ prefix of this one bucket, and jobs " +
				"to this account's transcription jobs; job names and output keys are per user and per recording."),
			AppliesTo: &[]any{
				map[string]any{"regex": "/^Resource::.*/transcripts/\\*$/"},
				map[string]any{"regex": "/^Resource::.*:transcription-job/\\*$/"},
			},
		}}, jsii.Bool(true))
	}

	awsevents.NewRule(stack, jsii.String(TranscribeEventRule), &awsevents.RuleProps{
		RuleName:    jsii.String("recorder-" + stage + "-transcribe-jobs"),
		Description: jsii.String("Transcription jobs that finished, to the events function (docs/transcripts.md)"),
		EventPattern: &awsevents.EventPattern{
			// As internal/transcribe reads them; spelled here so the CDK
			// app needs no Transcribe SDK.
			Source:     jsii.Strings("aws.transcribe"),
			DetailType: jsii.Strings("Transcribe Job State Change"),
			Detail: &map[string]any{
				"TranscriptionJobStatus": []string{"COMPLETED", "FAILED"},
			},
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(p.events.Function, &awseventstargets.LambdaFunctionProps{
			// A result not stored stays in the bucket; after the retries
			// the event waits in the dead-letter queue for a replay.
			RetryAttempts:   jsii.Number(8),
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(24)),
			DeadLetterQueue: p.dlq,
		})},
	})

	return []alarmDef{{AlarmTranscriptionsFailing, &awscloudwatch.AlarmProps{
		AlarmName:        jsii.String(fmt.Sprintf("recorder-%s-transcriptions-failing", stage)),
		AlarmDescription: jsii.String("5 or more transcription jobs failed in 15 minutes; runbook: docs/operations.md#transcriptions-failing"),
		Metric:           codeMetric(metrics.TranscriptionsFailed, svc(metrics.ServiceEvents), "Sum", ""),
		Threshold:        jsii.Number(5), EvaluationPeriods: jsii.Number(3), DatapointsToAlarm: jsii.Number(3),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	}}}
}

// transcriptionWidgets are the dashboard's row on transcription: jobs
// started, completed and failed, minutes sent (what Transcribe bills),
// and the time from confirmation to a stored transcript.
func transcriptionWidgets() []awscloudwatch.IWidget {
	graph := func(title string, ms ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &ms, Width: jsii.Number(8), Height: jsii.Number(6),
		})
	}
	ev := svc(metrics.ServiceEvents)
	return []awscloudwatch.IWidget{
		graph("Transcription jobs",
			codeMetric(metrics.TranscriptionsStarted, ev, "Sum", "started"),
			codeMetric(metrics.TranscriptionsCompleted, ev, "Sum", "completed"),
			codeMetric(metrics.TranscriptionsFailed, ev, "Sum", "failed")),
		graph("Audio sent to Transcribe (seconds)", codeMetric(metrics.TranscribedSeconds, ev, "Sum", "seconds")),
		graph("Confirmation to transcript (ms)",
			codeMetric(metrics.TranscriptionLatency, ev, "p50", "p50"),
			codeMetric(metrics.TranscriptionLatency, ev, "p99", "p99")),
	}
}
