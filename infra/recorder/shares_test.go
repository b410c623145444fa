package recorder_test

import (
	"slices"
	"testing"

	"github.com/voicerec/backend/infra/recorder"
)

// The shared links have routes of their own on the one HTTP API, to the
// API's function, throttled at half the stage's rates.
func TestShareRoutes(t *testing.T) {
	s := synth(t, true)
	var keys []string
	for _, r := range s.ofType("AWS::ApiGatewayV2::Route") {
		keys = append(keys, js(r.Properties["RouteKey"]))
	}
	for _, want := range recorder.ShareRoutes {
		if !slices.Contains(keys, js(want)) {
			t.Errorf("no route %s among %v", want, keys)
		}
	}
	_, stage := s.one(t, "AWS::ApiGatewayV2::Stage")
	for _, route := range recorder.ShareRoutes {
		rate, burst := js(get(stage.Properties, "RouteSettings", route, "ThrottlingRateLimit")), js(get(stage.Properties, "RouteSettings", route, "ThrottlingBurstLimit"))
		if rate != "25" || burst != "50" {
			t.Errorf("%s throttled at %s/s, burst %s; want 25 and 50", route, rate, burst)
		}
	}
}
