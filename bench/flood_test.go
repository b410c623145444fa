package bench

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/auth"
)

// 11. What one anonymous address can make the API ask of DynamoDB: 32
// concurrent closed-loop clients from one address sending made-up,
// well-formed session tokens to GET /v1/me, and the same clients asking
// GET /readyz. DynamoDB calls counted at the relay in front of it, per
// second and per request. "before" is the failure budget configured out of
// reach (AUTH_FAILURE_RATE_LIMIT and _BURST at 1048576), "after" its
// defaults; /readyz has no switch, its figures are the cached check's.
func BenchmarkAnonymousFlood(b *testing.B) {
	off := map[string]string{"AUTH_FAILURE_RATE_LIMIT": "1048576", "AUTH_FAILURE_RATE_BURST": "1048576"}
	for _, tc := range []struct {
		name, path string
		env        map[string]string
	}{
		{"tokens/before", "/v1/me", off},
		{"tokens/after", "/v1/me", nil},
		{"readyz/after", "/readyz", nil},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p := startAPI(b, tc.env)
			const clients = 32
			var total, refused, unauthorized, ok atomic.Int64
			deadline := time.Now().Add(loadDuration())
			calls0, t0 := p.DynamoCalls(), time.Now()
			var wg sync.WaitGroup
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := &http.Client{}
					for time.Now().Before(deadline) {
						token := ""
						if tc.path != "/readyz" {
							token = madeUpToken(b)
						}
						st, err := p.call(c, token, http.MethodGet, tc.path, nil, nil)
						if err != nil {
							b.Error(err)
							return
						}
						total.Add(1)
						switch st {
						case http.StatusTooManyRequests:
							refused.Add(1)
						case http.StatusUnauthorized:
							unauthorized.Add(1)
						case http.StatusOK:
							ok.Add(1)
						default:
							b.Errorf("%s answered %d", tc.path, st)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed, calls := time.Since(t0), p.DynamoCalls()-calls0
			n := max(total.Load(), 1)
			b.ReportMetric(float64(calls)/elapsed.Seconds(), "ddb-calls/s")
			b.ReportMetric(float64(calls)/float64(n), "ddb-calls/req")
			b.ReportMetric(float64(n)/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(unauthorized.Load()), "answered-401")
			b.ReportMetric(float64(refused.Load()), "answered-429")
			b.ReportMetric(float64(ok.Load()), "answered-200")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// madeUpToken has the shape of a session token and belongs to nobody.
func madeUpToken(tb testing.TB) string {
	token, _, err := auth.NewSessionToken()
	if err != nil {
		tb.Fatal(err)
	}
	return token
}
