package artefact

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/export"
	"github.com/voicerec/backend/internal/recording"
)

// coldStarts is how many fresh emulators each function is started in.
const coldStarts = 5

// BenchmarkLambdaColdStart starts each function's bootstrap afresh under
// the emulator, with the template's environment, and times its first
// answer: from the invoke's send (the emulator execs the bootstrap then) to
// the answer, which includes the runtime's init. It reports the median,
// the init the emulator measured, and the bootstrap's peak RSS after it.
func BenchmarkLambdaColdStart(b *testing.B) {
	d := deploy(b)
	rie := d.api.cmd.Path
	cases := []struct {
		name, id  string
		bootstrap string
		extra     map[string]string
		payload   func() (any, error)
	}{
		{"function=api", apiFunctionID, apiBootstrap(d), map[string]string{"AWS_ENDPOINT_URL_LAMBDA": "http://" + d.events.addr},
			func() (any, error) {
				req, err := http.NewRequest(http.MethodGet, apiBase+"/healthz", nil)
				return eventV2(req, nil, defaultSourceIP, false), err
			}},
		// A notification about a recording nobody declared: the handler
		// reads its record and stops.
		{"function=events", eventsFunctionID, eventsBootstrap(d), nil, func() (any, error) {
			return s3NotificationFor(d.config.Bucket, "recordings/"+requestID()+"/"+requestID()+".wav", 4000, "0")
		}},
		{"function=reconciler", reconcilerFunctionID, eventsBootstrap(d), nil, func() (any, error) { return scheduledEvent(), nil }},
		// A message about an export nobody started: the worker reads its
		// record and stops.
		{"function=export", exportFunctionID, eventsBootstrap(d), nil, func() (any, error) {
			body := export.NewMessage(requestID(), recording.NewID(time.Now()))
			return sqsEvent(queuedMessage{QueueURL: exportQueueName, Body: string(body), id: requestID()}, "arn:aws:sqs:"+templateRegion+":"+templateAccount+":"+exportQueueName), nil
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var firsts, inits []float64
			var rss int64
			for i := 0; i < coldStarts; i++ {
				payload, err := c.payload()
				if err != nil {
					b.Fatal(err)
				}
				fn, err := d.start(c.id, rie, c.bootstrap, c.extra)
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				_, err = fn.invoke(context.Background(), payload)
				first := time.Since(t0)
				if err != nil {
					fn.stop()
					b.Fatalf("first invoke: %v\n%s", err, fn.logs.String())
				}
				r, err := fn.maxRSS()
				init, ok := initDuration(fn.logs.String())
				fn.stop()
				if err != nil {
					b.Fatal(err)
				}
				if !ok {
					b.Fatalf("the emulator reported no init duration:\n%s", fn.logs.String())
				}
				firsts, inits = append(firsts, ms(first)), append(inits, init)
				rss = max(rss, r)
			}
			b.ReportMetric(median(firsts), "first-answer-p50-ms")
			b.ReportMetric(median(inits), "init-p50-ms")
			b.ReportMetric(float64(rss)/(1<<20), "bootstrap-max-rss-MiB")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// initRE is the emulator's line on the runtime's init, logged before the
// invoke starts. (Its REPORT line's "Init Duration" is not the init, and is
// written after the answer.)
var initRE = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// initDuration is the init time the emulator measured.
func initDuration(logs string) (float64, bool) {
	m := initRE.FindStringSubmatch(logs)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

func apiBootstrap(d *deployment) string    { return filepath.Join(d.dir, "api", "bootstrap") }
func eventsBootstrap(d *deployment) string { return filepath.Join(d.dir, "events", "bootstrap") }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
