package export_test

import (
	"bytes"
	"context"
	"io"
	"net/url"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
)

// S3 list prices in us-east-1, USD: what one GiB exported costs is read
// off the measured requests and time with these.
const (
	usdPerGetRequest   = 0.0004 / 1000
	usdPerPutRequest   = 0.005 / 1000 // PUT, POST, LIST, multipart parts
	usdPerGiBMonth     = 0.023        // S3 Standard
	usdPerGBSecond     = 0.0000166667 // Lambda, x86
	exportLambdaMemory = 0.5          // GB, infra/'s export function
	retentionDays      = 7.0
)

// BenchmarkExportArchive exports EXPORT_BENCH_BYTES (default 2 GiB) of
// recordings with the worker as its own process, reading and writing S3
// through a relay that counts the requests, and reports the wall time,
// throughput, the worker's own peak RSS and what a GiB costs.
func BenchmarkExportArchive(b *testing.B) {
	total := int64(2 << 30)
	if v, err := strconv.ParseInt(os.Getenv("EXPORT_BENCH_BYTES"), 10, 64); err == nil && v > 0 {
		total = v
	}
	const n = 8
	e := testenv.Get(b)
	var requests atomic.Int64
	u, err := url.Parse(e.MinIO.Endpoint())
	if err != nil {
		b.Fatal(err)
	}
	relay := testenv.Forward(b, u.Host, func(up io.Writer) io.Writer { return &requestCounter{w: up, n: &requests} })
	w := newWorld(b, nil)
	w.env["AWS_ENDPOINT_URL_S3"] = relay
	user := recording.NewID(time.Now())
	names := make([]string, n)
	for i := range names {
		names[i] = "녹음 " + strconv.Itoa(i) + ".m4a"
	}
	w.seed(b, user, names, total/n)

	for b.Loop() {
		v, msg := w.start(b, user)
		before := requests.Load()
		t0 := time.Now()
		cmd, out := w.child(b, msg)
		if err := cmd.Wait(); err != nil {
			b.Fatalf("worker: %v\n%s", err, out)
		}
		wall := time.Since(t0)
		reqs := requests.Load() - before
		got := w.get(b, user, v.ID)
		if got.Status != recording.ExportReady {
			b.Fatalf("export %+v\n%s", got, out)
		}
		rss := peakRSS(b, out.String())
		gib := float64(*got.SizeBytes) / (1 << 30)
		gets := float64(n)
		puts := float64(reqs) - gets
		requestUSD := (gets*usdPerGetRequest + puts*usdPerPutRequest) / gib
		storageUSD := usdPerGiBMonth * retentionDays / 30
		lambdaUSD := wall.Seconds() * exportLambdaMemory * usdPerGBSecond / gib
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(*got.SizeBytes)/(1<<20)/wall.Seconds(), "MiB/s")
		b.ReportMetric(float64(rss)/1024, "worker-peak-rss-MiB")
		b.ReportMetric(float64(reqs), "s3-requests")
		b.ReportMetric(requestUSD+storageUSD+lambdaUSD, "usd-per-GiB")
		b.ReportMetric(storageUSD, "storage-usd-per-GiB-week")
		b.ReportMetric(0, "ns/op")
		// The archive is not needed past the measure.
		_ = w.parts.Objects.Delete(context.Background(), recording.ExportKey(user, v.ID))
	}
}

// requestCounter counts HTTP/1.1 request lines in a client's stream, also
// when one is split between two writes. A request line's " HTTP/1.1\r\n"
// cannot be confused with body bytes in practice (11 fixed bytes).
type requestCounter struct {
	w    io.Writer
	n    *atomic.Int64
	tail []byte
}

var requestLineEnd = []byte(" HTTP/1.1\r\n")

func (c *requestCounter) Write(p []byte) (int, error) {
	buf := append(c.tail, p...)
	c.n.Add(int64(bytes.Count(buf, requestLineEnd)))
	keep := min(len(buf), len(requestLineEnd)-1)
	c.tail = append([]byte(nil), buf[len(buf)-keep:]...)
	return c.w.Write(p)
}
