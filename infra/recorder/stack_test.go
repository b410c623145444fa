package recorder_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/voicerec/backend/infra/recorder"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/metrics"
)

// synthesized is one stage's template, synthesized once for every test:
// synthesis runs the CDK's JavaScript core and takes seconds.
type synthesized struct {
	stack awscdk.Stack
	tmpl  assertions.Template
	// res is the template's Resources section, by logical id.
	res map[string]resource
	out map[string]any
}

type resource struct {
	Type           string         `json:"Type"`
	Properties     map[string]any `json:"Properties"`
	DeletionPolicy string         `json:"DeletionPolicy"`
}

const (
	appleSecretARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:recorder/apple-key-AbCdEf"
	kakaoSecretARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:recorder/kakao-admin-GhIjKl"
)

var (
	once  = map[bool]*sync.Once{true: {}, false: {}}
	cache = map[bool]*synthesized{}
)

// synth returns the template of a stage with tables retained or not, with
// cdk-nag's AwsSolutions checks applied.
func synth(t *testing.T, retain bool) *synthesized {
	t.Helper()
	once[retain].Do(func() {
		zips := map[string]string{}
		for _, fn := range []string{"api", "events"} {
			p, _ := filepath.Abs(filepath.Join("..", "..", "dist", fn+".zip"))
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("%s is missing: run `make build` (make test-infra does)", p)
			}
			zips[fn] = p
		}
		app := awscdk.NewApp(nil)
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
		stack := recorder.New(app, "recorder-test", recorder.Props{
			Stage: "test", APIZip: zips["api"], EventsZip: zips["events"], Retain: retain,
			CORSOrigins:  []string{"https://app.example.com"},
			Env:          map[string]string{"GOOGLE_CLIENT_IDS": "client.apps.googleusercontent.com"},
			ThrottleRate: 50, ThrottleBurst: 100,
			Apple: &recorder.AppleProps{TeamID: "TEAM123456", KeyID: "KEY1234567", PrivateKeySecretARN: appleSecretARN},
			Kakao: &recorder.KakaoProps{AppID: "1234567", AdminKeySecretARN: kakaoSecretARN},
		})
		tmpl := assertions.Template_FromStack(stack, nil)
		raw, err := json.Marshal(tmpl.ToJSON())
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Resources map[string]resource `json:"Resources"`
			Outputs   map[string]any      `json:"Outputs"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		cache[retain] = &synthesized{stack: stack, tmpl: tmpl, res: doc.Resources, out: doc.Outputs}
	})
	s := cache[retain]
	if s == nil {
		t.Fatal("synthesis failed in an earlier test")
	}
	return s
}

func (s *synthesized) ofType(typ string) map[string]resource {
	m := map[string]resource{}
	for id, r := range s.res {
		if r.Type == typ {
			m[id] = r
		}
	}
	return m
}

func (s *synthesized) one(t *testing.T, typ string) (string, resource) {
	t.Helper()
	m := s.ofType(typ)
	if len(m) != 1 {
		t.Fatalf("%d resources of type %s, want 1", len(m), typ)
	}
	for id, r := range m {
		return id, r
	}
	panic("unreachable")
}

// get walks a decoded JSON value by keys and indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestBucket(t *testing.T) {
	s := synth(t, true)
	_, b := s.one(t, "AWS::S3::Bucket")
	p := b.Properties
	for _, tc := range []struct {
		name string
		got  any
		want string
	}{
		{"public access block", p["PublicAccessBlockConfiguration"], `{"BlockPublicAcls":true,"BlockPublicPolicy":true,"IgnorePublicAcls":true,"RestrictPublicBuckets":true}`},
		{"encryption", get(p, "BucketEncryption", "ServerSideEncryptionConfiguration", 0, "ServerSideEncryptionByDefault", "SSEAlgorithm"), `"AES256"`},
		{"object ownership", get(p, "OwnershipControls", "Rules", 0, "ObjectOwnership"), `"BucketOwnerEnforced"`},
		{"abort multipart", get(p, "LifecycleConfiguration", "Rules", 0, "AbortIncompleteMultipartUpload"), `{"DaysAfterInitiation":2}`},
		{"lifecycle enabled", get(p, "LifecycleConfiguration", "Rules", 0, "Status"), `"Enabled"`},
		{"CORS methods", get(p, "CorsConfiguration", "CorsRules", 0, "AllowedMethods"), `["PUT","GET","HEAD"]`},
		// The configured origins, then the API's own: the web companion it serves at /app/.
		{"CORS origins", get(p, "CorsConfiguration", "CorsRules", 0, "AllowedOrigins"), `["https://app.example.com",` + js(get(s.out, "ApiUrl", "Value")) + `]`},
		{"CORS exposes ETag", get(p, "CorsConfiguration", "CorsRules", 0, "ExposedHeaders"), `["ETag","Content-Length","Content-Disposition"]`},
		{"one CORS rule", len(get(p, "CorsConfiguration", "CorsRules").([]any)), `1`},
		{"CORS headers", get(p, "CorsConfiguration", "CorsRules", 0, "AllowedHeaders"), `["Content-Type","Content-Length","Range","x-amz-checksum-sha256","x-amz-tagging"]`},
		{"retained", b.DeletionPolicy, `"Retain"`},
	} {
		if got := js(tc.got); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}

	// Every notification goes to the events function, for recordings/ only.
	fnID := logicalID(t, s, "AWS::Lambda::Function", recorder.EventsFunctionID)
	confs, _ := get(p, "NotificationConfiguration", "LambdaConfigurations").([]any)
	var events []string
	for _, c := range confs {
		events = append(events, get(c, "Event").(string))
		if got := js(get(c, "Filter", "S3Key", "Rules")); got != `[{"Name":"prefix","Value":"recordings/"}]` {
			t.Errorf("notification filter %s", got)
		}
		if got := js(get(c, "Function")); got != fmt.Sprintf(`{"Fn::GetAtt":[%q,"Arn"]}`, fnID) {
			t.Errorf("notification target %s", got)
		}
	}
	if !slices.Equal(events, recorder.NotificationEvents) {
		t.Errorf("notified events %v, want %v", events, recorder.NotificationEvents)
	}
	if n := len(s.ofType("Custom::S3BucketNotifications")); n != 0 {
		t.Errorf("%d notification custom resources (they need s3 permissions on *)", n)
	}
}

func TestBucketPolicyRefusesPlainHTTP(t *testing.T) {
	s := synth(t, true)
	s.tmpl.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), assertions.Match_ObjectLike(&map[string]any{
		"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{
			"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"Effect":    "Deny",
				"Action":    "s3:*",
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			})}),
		}),
	}))
}

func TestTablesFollowTheGoSchema(t *testing.T) {
	for _, retain := range []bool{true, false} {
		s := synth(t, retain)
		tables := s.ofType("AWS::DynamoDB::Table")
		if len(tables) != len(dynamo.Schema) {
			t.Fatalf("%d tables, schema has %d", len(tables), len(dynamo.Schema))
		}
		byName := map[string]resource{}
		for _, r := range tables {
			byName[r.Properties["TableName"].(string)] = r
		}
		for _, def := range dynamo.Schema {
			name := dynamo.TableName(recorder.TablePrefix("test"), def.Name)
			r, ok := byName[name]
			if !ok {
				t.Errorf("no table %s", name)
				continue
			}
			p := r.Properties
			wantPolicy := map[bool]string{true: "Retain", false: "Delete"}[retain]
			checks := []struct{ what, got, want string }{
				{"billing", js(p["BillingMode"]), `"PAY_PER_REQUEST"`},
				{"TTL", js(p["TimeToLiveSpecification"]), fmt.Sprintf(`{"AttributeName":%q,"Enabled":true}`, def.TTLAttribute)},
				{"PITR", js(get(p, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled")), `true`},
				{"keys", js(p["KeySchema"]), js(keySchema(def.PartitionKey, def.SortKey))},
				{"removal", r.DeletionPolicy, wantPolicy},
				{"deletion protection", js(p["DeletionProtectionEnabled"]), js(retain)},
			}
			var gsis []any
			for _, ix := range def.Indexes {
				proj := "ALL"
				if ix.KeysOnly {
					proj = "KEYS_ONLY"
				}
				gsis = append(gsis, map[string]any{
					"IndexName": ix.Name, "KeySchema": keySchema(ix.PartitionKey, ix.SortKey),
					"Projection": map[string]any{"ProjectionType": proj},
				})
			}
			if gsis != nil {
				checks = append(checks, struct{ what, got, want string }{"indexes", js(p["GlobalSecondaryIndexes"]), js(gsis)})
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("retain=%v %s %s: %s, want %s", retain, name, c.what, c.got, c.want)
				}
			}
		}
	}
}

func keySchema(pk dynamo.Key, sk *dynamo.Key) []any {
	ks := []any{map[string]any{"AttributeName": pk.Name, "KeyType": "HASH"}}
	if sk != nil {
		ks = append(ks, map[string]any{"AttributeName": sk.Name, "KeyType": "RANGE"})
	}
	return ks
}

func TestFunctions(t *testing.T) {
	s := synth(t, true)
	fns := s.ofType("AWS::Lambda::Function")
	if len(fns) != 4 {
		t.Errorf("%d functions, want exactly the API, events, reconciler and export functions (no helper Lambdas)", len(fns))
	}
	for id, f := range fns {
		p := f.Properties
		if js(p["Runtime"]) != `"provided.al2023"` || js(p["Architectures"]) != `["arm64"]` || js(p["Handler"]) != `"bootstrap"` {
			t.Errorf("%s: runtime %s, architectures %s, handler %s", id, js(p["Runtime"]), js(p["Architectures"]), js(p["Handler"]))
		}
		// Logs go to a group of the stack's own with a retention.
		group, _ := get(p, "LoggingConfig", "LogGroup", "Ref").(string)
		lg, ok := s.res[group]
		if !ok || lg.Type != "AWS::Logs::LogGroup" || js(lg.Properties["RetentionInDays"]) != "30" {
			t.Errorf("%s: log group %q %+v", id, group, lg)
		}
		// JSON lines, and no START, END and REPORT lines from Lambda itself:
		// each function logs its own line per invocation, and the platform's
		// would more than double the log bytes billed per request.
		if get(p, "LoggingConfig", "LogFormat") != "JSON" || get(p, "LoggingConfig", "SystemLogLevel") != "WARN" {
			t.Errorf("%s: logging %s, want JSON lines and system logs at WARN", id, js(get(p, "LoggingConfig")))
		}
		if get(p, "Environment", "Variables", "DYNAMODB_TABLE_PREFIX") != recorder.TablePrefix("test") ||
			get(p, "Environment", "Variables", "S3_BUCKET") == nil {
			t.Errorf("%s: environment %s", id, js(get(p, "Environment")))
		}
	}
	api := s.res[logicalID(t, s, "AWS::Lambda::Function", recorder.APIFunctionID)]
	if got := get(api.Properties, "Environment", "Variables", "GOOGLE_CLIENT_IDS"); got != "client.apps.googleusercontent.com" {
		t.Errorf("API GOOGLE_CLIENT_IDS = %v", got)
	}
}

func TestEventsRetriesDeadLettersAndAlarms(t *testing.T) {
	s := synth(t, true)
	fn := logicalID(t, s, "AWS::Lambda::Function", recorder.EventsFunctionID)
	qID := logicalID(t, s, "AWS::SQS::Queue", "EventsDeadLetterQueue")
	q := s.res[qID]
	if js(q.Properties["SqsManagedSseEnabled"]) != "true" {
		t.Errorf("dead-letter queue not encrypted: %s", js(q.Properties))
	}
	_, cfg := s.one(t, "AWS::Lambda::EventInvokeConfig")
	if got := js(cfg.Properties["FunctionName"]); got != fmt.Sprintf(`{"Ref":%q}`, fn) {
		t.Errorf("invoke config for %s", got)
	}
	if js(cfg.Properties["MaximumRetryAttempts"]) != "2" {
		t.Errorf("retries %s", js(cfg.Properties["MaximumRetryAttempts"]))
	}
	if got := js(get(cfg.Properties, "DestinationConfig", "OnFailure", "Destination")); got != fmt.Sprintf(`{"Fn::GetAtt":[%q,"Arn"]}`, qID) {
		t.Errorf("on-failure destination %s", got)
	}
	alarms := map[string]string{} // metric name -> dimension value
	for _, a := range s.ofType("AWS::CloudWatch::Alarm") {
		if js(get(a.Properties, "AlarmActions")) == "null" {
			t.Errorf("alarm %s has no action", a.Properties["AlarmName"])
		}
		alarms[a.Properties["MetricName"].(string)+"/"+js(get(a.Properties, "Dimensions", 0, "Value"))] = ""
	}
	for _, want := range []string{
		"Errors/" + fmt.Sprintf(`{"Ref":%q}`, fn),
		"ApproximateNumberOfMessagesVisible/" + fmt.Sprintf(`{"Fn::GetAtt":[%q,"QueueName"]}`, qID),
	} {
		if _, ok := alarms[want]; !ok {
			t.Errorf("no alarm on %s; alarms: %v", want, alarms)
		}
	}
}

func TestHTTPAPI(t *testing.T) {
	s := synth(t, true)
	_, stage := s.one(t, "AWS::ApiGatewayV2::Stage")
	p := stage.Properties
	if js(get(p, "DefaultRouteSettings", "ThrottlingRateLimit")) != "50" || js(get(p, "DefaultRouteSettings", "ThrottlingBurstLimit")) != "100" {
		t.Errorf("throttling %s", js(p["DefaultRouteSettings"]))
	}
	if dst := js(get(p, "AccessLogSettings", "DestinationArn")); !strings.Contains(dst, "ApiAccessLogs") {
		t.Errorf("access logs to %s", dst)
	}
	if f, _ := get(p, "AccessLogSettings", "Format").(string); !strings.Contains(f, "$context.requestId") {
		t.Errorf("access log format %q", f)
	}
	_, api := s.one(t, "AWS::ApiGatewayV2::Api")
	if js(api.Properties["ProtocolType"]) != `"HTTP"` {
		t.Errorf("API type %s", js(api.Properties["ProtocolType"]))
	}
	for _, o := range []string{"ApiUrl", "BucketName", "DeadLetterQueueUrl", "UsersTableName", "RecordingsTableName", "SessionsTableName", "IdentitiesTableName", "IdempotencyTableName"} {
		if _, ok := s.out[o]; !ok {
			t.Errorf("no output %s", o)
		}
	}
}

// Each role holds exactly the actions its code calls, on the resources it
// uses; no action is a wildcard and no resource is "*".
func TestLeastPrivilege(t *testing.T) {
	s := synth(t, true)
	for _, r := range s.ofType("AWS::IAM::Role") {
		if r.Properties["ManagedPolicyArns"] != nil || r.Properties["Policies"] != nil {
			t.Errorf("role with managed or inline policies: %s", js(r.Properties))
		}
	}
	actions := map[string][]string{} // role logical id -> actions
	for id, pol := range s.ofType("AWS::IAM::Policy") {
		roles, _ := pol.Properties["Roles"].([]any)
		if len(roles) != 1 {
			t.Fatalf("policy %s on %d roles", id, len(roles))
		}
		role := get(roles[0], "Ref").(string)
		stmts, _ := get(pol.Properties, "PolicyDocument", "Statement").([]any)
		for _, st := range stmts {
			if get(st, "Effect") != "Allow" {
				t.Errorf("%s: unexpected statement %s", role, js(st))
			}
			for _, a := range list(get(st, "Action")) {
				if strings.Contains(js(a), "*") {
					t.Errorf("%s: wildcard action %s", role, js(a))
				}
				actions[role] = append(actions[role], a.(string))
			}
			for _, res := range list(get(st, "Resource")) {
				rs := js(res)
				if res == "*" || (strings.Contains(rs, "*") && !strings.HasSuffix(rs, `/recordings/*"]]}`) && !strings.HasSuffix(rs, `/exports/*"]]}`) &&
					!strings.HasSuffix(rs, `/transcripts/*"]]}`) && !strings.HasSuffix(rs, `:transcription-job/*"]]}`)) {
					t.Errorf("%s: resource %s", role, rs)
				}
			}
		}
	}
	want := map[string][]string{
		recorder.APIFunctionID: {
			"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable",
			"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
			"kms:Decrypt", "kms:GenerateDataKey",
			"lambda:InvokeFunction",
			"logs:CreateLogStream", "logs:PutLogEvents",
			"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:ListMultipartUploadParts", "s3:PutObject", "s3:PutObjectTagging",
			"secretsmanager:GetSecretValue",
			"sqs:SendMessage",
			"transcribe:GetTranscriptionJob", "transcribe:StartTranscriptionJob",
		},
		recorder.EventsFunctionID: {
			"dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
			"logs:CreateLogStream", "logs:PutLogEvents",
			"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject",
			"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage",
			"transcribe:GetTranscriptionJob", "transcribe:StartTranscriptionJob",
		},
		recorder.ReconcilerFunctionID: {
			"dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
			"kms:Decrypt",
			"logs:CreateLogStream", "logs:PutLogEvents",
			"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject",
			"secretsmanager:GetSecretValue",
			"transcribe:GetTranscriptionJob", "transcribe:StartTranscriptionJob",
		},
		recorder.ExportFunctionID: {
			"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem",
			"logs:CreateLogStream", "logs:PutLogEvents",
			"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListBucketMultipartUploads", "s3:PutObject",
			"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage",
		},
	}
	for fn, w := range want {
		role := logicalID(t, s, "AWS::IAM::Role", fn+"Role")
		got := slices.Compact(sorted(actions[role]))
		if !slices.Equal(got, w) {
			t.Errorf("%s actions:\n got %v\nwant %v", fn, got, w)
		}
	}
	// Listing is limited to the recordings prefix wherever it is granted,
	// to the exports prefix for the export worker, and to the transcripts
	// prefix for the reconciler's account deletion.
	for id, pol := range s.ofType("AWS::IAM::Policy") {
		for _, st := range get(pol.Properties, "PolicyDocument", "Statement").([]any) {
			if slices.Contains(list(get(st, "Action")), any("s3:ListBucket")) {
				if got := js(get(st, "Condition")); got != `{"StringLikeIfExists":{"s3:prefix":["recordings/*"]}}` &&
					got != `{"StringLike":{"s3:prefix":["transcripts/*"]}}` && got != `{"StringLike":{"s3:prefix":["exports/*"]}}` {
					t.Errorf("%s: s3:ListBucket with condition %s", id, got)
				}
			}
		}
	}
	if len(actions) != len(want) {
		t.Errorf("policies for %d roles, want %d: %v", len(actions), len(want), actions)
	}
}

// The API converges a completed upload through the events function: it may
// invoke that function and no other, and is told its name.
func TestAPIInvokesOnlyTheEventsFunction(t *testing.T) {
	s := synth(t, true)
	events := logicalID(t, s, "AWS::Lambda::Function", recorder.EventsFunctionID)
	apiRole := logicalID(t, s, "AWS::IAM::Role", recorder.APIFunctionID+"Role")
	invokes := 0
	for id, pol := range s.ofType("AWS::IAM::Policy") {
		for _, st := range get(pol.Properties, "PolicyDocument", "Statement").([]any) {
			if !slices.Contains(list(get(st, "Action")), any("lambda:InvokeFunction")) {
				continue
			}
			invokes++
			if role := get(pol.Properties, "Roles", 0, "Ref"); role != apiRole {
				t.Errorf("%s: role %v may invoke a function", id, role)
			}
			if got, want := js(get(st, "Resource")), js(map[string]any{"Fn::GetAtt": []any{events, "Arn"}}); got != want {
				t.Errorf("%s: lambda:InvokeFunction on %s, want only %s", id, got, want)
			}
		}
	}
	if invokes != 1 {
		t.Errorf("%d statements grant lambda:InvokeFunction, want 1", invokes)
	}
	api := s.res[logicalID(t, s, "AWS::Lambda::Function", recorder.APIFunctionID)]
	if got, want := js(get(api.Properties, "Environment", "Variables", "EVENTS_FUNCTION_NAME")), js(map[string]any{"Ref": events}); got != want {
		t.Errorf("API's EVENTS_FUNCTION_NAME is %s, want %s", got, want)
	}
}

func TestCDKNagAwsSolutions(t *testing.T) {
	s := synth(t, true)
	ann := assertions.Annotations_FromStack(s.stack)
	rule := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	found := map[string]*[]*cxapi.SynthesisMessage{
		"error":   ann.FindError(jsii.String("*"), rule),
		"warning": ann.FindWarning(jsii.String("*"), rule),
	}
	for kind, msgs := range found {
		for _, m := range *msgs {
			t.Errorf("cdk-nag %s at %s: %v", kind, *m.Id, m.Entry.Data)
		}
	}
}

// logicalID finds the one resource of typ whose logical id starts with
// the construct id given in the stack code.
func logicalID(t *testing.T, s *synthesized, typ, prefix string) string {
	t.Helper()
	var ids []string
	for id, r := range s.res {
		if r.Type == typ && strings.HasPrefix(id, prefix) && !strings.HasPrefix(id[len(prefix):], "Role") &&
			!strings.HasPrefix(id[len(prefix):], "Logs") {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%s %s*: %v", typ, prefix, ids)
	}
	return ids[0]
}

func list(v any) []any {
	if a, ok := v.([]any); ok {
		return a
	}
	return []any{v}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// The reconciler runs on a schedule, from the events artifact, with its
// failures alarmed: without it nothing converges after a lost event.
func TestReconcilerSchedule(t *testing.T) {
	s := synth(t, true)
	fn := logicalID(t, s, "AWS::Lambda::Function", recorder.ReconcilerFunctionID)
	var rule resource
	for _, r := range s.ofType("AWS::Events::Rule") {
		if r.Properties["ScheduleExpression"] != nil {
			rule = r
		}
	}
	if got := js(rule.Properties["ScheduleExpression"]); got != fmt.Sprintf(`"rate(%d minutes)"`, recorder.ReconcileEveryMinutes) {
		t.Errorf("schedule %s", got)
	}
	targets, _ := rule.Properties["Targets"].([]any)
	if len(targets) != 1 || js(get(targets[0], "Arn")) != fmt.Sprintf(`{"Fn::GetAtt":[%q,"Arn"]}`, fn) {
		t.Errorf("targets %s", js(targets))
	}
	if js(get(targets[0], "RetryPolicy", "MaximumRetryAttempts")) != "0" {
		t.Errorf("retry policy %s", js(get(targets[0], "RetryPolicy")))
	}
	events := s.res[logicalID(t, s, "AWS::Lambda::Function", recorder.EventsFunctionID)]
	if js(s.res[fn].Properties["Code"]) != js(events.Properties["Code"]) {
		t.Errorf("the reconciler does not run the events artifact: %s vs %s", js(s.res[fn].Properties["Code"]), js(events.Properties["Code"]))
	}
	found := false
	for _, a := range s.ofType("AWS::CloudWatch::Alarm") {
		if a.Properties["MetricName"] == "Errors" && js(get(a.Properties, "Dimensions", 0, "Value")) == fmt.Sprintf(`{"Ref":%q}`, fn) {
			found = true
		}
	}
	if !found {
		t.Error("no alarm on the reconciler's errors")
	}
}

// The HTTP API answers browsers from the same origins as the bucket, with
// the headers the API reads and exposes, and the function gets the same
// list as CORS_ALLOWED_ORIGINS.
func TestHTTPAPICORS(t *testing.T) {
	s := synth(t, true)
	_, api := s.one(t, "AWS::ApiGatewayV2::Api")
	c := api.Properties["CorsConfiguration"]
	for _, tc := range []struct {
		name string
		got  any
		want string
	}{
		{"origins", get(c, "AllowOrigins"), `["https://app.example.com"]`},
		{"headers", get(c, "AllowHeaders"), `["Authorization","Content-Type","Idempotency-Key","X-Request-Id"]`},
		{"exposed", get(c, "ExposeHeaders"), `["Retry-After","Idempotent-Replayed","X-Request-Id","WWW-Authenticate"]`},
		{"methods", get(c, "AllowMethods"), `["GET","POST","PATCH","DELETE"]`},
	} {
		if got := js(tc.got); got != tc.want {
			t.Errorf("HTTP API CORS %s: %s, want %s", tc.name, got, tc.want)
		}
	}
	fn := s.res[logicalID(t, s, "AWS::Lambda::Function", recorder.APIFunctionID)]
	if got := get(fn.Properties, "Environment", "Variables", "CORS_ALLOWED_ORIGINS"); got != "https://app.example.com" {
		t.Errorf("API CORS_ALLOWED_ORIGINS = %v", got)
	}
}

// Every dashboard widget and alarm on the code's metrics names a metric the
// code emits (internal/metrics), in its namespace and under a dimension set
// it is published with; the dashboard covers what operators asked for.
func TestDashboardAndAlarmsUseEmittedMetrics(t *testing.T) {
	s := synth(t, true)
	published := map[string][][]string{}
	for _, m := range metrics.All {
		published[m.Name] = m.Dimensions
	}
	check := func(where, name string, dims []string) {
		sets, ok := published[name]
		if !ok {
			t.Errorf("%s: metric %q is not emitted by the code", where, name)
			return
		}
		slices.Sort(dims)
		for _, set := range sets {
			set = slices.Clone(set)
			slices.Sort(set)
			if slices.Equal(set, dims) {
				return
			}
		}
		t.Errorf("%s: metric %q with dimensions %v is not published (sets %v)", where, name, dims, sets)
	}
	_, dash := s.one(t, "AWS::CloudWatch::Dashboard")
	var body strings.Builder
	for _, part := range list(get(dash.Properties, "DashboardBody", "Fn::Join", 1)) {
		if str, ok := part.(string); ok {
			body.WriteString(str)
		} else {
			body.WriteString("TOKEN")
		}
	}
	found := 0
	re := regexp.MustCompile(`\["` + metrics.Namespace + `","(\w+)"((?:,"\w+","[^"]*")*)`)
	for _, m := range re.FindAllStringSubmatch(body.String(), -1) {
		found++
		var dims []string
		pairs := regexp.MustCompile(`,"(\w+)","[^"]*"`).FindAllStringSubmatch(m[2], -1)
		for _, p := range pairs {
			dims = append(dims, p[1])
		}
		check("dashboard", m[1], dims)
	}
	if found < 15 {
		t.Errorf("the dashboard plots %d of the code's metrics; body: %.600s", found, body.String())
	}
	for _, want := range []string{"AWS/Lambda", "ConcurrentExecutions", "ThrottledRequests", "ConsumedReadCapacityUnits",
		"ApproximateNumberOfMessagesVisible", "BucketSizeBytes", `filter level = \"ERROR\"`, "request_id"} {
		if !strings.Contains(body.String(), want) {
			t.Errorf("the dashboard lacks %s", want)
		}
	}
	codeAlarms := 0
	for id, a := range s.ofType("AWS::CloudWatch::Alarm") {
		if a.Properties["Namespace"] != metrics.Namespace {
			continue
		}
		codeAlarms++
		var dims []string
		for _, d := range list(a.Properties["Dimensions"]) {
			dims = append(dims, get(d, "Name").(string))
		}
		check("alarm "+id, a.Properties["MetricName"].(string), dims)
		if desc, _ := a.Properties["AlarmDescription"].(string); !strings.Contains(desc, "docs/operations.md#") {
			t.Errorf("alarm %s does not point at its runbook: %q", id, desc)
		}
	}
	if codeAlarms != 6 {
		t.Errorf("%d alarms on the code's metrics, want 6 (5xx, confirmation p99, reconciler fixes, Apple revoke and Kakao unlink failing, transcriptions failing)", codeAlarms)
	}
}

// Recordings move to Intelligent-Tiering at once, except the small ones it
// would not tier; incomplete multipart uploads are still aborted.
func TestStorageClassLifecycle(t *testing.T) {
	s := synth(t, true)
	_, bucket := s.one(t, "AWS::S3::Bucket")
	rules := list(get(bucket.Properties, "LifecycleConfiguration", "Rules"))
	byID := map[string]any{}
	for _, r := range rules {
		byID[get(r, "Id").(string)] = r
	}
	tier, ok := byID["recordings-to-intelligent-tiering"]
	if !ok {
		t.Fatalf("no tiering rule in %s", js(rules))
	}
	if get(tier, "Prefix") != "recordings/" || js(get(tier, "ObjectSizeGreaterThan")) != "131072" ||
		js(get(tier, "Transitions")) != `[{"StorageClass":"INTELLIGENT_TIERING","TransitionInDays":0}]` || get(tier, "Status") != "Enabled" {
		t.Errorf("tiering rule %s", js(tier))
	}
	if _, ok := byID["abort-incomplete-multipart-uploads"]; !ok {
		t.Error("the multipart backstop rule is gone")
	}
}

// Provider secrets: the API and the reconciler read exactly the two secrets
// named, use the token key only, and get them by name, never inlined; the
// events function gets none of it.
func TestProviderSecretsAndTokenKey(t *testing.T) {
	s := synth(t, true)
	keyID, key := s.one(t, "AWS::KMS::Key")
	if get(key.Properties, "EnableKeyRotation") != true {
		t.Errorf("token key without rotation: %s", js(key.Properties))
	}
	for _, fn := range []string{recorder.APIFunctionID, recorder.ReconcilerFunctionID} {
		role := logicalID(t, s, "AWS::IAM::Role", fn+"Role")
		var secrets, keys []string
		for _, pol := range s.ofType("AWS::IAM::Policy") {
			if get(list(pol.Properties["Roles"])[0], "Ref") != role {
				continue
			}
			for _, st := range get(pol.Properties, "PolicyDocument", "Statement").([]any) {
				acts := js(get(st, "Action"))
				for _, r := range list(get(st, "Resource")) {
					switch {
					case strings.Contains(acts, "secretsmanager:"):
						secrets = append(secrets, js(r))
					case strings.Contains(acts, "kms:"):
						keys = append(keys, js(r))
					}
				}
			}
		}
		if w := []string{js(appleSecretARN), js(kakaoSecretARN)}; !slices.Equal(sorted(secrets), w) {
			t.Errorf("%s reads secrets %v, want %v", fn, secrets, w)
		}
		if len(keys) != 1 || !strings.Contains(keys[0], keyID) {
			t.Errorf("%s uses keys %v, want only %s", fn, keys, keyID)
		}
	}
	for id, f := range s.ofType("AWS::Lambda::Function") {
		vars := js(get(f.Properties, "Environment", "Variables"))
		for _, secretVar := range []string{"APPLE_PRIVATE_KEY\"", "KAKAO_ADMIN_KEY\"", "TOKEN_ENCRYPTION_KEY"} {
			if strings.Contains(vars, secretVar) {
				t.Errorf("%s has a plain secret variable: %s", id, vars)
			}
		}
		if strings.HasPrefix(id, recorder.EventsFunctionID) && strings.Contains(vars, "APPLE_") {
			t.Errorf("events function got provider settings: %s", vars)
		}
		if (strings.HasPrefix(id, recorder.APIFunctionID) || strings.HasPrefix(id, recorder.ReconcilerFunctionID)) &&
			(!strings.Contains(vars, "APPLE_PRIVATE_KEY_SECRET") || !strings.Contains(vars, "KAKAO_ADMIN_KEY_SECRET") || !strings.Contains(vars, "TOKEN_KMS_KEY_ID")) {
			t.Errorf("%s lacks provider settings: %s", id, vars)
		}
	}
}

// The API runs with the GC setting chosen by measurement and a soft memory
// limit below its memory size, so the larger heap goal cannot outgrow the
// function; the events functions keep Go's defaults (not measured).
func TestAPIGarbageCollectorSettings(t *testing.T) {
	s := synth(t, false)
	api := s.res[logicalID(t, s, "AWS::Lambda::Function", recorder.APIFunctionID)]
	if got := get(api.Properties, "Environment", "Variables", "GOGC"); got != recorder.APIGOGC {
		t.Errorf("API GOGC = %v, want %s", got, recorder.APIGOGC)
	}
	limit, _ := get(api.Properties, "Environment", "Variables", "GOMEMLIMIT").(string)
	mib, err := strconv.Atoi(strings.TrimSuffix(limit, "MiB"))
	memory, _ := get(api.Properties, "MemorySize").(float64)
	if err != nil || !strings.HasSuffix(limit, "MiB") || mib <= 0 || float64(mib) >= memory {
		t.Errorf("API GOMEMLIMIT %q with MemorySize %v: want MiB below the memory size", limit, memory)
	}
	for _, id := range []string{recorder.EventsFunctionID, recorder.ReconcilerFunctionID} {
		fn := s.res[logicalID(t, s, "AWS::Lambda::Function", id)]
		if got := get(fn.Properties, "Environment", "Variables", "GOGC"); got != nil {
			t.Errorf("%s GOGC = %v, want unset", id, got)
		}
	}
}
