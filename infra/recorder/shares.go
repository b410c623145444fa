package recorder

import (
	"math"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
)

// ShareRoutes are the public shared-link routes, served by the API's
// function on the same HTTP API as everything else.
var ShareRoutes = []string{"GET /s/{token}", "GET /s/{token}/audio"}

// addShareRoutes gives the shared links routes of their own, so the stage
// can throttle them apart: the per-address limit (SHARE_RATE_LIMIT) lives
// in each function instance, and this is the bound across all of them on
// what guessing tokens can cost, at half the API's own rates.
func addShareRoutes(api awsapigatewayv2.HttpApi, stage awsapigatewayv2.HttpStage, fn awslambda.IFunction, p Props) {
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("Shares"), fn, nil)
	cfnStage := stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	for _, path := range []string{"/s/{token}", "/s/{token}/audio"} {
		routes := api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET},
			Integration: integration,
		})
		// A stage's route settings name routes that must exist first.
		for _, r := range *routes {
			cfnStage.Node().AddDependency(r)
		}
	}
	for _, route := range ShareRoutes {
		cfnStage.AddPropertyOverride(jsii.String("RouteSettings."+route+".ThrottlingRateLimit"), math.Max(1, p.ThrottleRate/2))
		cfnStage.AddPropertyOverride(jsii.String("RouteSettings."+route+".ThrottlingBurstLimit"), math.Max(1, math.Floor(p.ThrottleBurst/2)))
	}
}
