// Package recorder declares the backend's AWS deployment: the recordings
// bucket, the DynamoDB tables (from the same Go schema the local stack
// uses), the API and events Lambdas, the HTTP API, alarms, and a
// least-privilege role per function.
package recorder

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/metrics"
	"github.com/voicerec/backend/internal/recording"
)

// Props configure one stage.
type Props struct {
	awscdk.StackProps
	// Stage names the deployment (dev, prod); it is part of every resource
	// name, so stages can share an account.
	Stage string
	// APIZip and EventsZip are the Lambda artifacts `make build` writes.
	APIZip, EventsZip string
	// Retain keeps tables and the bucket when the stack is deleted; only
	// throwaway stages turn it off.
	Retain bool
	// CORSOrigins are the web origins that may call the API and PUT and GET
	// objects from a browser: one list for the HTTP API's CORS, the bucket's
	// CORS and the API's CORS_ALLOWED_ORIGINS.
	CORSOrigins []string
	// Env is extra configuration for the API (client IDs, limits), by the
	// names the README documents.
	Env map[string]string
	// AlarmEmail, when set, is subscribed to the alarm topic.
	AlarmEmail string
	// ThrottleRate and ThrottleBurst bound the HTTP API stage.
	ThrottleRate, ThrottleBurst float64
	// Apple, when set, turns on Sign in with Apple token revocation.
	Apple *AppleProps
	// Kakao, when set, turns on Kakao unlink (the callback and the API).
	Kakao *KakaoProps
}

// AppleProps name the team's Sign in with Apple key. The private key (the
// .p8 file's PEM text) lives in Secrets Manager, made by the operator;
// only the functions that call Apple may read it.
type AppleProps struct {
	TeamID, KeyID       string
	PrivateKeySecretARN string
}

// KakaoProps name the Kakao app; its admin key lives in Secrets Manager.
type KakaoProps struct {
	AppID             string
	AdminKeySecretARN string
}

// Names of what the stack creates, for tests and outputs.
const (
	APIFunctionID        = "ApiFunction"
	EventsFunctionID     = "EventsFunction"
	ReconcilerFunctionID = "ReconcilerFunction"
	logRetention         = awslogs.RetentionDays_ONE_MONTH
)

// TablePrefix is the stage's table-name prefix.
func TablePrefix(stage string) string { return "recorder-" + stage + "-" }

// New declares the stack.
func New(scope constructs.Construct, id string, p Props) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &p.StackProps)
	removal := awscdk.RemovalPolicy_RETAIN
	if !p.Retain {
		removal = awscdk.RemovalPolicy_DESTROY
	}
	prefix := TablePrefix(p.Stage)

	// --- storage
	tables := map[string]awsdynamodb.Table{}
	for _, t := range dynamo.Schema {
		tables[t.Name] = newTable(stack, prefix, t, removal)
	}
	// The bucket's name is computed rather than referenced, so the events
	// function's invoke permission can name it before the bucket exists (S3
	// checks the permission when notifications are set).
	bucketName := awscdk.Fn_Join(jsii.String("-"), &[]*string{
		jsii.String("recorder-" + p.Stage), awscdk.Aws_ACCOUNT_ID(), awscdk.Aws_REGION(),
	})
	bucketARN := awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":s3:::"), bucketName,
	})
	objectsARN := awscdk.Fn_Join(jsii.String(""), &[]*string{bucketARN, jsii.String("/" + recording.KeyPrefix + "*")})

	// --- functions
	env := map[string]*string{
		"DYNAMODB_TABLE_PREFIX": jsii.String(prefix),
		"S3_BUCKET":             bucketName,
		"LOG_FORMAT":            jsii.String("json"),
		// The API's GC setting, chosen by measurement (docs/performance.md);
		// the soft memory limit keeps the larger heap goal inside the
		// function's memory. Stage settings (p.Env) may override both.
		"GOGC":       jsii.String(APIGOGC),
		"GOMEMLIMIT": jsii.String(fmt.Sprintf("%dMiB", apiMemoryMB*8/10)),
	}
	for k, v := range p.Env {
		env[k] = jsii.String(v)
	}
	if len(p.CORSOrigins) > 0 {
		env["CORS_ALLOWED_ORIGINS"] = jsii.String(strings.Join(p.CORSOrigins, ","))
	}
	// Provider settings go to the API and to the reconciler, which both
	// finish account deletions; secrets are named, never inlined.
	providerEnv := map[string]*string{}
	var tokenKey awskms.Key
	if p.Apple != nil {
		// Refresh tokens are sealed with data keys from this key
		// (envelope encryption; internal/providers.KMSSealer).
		tokenKey = awskms.NewKey(stack, jsii.String("ProviderTokenKey"), &awskms.KeyProps{
			Description:       jsii.String("recorder-" + p.Stage + ": seals Sign in with Apple refresh tokens"),
			EnableKeyRotation: jsii.Bool(true),
			RemovalPolicy:     removal,
		})
		providerEnv["APPLE_TEAM_ID"] = jsii.String(p.Apple.TeamID)
		providerEnv["APPLE_KEY_ID"] = jsii.String(p.Apple.KeyID)
		providerEnv["APPLE_PRIVATE_KEY_SECRET"] = jsii.String(p.Apple.PrivateKeySecretARN)
		providerEnv["TOKEN_KMS_KEY_ID"] = tokenKey.KeyArn()
	}
	if p.Kakao != nil {
		providerEnv["KAKAO_APP_ID"] = jsii.String(p.Kakao.AppID)
		providerEnv["KAKAO_ADMIN_KEY_SECRET"] = jsii.String(p.Kakao.AdminKeySecretARN)
	}
	for k, v := range providerEnv {
		env[k] = v
	}
	apiFn := newFunction(stack, APIFunctionID, p.APIZip, "the HTTP API", env, apiMemoryMB, 29)
	eventsFn := newFunction(stack, EventsFunctionID, p.EventsZip, "S3 events: upload confirmation", map[string]*string{
		"DYNAMODB_TABLE_PREFIX": jsii.String(prefix), "S3_BUCKET": bucketName, "LOG_FORMAT": jsii.String("json"),
	}, 256, 60)
	// A complete converges through the events function, invoked
	// synchronously, so the probe's ranged reads of audio stay in it. The
	// API's REQUEST_TIMEOUT (10 s by default, under this function's 29 s)
	// bounds the invoke; the events handler bounds one convergence at 15 s.
	apiFn.allow("ConvergeThroughEvents", []string{"lambda:InvokeFunction"}, eventsFn.Function.FunctionArn())
	apiFn.Function.AddEnvironment(jsii.String("EVENTS_FUNCTION_NAME"), eventsFn.Function.FunctionName(), nil)

	// The reconciler is the events binary invoked by a schedule (it tells
	// a scheduled event from an S3 one), with a role of its own: finishing
	// account deletions needs deletes the S3 event path never makes.
	reconcilerEnv := map[string]*string{
		"DYNAMODB_TABLE_PREFIX": jsii.String(prefix), "S3_BUCKET": bucketName, "LOG_FORMAT": jsii.String("json"),
		"RECONCILE_MAX_ITEMS": jsii.String("5000"),
	}
	for k, v := range providerEnv {
		reconcilerEnv[k] = v
	}
	reconcilerFn := newFunction(stack, ReconcilerFunctionID, p.EventsZip, "the reconciler: finishes what events and clients left half done", reconcilerEnv, 256, 300)
	awsevents.NewRule(stack, jsii.String("ReconcileSchedule"), &awsevents.RuleProps{
		RuleName:    jsii.String("recorder-" + p.Stage + "-reconcile"),
		Description: jsii.String("Runs the reconciler; docs/durability.md"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(ReconcileEveryMinutes))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(reconcilerFn.Function, &awseventstargets.LambdaFunctionProps{
			// A missed pass is made up by the next one.
			RetryAttempts: jsii.Number(0),
		})},
	})

	dlq := awssqs.NewQueue(stack, jsii.String("EventsDeadLetterQueue"), &awssqs.QueueProps{
		QueueName:       jsii.String("recorder-" + p.Stage + "-events-dlq"),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
	})
	// S3 invokes the function asynchronously: Lambda retries twice, then
	// hands the event to the queue for an operator to replay.
	eventsFn.Function.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(2),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(6)),
		OnFailure:     awslambdadestinations.NewSqsDestination(dlq),
	})

	// --- least privilege
	tableARNs := func(names ...string) []*string {
		var arns []*string
		for _, n := range names {
			arns = append(arns, tables[n].TableArn())
		}
		return arns
	}
	indexARNs := func() []*string {
		var arns []*string
		for _, t := range dynamo.Schema {
			for _, ix := range t.Indexes {
				arns = append(arns, jsii.String(*tables[t.Name].TableArn()+"/index/"+ix.Name))
			}
		}
		return arns
	}
	allTables := make([]string, 0, len(dynamo.Schema))
	for _, t := range dynamo.Schema {
		allTables = append(allTables, t.Name)
	}
	apiFn.allow("DynamoDB", []string{
		"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
		"dynamodb:ConditionCheckItem", "dynamodb:Query", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable",
	}, tableARNs(allTables...)...)
	apiFn.allow("DynamoDBIndexes", []string{"dynamodb:Query"}, indexARNs()...)
	// Search reads the hits' records and snippet segments in one
	// BatchGetItem, across the recordings and search tables.
	apiFn.allow("SearchResults", []string{"dynamodb:BatchGetItem"},
		tableARNs(dynamo.RecordingsTable, dynamo.SearchTable)...)
	// A guarded read of one recording, and the devices list, read the
	// session in the same BatchGetItem (dynamo.Store.getWithSession).
	apiFn.allow("SessionReads", []string{"dynamodb:BatchGetItem"}, tableARNs(dynamo.SessionsTable)...)
	// PutObject also covers CreateMultipartUpload, UploadPart (signed for
	// clients) and CompleteMultipartUpload; a delete or an account deletion
	// aborts a pending multipart upload, and GET .../parts reads ListParts.
	// An upload URL signs the object's tags (x-amz-tagging), and S3 checks
	// the signer may tag: without PutObjectTagging every upload is refused.
	apiFn.allow("RecordingObjects", []string{
		"s3:PutObject", "s3:PutObjectTagging", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
	}, objectsARN)
	// Listing is needed to delete an account's objects by prefix, and is
	// what HeadBucket (the readiness check) requires. HeadBucket carries no
	// prefix, hence IfExists.
	listRecordings := map[string]any{"StringLikeIfExists": map[string]any{"s3:prefix": []string{recording.KeyPrefix + "*"}}}
	apiFn.allowWithCondition("ListRecordings", []string{"s3:ListBucket"}, bucketARN, listRecordings)

	eventsFn.allow("DynamoDB", []string{"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
		tableARNs(dynamo.RecordingsTable, dynamo.UsersTable)...)
	// A finished transcript is indexed where its completion arrives, and
	// a purge the events path finishes takes the recording out of the index.
	eventsFn.allow("SearchIndex", []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchWriteItem"},
		tableARNs(dynamo.SearchTable)...)
	// The Keeper aborts the multipart upload of a recording being deleted
	// or whose window is over, whoever runs it. It tags nothing: objects
	// are tagged by their upload.
	eventsFn.allow("RecordingObjects", []string{"s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"}, objectsARN)
	// Without ListBucket, S3 answers HeadObject on a missing key with 403
	// instead of 404, and the handler could not tell "gone" from "denied".
	eventsFn.allowWithCondition("ListRecordings", []string{"s3:ListBucket"}, bucketARN, listRecordings)

	reconcilerFn.allow("DynamoDB", []string{
		"dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem",
	}, tableARNs(allTables...)...)
	reconcilerFn.allow("DynamoDBIndexes", []string{"dynamodb:Query"}, indexARNs()...)
	// Every state change a user can see writes its change feed entry in
	// its own transaction (a Put of the entry, an Update of the feed's
	// head, read first when the remembered head is stale), whoever makes it.
	eventsFn.allow("ChangeFeed", []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, tableARNs(dynamo.ChangesTable)...)
	reconcilerFn.allow("ChangeFeed", []string{"dynamodb:PutItem"}, tableARNs(dynamo.ChangesTable)...)
	reconcilerFn.allow("RecordingObjects", []string{"s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"}, objectsARN)
	reconcilerFn.allowWithCondition("ListRecordings", []string{"s3:ListBucket"}, bucketARN, listRecordings)

	// Provider secrets: each function reads exactly the secrets named, and
	// the token key only as its code uses it (the API seals and opens, the
	// reconciler only opens).
	var secrets []*string
	if p.Apple != nil {
		secrets = append(secrets, jsii.String(p.Apple.PrivateKeySecretARN))
	}
	if p.Kakao != nil {
		secrets = append(secrets, jsii.String(p.Kakao.AdminKeySecretARN))
	}
	if len(secrets) > 0 {
		apiFn.allow("ProviderSecrets", []string{"secretsmanager:GetSecretValue"}, secrets...)
		reconcilerFn.allow("ProviderSecrets", []string{"secretsmanager:GetSecretValue"}, secrets...)
	}
	if tokenKey != nil {
		apiFn.allow("ProviderTokenKey", []string{"kms:GenerateDataKey", "kms:Decrypt"}, tokenKey.KeyArn())
		reconcilerFn.allow("ProviderTokenKey", []string{"kms:Decrypt"}, tokenKey.KeyArn())
	}

	// --- bucket
	eventsFn.Function.AddPermission(jsii.String("InvokeFromBucket"), &awslambda.Permission{
		Principal:     awsiam.NewServicePrincipal(jsii.String("s3.amazonaws.com"), nil),
		Action:        jsii.String("lambda:InvokeFunction"),
		SourceArn:     bucketARN,
		SourceAccount: awscdk.Aws_ACCOUNT_ID(),
	})
	bucket := awss3.NewBucket(stack, jsii.String("Recordings"), &awss3.BucketProps{
		BucketName:        bucketName,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     removal,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			// A backstop only: the reconciler aborts an upload at its due
			// time (MULTIPART_UPLOAD_TTL, 24 h, plus UPLOAD_GRACE). One day
			// could abort an upload completing in its grace period.
			Id:                                  jsii.String("abort-incomplete-multipart-uploads"),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(2)),
		}, {
			// Most recordings are never played after their first week:
			// Intelligent-Tiering moves each to cheaper tiers after 30 and
			// 90 days without access, with no retrieval delay or fee. It
			// does not tier objects under 128 KiB, so those stay Standard
			// rather than pay for a transition that saves nothing.
			Id:                    jsii.String("recordings-to-intelligent-tiering"),
			Prefix:                jsii.String(recording.KeyPrefix),
			ObjectSizeGreaterThan: jsii.Number(IntelligentTieringMinBytes),
			Transitions: &[]*awss3.Transition{{
				StorageClass:    awss3.StorageClass_INTELLIGENT_TIERING(),
				TransitionAfter: awscdk.Duration_Days(jsii.Number(0)),
			}},
		}},
	})
	// Notifications are declared on the bucket itself instead of through
	// CDK's notification custom resource, whose role needs s3:* on "*".
	cfnBucket := bucket.Node().DefaultChild().(awss3.CfnBucket)
	var lambdaConfigs []any
	for _, ev := range NotificationEvents {
		lambdaConfigs = append(lambdaConfigs, &awss3.CfnBucket_LambdaConfigurationProperty{
			Event:    jsii.String(ev),
			Function: eventsFn.Function.FunctionArn(),
			Filter: &awss3.CfnBucket_NotificationFilterProperty{S3Key: &awss3.CfnBucket_S3KeyFilterProperty{
				Rules: &[]any{&awss3.CfnBucket_FilterRuleProperty{Name: jsii.String("prefix"), Value: jsii.String(recording.KeyPrefix)}},
			}},
		})
	}
	cfnBucket.SetNotificationConfiguration(&awss3.CfnBucket_NotificationConfigurationProperty{LambdaConfigurations: &lambdaConfigs})
	bucket.Node().AddDependency(eventsFn.Function.Node().FindChild(jsii.String("InvokeFromBucket")))

	// --- exports (infra/recorder/exports.go)
	exportFn, exportDLQ := addExports(stack, exportParts{
		stage: p.Stage, prefix: prefix, zip: p.EventsZip, bucket: bucket, bucketName: bucketName, bucketARN: bucketARN,
		tables: tables, api: apiFn, reconciler: reconcilerFn, env: p.Env,
	})

	// --- HTTP API
	httpAPI := awsapigatewayv2.NewHttpApi(stack, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String("recorder-" + p.Stage),
		CreateDefaultStage: jsii.Bool(false),
		DefaultIntegration: awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("Api"), apiFn.Function, nil),
		CorsPreflight:      apiCORS(p.CORSOrigins),
	})
	// The web companion (/app/) is served by this API, so the API's own
	// origin uploads to and plays from the bucket like any listed origin.
	bucket.AddCorsRule(corsRule(append(*jsii.Strings(p.CORSOrigins...), httpAPI.ApiEndpoint())))
	accessLogs := awslogs.NewLogGroup(stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/recorder/" + p.Stage + "/api-access"),
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	stage := awsapigatewayv2.NewHttpStage(stack, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    httpAPI,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle:   &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(p.ThrottleRate), BurstLimit: jsii.Number(p.ThrottleBurst)},
	})
	stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format:         jsii.String(metrics.GatewayAccessLogFormat),
	})
	addShareRoutes(httpAPI, stage, apiFn.Function, p)

	// --- alarms
	topic := awssns.NewTopic(stack, jsii.String("Alarms"), &awssns.TopicProps{
		TopicName:  jsii.String("recorder-" + p.Stage + "-alarms"),
		EnforceSSL: jsii.Bool(true),
		MasterKey:  awskms.Alias_FromAliasName(stack, jsii.String("SnsKey"), jsii.String("alias/aws/sns")),
	})
	if p.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(p.AlarmEmail), nil))
	}
	five := awscdk.Duration_Minutes(jsii.Number(5))
	for _, a := range []struct {
		id, what string
		metric   awscloudwatch.IMetric
	}{
		{"EventsErrorsAlarm", "the events function failed", eventsFn.Function.MetricErrors(&awscloudwatch.MetricOptions{Period: five})},
		{"EventsDeadLettersAlarm", "S3 events gave up on are waiting in the dead-letter queue",
			dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")})},
		{"ApiErrorsAlarm", "the API function failed (not 4xx/5xx answers: crashes and timeouts)", apiFn.Function.MetricErrors(&awscloudwatch.MetricOptions{Period: five})},
		{"ReconcilerErrorsAlarm", "a reconcile pass failed; nothing converges while it does", reconcilerFn.Function.MetricErrors(&awscloudwatch.MetricOptions{Period: five})},
	} {
		alarm := awscloudwatch.NewAlarm(stack, jsii.String(a.id), &awscloudwatch.AlarmProps{
			AlarmName:          jsii.String(fmt.Sprintf("recorder-%s-%s", p.Stage, kebab(strings.TrimSuffix(a.id, "Alarm")))),
			AlarmDescription:   jsii.String(a.what),
			Metric:             a.metric,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
	}
	transcriptionAlarms := addTranscription(stack, p.Stage, transcriptionParts{
		api: apiFn, events: eventsFn, reconciler: reconcilerFn, tables: tables, bucketARN: bucketARN, dlq: dlq, env: p.Env,
	})
	exportDeadLettersAlarm(stack, p.Stage, exportDLQ, topic)
	for _, a := range append(codeAlarms(p.Stage, dlq), transcriptionAlarms...) {
		alarm := awscloudwatch.NewAlarm(stack, jsii.String(a.id), a.props)
		alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
	}
	newDashboard(stack, p.Stage, dashboardParts{
		api: apiFn, events: eventsFn, reconciler: reconcilerFn, dlq: dlq, tables: tables, bucketName: bucketName,
	})

	// --- outputs
	out := func(id string, v *string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: v})
	}
	out("ApiUrl", httpAPI.ApiEndpoint())
	out("BucketName", bucket.BucketName())
	out("DeadLetterQueueUrl", dlq.QueueUrl())
	for _, t := range dynamo.Schema {
		out(pascal(t.Name)+"TableName", tables[t.Name].TableName())
	}
	suppress(stack, []*function{apiFn, eventsFn, reconcilerFn, exportFn}, bucket, httpAPI)
	return stack
}

// IntelligentTieringMinBytes is the size below which Intelligent-Tiering
// keeps objects in its frequent tier anyway (128 KiB).
const IntelligentTieringMinBytes = 128 * 1024

// ReconcileEveryMinutes is the reconciler's schedule on AWS.
const ReconcileEveryMinutes = 5

// NotificationEvents are the S3 events the events function receives. A
// lifecycle expiry is announced as its own event, not as a removal.
var NotificationEvents = []string{"s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"}

func newTable(scope constructs.Construct, prefix string, t dynamo.Table, removal awscdk.RemovalPolicy) awsdynamodb.Table {
	table := awsdynamodb.NewTable(scope, jsii.String("Table"+pascal(t.Name)), &awsdynamodb.TableProps{
		TableName:           jsii.String(dynamo.TableName(prefix, t.Name)),
		PartitionKey:        attribute(t.PartitionKey),
		SortKey:             optAttribute(t.SortKey),
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(t.TTLAttribute),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:         awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection: jsii.Bool(removal == awscdk.RemovalPolicy_RETAIN),
		RemovalPolicy:      removal,
	})
	for _, ix := range t.Indexes {
		proj := awsdynamodb.ProjectionType_ALL
		if ix.KeysOnly {
			proj = awsdynamodb.ProjectionType_KEYS_ONLY
		}
		table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.Name),
			PartitionKey:   attribute(ix.PartitionKey),
			SortKey:        optAttribute(ix.SortKey),
			ProjectionType: proj,
		})
	}
	return table
}

func attribute(k dynamo.Key) *awsdynamodb.Attribute {
	typ := awsdynamodb.AttributeType_STRING
	if k.Type == dynamo.Number {
		typ = awsdynamodb.AttributeType_NUMBER
	}
	return &awsdynamodb.Attribute{Name: jsii.String(k.Name), Type: typ}
}

func optAttribute(k *dynamo.Key) *awsdynamodb.Attribute {
	if k == nil {
		return nil
	}
	return attribute(*k)
}

// APIGOGC is the API function's GOGC: a request allocates a few hundred
// kilobytes and keeps almost nothing, so a larger heap goal trades a few
// MiB of memory for fewer collections (docs/performance.md has the
// measurement). make bench runs the API with the same value
// (bench/harness_test.go): change both together.
const APIGOGC = "400"

// apiMemoryMB is the API function's memory size.
const apiMemoryMB = 512

// function is a Lambda with its own role, to which only explicit
// statements are added (no managed policies, no grant helpers whose action
// lists contain wildcards).
type function struct {
	Function awslambda.Function
	Role     awsiam.Role
	Logs     awslogs.LogGroup
	id       string
}

func newFunction(stack awscdk.Stack, id, zip, what string, env map[string]*string, memoryMB, timeoutS float64) *function {
	logs := awslogs.NewLogGroup(stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	role := awsiam.NewRole(stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Runs " + what),
	})
	f := &function{Role: role, Logs: logs, id: id}
	f.allow("Logs", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, jsii.String(*logs.LogGroupArn()))
	f.Function = awslambda.NewFunction(stack, jsii.String(id), &awslambda.FunctionProps{
		Description:   jsii.String(what),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(zip), nil),
		MemorySize:    jsii.Number(memoryMB),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(timeoutS)),
		Environment:   &env,
		Role:          role,
		LogGroup:      logs,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		// WARN drops the platform's start and report records (about 400 bytes
		// an invocation, half again the function's own line); duration, errors
		// and throttles stay in Lambda's own metrics.
		SystemLogLevelV2: awslambda.SystemLogLevel_WARN,
	})
	return f
}

func (f *function) allow(sid string, actions []string, resources ...*string) {
	f.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String(sid),
		Actions:   jsii.Strings(actions...),
		Resources: &resources,
	}))
}

func (f *function) allowWithCondition(sid string, actions []string, resource *string, cond map[string]any) {
	f.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String(sid),
		Actions:    jsii.Strings(actions...),
		Resources:  &[]*string{resource},
		Conditions: &cond,
	}))
}

// apiCORS is the HTTP API's CORS configuration, the same as the API's own
// (server/api/routes.go): API Gateway answers preflights itself and
// replaces the function's CORS headers when this is set.
func apiCORS(origins []string) *awsapigatewayv2.CorsPreflightOptions {
	if len(origins) == 0 {
		return nil
	}
	return &awsapigatewayv2.CorsPreflightOptions{
		AllowOrigins: jsii.Strings(origins...),
		AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{
			awsapigatewayv2.CorsHttpMethod_GET, awsapigatewayv2.CorsHttpMethod_POST,
			awsapigatewayv2.CorsHttpMethod_PATCH, awsapigatewayv2.CorsHttpMethod_DELETE,
		},
		AllowHeaders:  jsii.Strings("Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"),
		ExposeHeaders: jsii.Strings("Retry-After", "Idempotent-Replayed", "X-Request-Id", "WWW-Authenticate"),
		MaxAge:        awscdk.Duration_Minutes(jsii.Number(10)),
	}
}

// corsRule lets browsers PUT and GET through presigned URLs. Those URLs
// carry the authorization, so CORS decides only which web pages may use
// them. ETag is exposed because a page completing a multipart upload must
// read each part's.
func corsRule(origins []*string) *awss3.CorsRule {
	return &awss3.CorsRule{
		AllowedMethods: &[]awss3.HttpMethods{awss3.HttpMethods_PUT, awss3.HttpMethods_GET, awss3.HttpMethods_HEAD},
		AllowedOrigins: &origins,
		AllowedHeaders: jsii.Strings("Content-Type", "Content-Length", "Range", "x-amz-checksum-sha256", "x-amz-tagging"),
		ExposedHeaders: jsii.Strings("ETag", "Content-Length", "Content-Disposition"),
		MaxAge:         jsii.Number(3600),
	}
}

func pascal(s string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
