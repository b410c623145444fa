package recorder

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// suppress records, next to the resources, why each cdk-nag AwsSolutions
// finding that remains is accepted. The infra tests fail on any finding
// without such a reason.
func suppress(stack awscdk.Stack, fns []*function, bucket awss3.Bucket, httpAPI awsapigatewayv2.HttpApi) {
	objects := map[string]any{"regex": "/^Resource::.*/recordings/\\*$/"}
	for _, f := range fns {
		cdknag.NagSuppressions_AddResourceSuppressions(f.Role, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("Object permissions are scoped to the recordings/ prefix of this one bucket; " +
				"object keys are per user and per recording, so no narrower static ARN exists."),
			AppliesTo: &[]any{objects},
		}}, jsii.Bool(true))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(bucket, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("Objects are only reachable through short-lived presigned URLs that the API issues and logs " +
			"(user, recording); enable CloudTrail S3 data events where an object-level audit trail is required."),
	}}, jsii.Bool(true))
	cdknag.NagSuppressions_AddResourceSuppressions(httpAPI, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-APIG4"),
		Reason: jsii.String("The API authenticates every route itself: social ID tokens on login, then hashed " +
			"session tokens; health checks and login must be reachable without a session."),
	}}, jsii.Bool(true))
	cdknag.NagSuppressions_AddResourceSuppressionsByPath(stack, jsii.String("/"+*stack.StackName()+"/EventsDeadLetterQueue/Resource"),
		&[]*cdknag.NagPackSuppression{{
			Id:     jsii.String("AwsSolutions-SQS3"),
			Reason: jsii.String("This queue is itself the dead-letter destination of the events function."),
		}}, jsii.Bool(false))
}
