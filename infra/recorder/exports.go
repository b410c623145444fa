package recorder

import (
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

const (
	// ExportFunctionID is the export worker: the events binary started by
	// the export queue.
	ExportFunctionID = "ExportFunction"
	// ExportTimeoutSeconds is one attempt's bound, Lambda's most; the
	// worker's EXPORT_WORKER_TIMEOUT is the same.
	ExportTimeoutSeconds = 900
	// ExportMemoryMB buys the CPU that hashing and network copying need;
	// the worker's own memory stays under 128 MiB whatever the archive.
	ExportMemoryMB = 512
	// ExportMaxReceives is how many times the queue delivers an export's
	// message before it goes to the dead-letter queue: internal/export's
	// MaxAttempts, which records the last attempt's failure on the export.
	ExportMaxReceives = 3
	// defaultExportRetention is EXPORT_RETENTION's default.
	defaultExportRetention = 7 * 24 * time.Hour
)

type exportParts struct {
	stage, prefix, zip    string
	bucket                awss3.Bucket
	bucketName, bucketARN *string
	tables                map[string]awsdynamodb.Table
	api, reconciler       *function
	env                   map[string]string // the stage's settings (EXPORT_RETENTION)
}

// addExports adds the export worker: its queue and dead-letter queue, its
// function and least-privilege role, what the API and the reconciler may
// do with archives, and the bucket's lifecycle rule on exports/.
func addExports(stack awscdk.Stack, p exportParts) (fn *function, dlq awssqs.Queue) {
	retention := defaultExportRetention
	if v, ok := p.env["EXPORT_RETENTION"]; ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			panic(fmt.Sprintf("EXPORT_RETENTION %q: %v", v, err))
		}
		retention = d
	}
	dlq = awssqs.NewQueue(stack, jsii.String("ExportDeadLetterQueue"), &awssqs.QueueProps{
		QueueName:       jsii.String("recorder-" + p.stage + "-exports-dlq"),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
	})
	queue := awssqs.NewQueue(stack, jsii.String("ExportQueue"), &awssqs.QueueProps{
		QueueName: jsii.String("recorder-" + p.stage + "-exports"),
		// A message is redelivered only after an attempt has surely ended.
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(ExportTimeoutSeconds + 60)),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(1)),
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(ExportMaxReceives)},
	})
	fn = newFunction(stack, ExportFunctionID, p.zip, "exports: one ZIP of a user's recordings, streamed", map[string]*string{
		"DYNAMODB_TABLE_PREFIX": jsii.String(p.prefix), "S3_BUCKET": p.bucketName, "LOG_FORMAT": jsii.String("json"),
		"EXPORT_RETENTION":      jsii.String(retention.String()),
		"EXPORT_WORKER_TIMEOUT": jsii.String(fmt.Sprintf("%ds", ExportTimeoutSeconds)),
		// The transfer manager's part buffers are the heap; the limit keeps
		// the garbage collector's goal well inside the function.
		"GOMEMLIMIT": jsii.String("96MiB"),
	}, ExportMemoryMB, ExportTimeoutSeconds)
	fn.Function.AddEventSource(awslambdaeventsources.NewSqsEventSource(queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize: jsii.Number(1), // one archive fills an invocation
	}))

	exportsTable := p.tables[dynamo.ExportsTable].TableArn()
	recordingsByStatus := jsii.String(*p.tables[dynamo.RecordingsTable].TableArn() + "/index/" + dynamo.RecordingsByStateIndex)
	recordingObjects := awscdk.Fn_Join(jsii.String(""), &[]*string{p.bucketARN, jsii.String("/" + recording.KeyPrefix + "*")})
	archives := awscdk.Fn_Join(jsii.String(""), &[]*string{p.bucketARN, jsii.String("/" + recording.ExportPrefix + "*")})
	listArchives := map[string]any{"StringLike": map[string]any{"s3:prefix": []string{recording.ExportPrefix + "*"}}}

	// The worker reads any user's recordings and writes only archives.
	fn.allow("Exports", []string{"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}, exportsTable)
	fn.allow("ListRecordings", []string{"dynamodb:Query"}, recordingsByStatus)
	fn.allow("ReadRecordings", []string{"s3:GetObject"}, recordingObjects)
	fn.allow("WriteArchives", []string{"s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"}, archives)
	// Listing uploads is of the bucket: S3 documents no s3:prefix condition
	// for it. The worker lists only its own archive's key.
	fn.allow("ListUploads", []string{"s3:ListBucketMultipartUploads"}, p.bucketARN)

	// The API signs downloads of archives and starts the worker; it and
	// the reconciler delete an account's archives with the account.
	p.api.allow("Archives", []string{"s3:GetObject", "s3:DeleteObject"}, archives)
	for _, f := range []*function{p.api, p.reconciler} {
		f.allowWithCondition("ListArchives", []string{"s3:ListBucket"}, p.bucketARN, listArchives)
	}
	p.api.allow("StartExports", []string{"sqs:SendMessage"}, queue.QueueArn())
	p.api.Function.AddEnvironment(jsii.String("EXPORT_QUEUE_URL"), queue.QueueUrl(), nil)
	p.api.Function.AddEnvironment(jsii.String("EXPORT_RETENTION"), jsii.String(retention.String()), nil)
	p.api.Function.AddEnvironment(jsii.String("EXPORT_WORKER_TIMEOUT"), jsii.String(fmt.Sprintf("%ds", ExportTimeoutSeconds)), nil)

	// The reconciler deletes expired archives and aborts what a killed
	// worker left; its DynamoDB access already spans every table. Listing
	// uploads is of the whole bucket (MinIO lists none for a prefix that is
	// not a key, and the code is the same everywhere).
	p.reconciler.allow("Archives", []string{"s3:DeleteObject", "s3:AbortMultipartUpload"}, archives)
	p.reconciler.allow("ListUploads", []string{"s3:ListBucketMultipartUploads"}, p.bucketARN)
	p.reconciler.Function.AddEnvironment(jsii.String("EXPORT_WORKER_TIMEOUT"), jsii.String(fmt.Sprintf("%ds", ExportTimeoutSeconds)), nil)

	// A backstop to the reconciler's deletion at the record's expiry: S3
	// counts whole days from creation, so one more day never deletes an
	// archive whose link is still valid. Standard is the cheapest class for
	// a week: every infrequent-access class bills at least 30 days.
	p.bucket.AddLifecycleRule(&awss3.LifecycleRule{
		Id:                                  jsii.String("exports-expire"),
		Prefix:                              jsii.String(recording.ExportPrefix),
		Expiration:                          awscdk.Duration_Days(jsii.Number(math.Ceil(retention.Hours()/24) + 1)),
		AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
	})

	cdknag.NagSuppressions_AddResourceSuppressions(dlq, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter destination of the export queue."),
	}}, jsii.Bool(true))
	archivesRegex := map[string]any{"regex": "/^Resource::.*/(recordings|exports)/\\*$/"}
	for _, f := range []*function{fn, p.api, p.reconciler} {
		cdknag.NagSuppressions_AddResourceSuppressions(f.Role, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("Archive permissions are scoped to the exports/ prefix of this one bucket; " +
				"archive keys are per user and per export, so no narrower static ARN exists."),
			AppliesTo: &[]any{archivesRegex},
		}}, jsii.Bool(true))
	}
	return fn, dlq
}

// exportDeadLettersAlarm fires when an export's message failed every
// attempt and waits in the dead-letter queue.
func exportDeadLettersAlarm(stack awscdk.Stack, stage string, dlq awssqs.Queue, topic awssns.Topic) {
	alarm := awscloudwatch.NewAlarm(stack, jsii.String("ExportDeadLettersAlarm"), &awscloudwatch.AlarmProps{
		AlarmName:          jsii.String("recorder-" + stage + "-export-dead-letters"),
		AlarmDescription:   jsii.String("an export failed every attempt; its message waits in the dead-letter queue"),
		Metric:             dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5))}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
}
