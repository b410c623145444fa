// Command infra is the CDK app: `make synth` and `make deploy` run it.
// Everything a stage needs comes from CDK context (-c key=value).
package main

import (
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/voicerec/backend/infra/recorder"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	ctx := func(key, def string) string {
		if v, ok := app.Node().TryGetContext(jsii.String(key)).(string); ok && v != "" {
			return v
		}
		return def
	}
	stage := ctx("stage", "dev")
	env := map[string]string{}
	for key, name := range map[string]string{
		"googleClientIds": "GOOGLE_CLIENT_IDS", "appleClientIds": "APPLE_CLIENT_IDS", "kakaoClientIds": "KAKAO_CLIENT_IDS",
		"logLevel": "LOG_LEVEL", "maxUploadBytes": "MAX_UPLOAD_BYTES", "quotaMaxBytes": "QUOTA_MAX_BYTES",
		"quotaMaxRecordings": "QUOTA_MAX_RECORDINGS", "quotaMaxPendingUploads": "QUOTA_MAX_PENDING_UPLOADS",
		"multipartThresholdBytes": "MULTIPART_THRESHOLD_BYTES",
		"multipartPartSize":       "MULTIPART_PART_SIZE", "multipartUploadTtl": "MULTIPART_UPLOAD_TTL",
		"webGoogleClientId": "WEB_GOOGLE_CLIENT_ID",
	} {
		if v := ctx(key, ""); v != "" {
			env[name] = v
		}
	}
	num := func(key string, def float64) float64 {
		if v, err := strconv.ParseFloat(ctx(key, ""), 64); err == nil {
			return v
		}
		return def
	}
	// One list of web origins for the HTTP API, the bucket and the API's
	// CORS_ALLOWED_ORIGINS (which refuses, at start, anything not an origin).
	var origins []string
	for _, o := range strings.Split(ctx("corsOrigins", ""), ",") {
		if o = strings.TrimSuffix(strings.TrimSpace(o), "/"); o != "" {
			origins = append(origins, o)
		}
	}
	var apple *recorder.AppleProps
	if team := ctx("appleTeamId", ""); team != "" {
		apple = &recorder.AppleProps{TeamID: team, KeyID: ctx("appleKeyId", ""), PrivateKeySecretARN: ctx("applePrivateKeySecretArn", "")}
	}
	var kakao *recorder.KakaoProps
	if id := ctx("kakaoAppId", ""); id != "" {
		kakao = &recorder.KakaoProps{AppID: id, AdminKeySecretARN: ctx("kakaoAdminKeySecretArn", "")}
	}
	recorder.New(app, "recorder-"+stage, recorder.Props{
		Apple: apple,
		Kakao: kakao,
		StackProps: awscdk.StackProps{
			Env:         environment(),
			Description: jsii.String("Voice recorder backend, stage " + stage),
		},
		Stage:         stage,
		APIZip:        ctx("apiZip", "../dist/api.zip"),
		EventsZip:     ctx("eventsZip", "../dist/events.zip"),
		Retain:        ctx("removalPolicy", "retain") != "destroy",
		CORSOrigins:   origins,
		Env:           env,
		AlarmEmail:    ctx("alarmEmail", ""),
		ThrottleRate:  num("throttleRate", 100),
		ThrottleBurst: num("throttleBurst", 200),
	})
	app.Synth(nil)
}

// environment pins the stack to the deployer's account and region when the
// CDK CLI provides them; synth without credentials stays environment-agnostic.
func environment() *awscdk.Environment {
	account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION")
	if account == "" || region == "" {
		return nil
	}
	return &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
}
