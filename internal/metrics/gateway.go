package metrics

import "strings"

// GatewayAccessLogFormat is the HTTP API's access log line, one JSON line
// per request, readable in Logs Insights. It lives beside the metrics, not
// in infra/, because the cost benchmark bills its bytes: the gateway writes
// it for every request, including those the function never sees (throttled,
// oversized, unrouted).
const GatewayAccessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","method":"$context.httpMethod",` +
	`"path":"$context.path","status":"$context.status","latencyMs":"$context.responseLatency",` +
	`"integrationLatencyMs":"$context.integrationLatency","bytes":"$context.responseLength","error":"$context.integrationErrorMessage"}`

// typicalGatewayContext are plausible values of the variables above for a
// recording route: what a line weighs when CloudWatch Logs bills it.
var typicalGatewayContext = strings.NewReplacer(
	"$context.requestId", "Q2xJ0hH1IAMEb2w=",
	"$context.identity.sourceIp", "203.0.113.45",
	"$context.httpMethod", "GET",
	"$context.path", "/v1/recordings/01JEXAMPLE7Q0M2W6V3N9XK4RZT",
	"$context.status", "200",
	"$context.responseLatency", "24",
	"$context.integrationLatency", "22",
	"$context.responseLength", "1432",
	"$context.integrationErrorMessage", "-",
)

// TypicalGatewayAccessLogLine is GatewayAccessLogFormat filled with values
// typical of a recording route, newline included.
func TypicalGatewayAccessLogLine() string {
	return typicalGatewayContext.Replace(GatewayAccessLogFormat) + "\n"
}
