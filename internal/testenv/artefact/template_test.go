package artefact

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The logical-id prefixes of the stack's functions (infra/recorder's
// APIFunctionID and the others; infra is its own module, so they are
// repeated here and a renamed function fails the lookup).
const (
	apiFunctionID        = "ApiFunction"
	eventsFunctionID     = "EventsFunction"
	reconcilerFunctionID = "ReconcilerFunction"
	exportFunctionID     = "ExportFunction"
)

// The stage the tests synthesize, and what the pseudo parameters resolve to.
const (
	templateStage   = "artefact"
	templateAccount = "000000000000"
	templateRegion  = "us-east-1"
	// emulatedFunctionName is the only function name the emulator's invoke
	// endpoint answers to: a reference to a function resolves to it, and
	// AWS_ENDPOINT_URL_LAMBDA says which emulator serves it.
	emulatedFunctionName = "function"
)

// template is the synthesized CloudFormation template, as much as the
// functions' settings need.
type template struct {
	Resources map[string]struct {
		Type       string          `json:"Type"`
		Properties json.RawMessage `json:"Properties"`
	} `json:"Resources"`
}

// functionSpec is one function's settings, intrinsics resolved.
type functionSpec struct {
	logicalID       string
	env             map[string]string
	memoryMB        int
	timeoutS        int
	handler         string
	runtime         string
	payloadVersions map[string]string // by integration, for the API
	// routes is the payload version API Gateway sends each of the HTTP
	// API's route keys ("$default", "GET /s/{token}") that reaches the
	// function, for the API.
	routes map[string]string
}

// synthesize runs the CDK app itself (infra's main, the one `make deploy`
// runs) with the stage as context, writing its cloud assembly to a
// directory of the test's: no CDK CLI and nothing committed, so the
// template read is always the one the code declares. The assets are the
// directories holding the bootstraps just built.
func synthesize(root, dir string, b bootstraps) (*template, error) {
	out := filepath.Join(dir, "cdk.out")
	ctxJSON, err := json.Marshal(map[string]string{
		"stage": templateStage, "apiZip": filepath.Dir(b.api), "eventsZip": filepath.Dir(b.events),
	})
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = filepath.Join(root, "infra")
	cmd.Env = append(os.Environ(), "CDK_OUTDIR="+out, "CDK_CONTEXT_JSON="+string(ctxJSON),
		"JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1", "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1")
	if o, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("synthesize the CDK app: %w: %s", err, o)
	}
	raw, err := os.ReadFile(filepath.Join(out, "recorder-"+templateStage+".template.json"))
	if err != nil {
		return nil, err
	}
	var t template
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	return &t, nil
}

// function returns the settings of the one function whose logical id
// starts with id.
func (t *template) function(id string) (functionSpec, error) {
	var found []string
	for lid, r := range t.Resources {
		if r.Type == "AWS::Lambda::Function" && strings.HasPrefix(lid, id) {
			found = append(found, lid)
		}
	}
	sort.Strings(found)
	if len(found) != 1 {
		return functionSpec{}, fmt.Errorf("template: want one AWS::Lambda::Function named %s*, found %v", id, found)
	}
	var p struct {
		Environment struct {
			Variables map[string]any `json:"Variables"`
		} `json:"Environment"`
		MemorySize int    `json:"MemorySize"`
		Timeout    int    `json:"Timeout"`
		Handler    string `json:"Handler"`
		Runtime    string `json:"Runtime"`
	}
	if err := json.Unmarshal(t.Resources[found[0]].Properties, &p); err != nil {
		return functionSpec{}, fmt.Errorf("template %s: %w", found[0], err)
	}
	spec := functionSpec{
		logicalID: found[0], env: map[string]string{}, memoryMB: p.MemorySize, timeoutS: p.Timeout,
		handler: p.Handler, runtime: p.Runtime, payloadVersions: map[string]string{}, routes: map[string]string{},
	}
	for k, v := range p.Environment.Variables {
		s, err := t.resolve(v)
		if err != nil {
			return spec, fmt.Errorf("template %s: %s: %w", found[0], k, err)
		}
		spec.env[k] = s
	}
	for lid, r := range t.Resources {
		if r.Type != "AWS::ApiGatewayV2::Integration" {
			continue
		}
		var ip struct {
			IntegrationURI       any    `json:"IntegrationUri"`
			PayloadFormatVersion string `json:"PayloadFormatVersion"`
		}
		if err := json.Unmarshal(r.Properties, &ip); err != nil {
			return spec, err
		}
		if refersTo(ip.IntegrationURI, found[0]) {
			spec.payloadVersions[lid] = ip.PayloadFormatVersion
		}
	}
	for _, r := range t.Resources {
		if r.Type != "AWS::ApiGatewayV2::Route" {
			continue
		}
		var rp struct {
			RouteKey string `json:"RouteKey"`
			Target   any    `json:"Target"`
		}
		if err := json.Unmarshal(r.Properties, &rp); err != nil {
			return spec, err
		}
		for integration, version := range spec.payloadVersions {
			if refersTo(rp.Target, integration) {
				spec.routes[rp.RouteKey] = version
			}
		}
	}
	return spec, nil
}

// resolve evaluates the intrinsics the functions' environments use: Ref to
// a pseudo parameter, a function (the emulator's name), a queue (its URL)
// or another resource (its declared name), Fn::Join, and Fn::GetAtt of an
// Arn. Anything else is an error, so a new kind of value is noticed.
func (t *template) resolve(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case float64:
		return fmt.Sprint(x), nil
	case map[string]any:
		if len(x) != 1 {
			break
		}
		if ref, ok := x["Ref"].(string); ok {
			switch ref {
			case "AWS::AccountId":
				return templateAccount, nil
			case "AWS::Region":
				return templateRegion, nil
			case "AWS::Partition":
				return "aws", nil
			case "AWS::URLSuffix":
				return "amazonaws.com", nil
			}
			if r, ok := t.Resources[ref]; ok {
				if r.Type == "AWS::Lambda::Function" {
					return emulatedFunctionName, nil
				}
				name := t.physicalName(ref)
				if r.Type == "AWS::SQS::Queue" {
					return "https://sqs." + templateRegion + ".amazonaws.com/" + templateAccount + "/" + name, nil
				}
				return name, nil
			}
			return "", fmt.Errorf("unresolvable Ref %s", ref)
		}
		if args, ok := x["Fn::GetAtt"].([]any); ok && len(args) == 2 && args[1] == "Arn" {
			id, _ := args[0].(string)
			if r, ok := t.Resources[id]; ok {
				// arn:aws:<service>:<region>:<account>:<name>, close enough
				// for a function that only passes the ARN on.
				service := strings.ToLower(strings.Split(r.Type, "::")[1])
				return "arn:aws:" + service + ":" + templateRegion + ":" + templateAccount + ":" + t.physicalName(id), nil
			}
		}
		if args, ok := x["Fn::Join"].([]any); ok && len(args) == 2 {
			sep, _ := args[0].(string)
			parts, _ := args[1].([]any)
			var out []string
			for _, p := range parts {
				s, err := t.resolve(p)
				if err != nil {
					return "", err
				}
				out = append(out, s)
			}
			return strings.Join(out, sep), nil
		}
	}
	b, _ := json.Marshal(v)
	return "", fmt.Errorf("unresolvable value %s", b)
}

// physicalName is a resource's name as declared (TableName, QueueName and
// the like), else its logical id.
func (t *template) physicalName(logicalID string) string {
	var props map[string]any
	_ = json.Unmarshal(t.Resources[logicalID].Properties, &props)
	for _, k := range []string{"TableName", "BucketName", "QueueName", "TopicName", "FunctionName", "Name"} {
		if v, ok := props[k]; ok {
			if s, err := t.resolve(v); err == nil {
				return s
			}
		}
	}
	return logicalID
}

// refersTo reports whether an intrinsic value mentions the logical id.
func refersTo(v any, logicalID string) bool {
	b, _ := json.Marshal(v)
	return strings.Contains(string(b), `"`+logicalID+`"`)
}

// TestTemplateSettingsAreTakenAsDeclared holds the harness to its rule:
// the template's environment is used as it is, intrinsics are resolved or
// refused, and nothing the test adds replaces a template value.
func TestTemplateSettingsAreTakenAsDeclared(t *testing.T) {
	tmpl := &template{}
	if err := json.Unmarshal([]byte(`{"Resources": {
		"Fn1": {"Type": "AWS::Lambda::Function", "Properties": {}},
		"Q1": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobs"}},
		"Key1": {"Type": "AWS::KMS::Key", "Properties": {}}
	}}`), tmpl); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		`"plain"`:        "plain",
		`{"Ref": "Fn1"}`: emulatedFunctionName,
		`{"Ref": "Q1"}`:  "https://sqs.us-east-1.amazonaws.com/000000000000/jobs",
		`{"Fn::Join": ["-", ["a", {"Ref": "AWS::Region"}]]}`:   "a-us-east-1",
		`{"Fn::GetAtt": ["Key1", "Arn"]}`:                      "arn:aws:kms:us-east-1:000000000000:Key1",
		`{"Fn::Join": ["", [{"Ref": "AWS::AccountId"}, "x"]]}`: "000000000000x",
	} {
		var v any
		if err := json.Unmarshal([]byte(in), &v); err != nil {
			t.Fatal(err)
		}
		if got, err := tmpl.resolve(v); err != nil || got != want {
			t.Errorf("resolve %s = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`{"Ref": "Missing"}`, `{"Fn::ImportValue": "x"}`, `{"Fn::GetAtt": ["Q1", "QueueUrl"]}`} {
		var v any
		_ = json.Unmarshal([]byte(in), &v)
		if got, err := tmpl.resolve(v); err == nil {
			t.Errorf("resolve %s = %q; want an error", in, got)
		}
	}
	if _, err := functionEnv("Fn1", map[string]string{"S3_BUCKET": "b"}, map[string]string{"S3_BUCKET": "other"}); err == nil {
		t.Error("an overlay replaced the template's S3_BUCKET")
	}
	env, err := functionEnv("Fn1", map[string]string{"S3_BUCKET": "b"}, map[string]string{"AWS_REGION": "r"})
	if err != nil || env["S3_BUCKET"] != "b" || env["AWS_REGION"] != "r" {
		t.Errorf("functionEnv = %v, %v", env, err)
	}
}
