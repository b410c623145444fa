package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/labstack/echo/v4"
)

// LambdaHandler serves API Gateway HTTP API (payload v2) events with app,
// the same echo application the plain server runs. It converts events with
// the aws-lambda-go-api-proxy accessor but then sets the headers itself: the
// library splits every value on commas ("Idempotency-Key: order-1,retry-2"
// became two values), which a plain HTTP server never does. A header sent
// twice reaches Lambda already joined by API Gateway, so it arrives as one
// comma-joined value. The client address is requestContext.http.sourceIp
// (see WithSourceIP).
func LambdaHandler(app *echo.Echo) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	var accessor core.RequestAccessorV2
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		ctx = WithSourceIP(ctx, ev.RequestContext.HTTP.SourceIP)
		req, err := accessor.EventToRequestWithContext(ctx, ev)
		if err != nil {
			return core.GatewayTimeoutV2(), core.NewLoggedError("could not convert the event to a request: %v", err)
		}
		req.Header = eventHeaders(ev)
		w := core.NewProxyResponseWriterV2()
		app.ServeHTTP(http.ResponseWriter(w), req)
		resp, err := w.GetProxyResponse()
		if err != nil {
			return core.GatewayTimeoutV2(), core.NewLoggedError("could not build the response: %v", err)
		}
		return resp, nil
	}
}

// eventHeaders is the event's headers, one value each, as sent.
func eventHeaders(ev events.APIGatewayV2HTTPRequest) http.Header {
	h := make(http.Header, len(ev.Headers)+1)
	for k, v := range ev.Headers {
		h.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		h.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	return h
}
