package bench

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// lambdaGBPerVCPU is the memory at which Lambda gives a function one full
// vCPU (AWS Lambda documentation: 1,769 MB). Below it the CPU share is
// proportional to memory, so a CPU-bound second is billed as 1.769 GB-s
// whatever the function's memory setting.
const lambdaGBPerVCPU = 1.769

// 10. The route that signs the most URLs: GET
// /v1/recordings?include=download_url on a full page (100 available
// recordings, 100 presigned GETs). In rounds, so the spread shows: first
// sequential requests (the latency one Lambda instance, which serves one
// request at a time, would add), then 32 closed-loop clients (CPU per
// request from /proc, and what it costs as Lambda time).
func BenchmarkListDownloadURLs(b *testing.B) {
	const items, rounds, seqPerRound, clients = 100, 4, 100, 32
	p := startAPI(b, nil)
	tok := p.Login(b, "lister")
	seedRecordings(b, p, userIDOf(b, p, tok), items)
	path := fmt.Sprintf("/v1/recordings?limit=%d&include=download_url", items)
	// The page is full and every item carries its URL.
	var page struct {
		Items []map[string]any `json:"items"`
	}
	if st, err := p.call(&http.Client{}, tok, http.MethodGet, path, nil, &page); err != nil || st != http.StatusOK {
		b.Fatalf("list: %d %v", st, err)
	}
	signed := 0
	for _, it := range page.Items {
		if _, ok := it["download"]; ok {
			signed++
		}
	}
	if len(page.Items) != items || signed != items {
		b.Fatalf("%d items, %d with a download URL, want %d", len(page.Items), signed, items)
	}
	list := func(c *http.Client) error {
		st, err := p.call(c, tok, http.MethodGet, path, nil, nil)
		if err == nil && st != http.StatusOK {
			err = fmt.Errorf("status %d", st)
		}
		return err
	}
	var seqLat, loadLat []*latencies
	var seqCPU, loadCPU, loadRate []float64 // per round; CPU in µs per request
	roundLoad := loadDuration() / rounds
	for range rounds {
		lat := &latencies{}
		cpu := p.CPUTime(b)
		c := &http.Client{}
		for range seqPerRound {
			t0 := time.Now()
			if err := list(c); err != nil {
				b.Fatal(err)
			}
			lat.add(time.Since(t0))
		}
		seqCPU = append(seqCPU, float64((p.CPUTime(b)-cpu).Microseconds())/seqPerRound)
		seqLat = append(seqLat, lat)

		lat = &latencies{}
		cpu = p.CPUTime(b)
		deadline := time.Now().Add(roundLoad)
		t0 := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		n := 0
		var failed error
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := &http.Client{}
				for time.Now().Before(deadline) {
					s := time.Now()
					err := list(c)
					lat.add(time.Since(s))
					mu.Lock()
					n++
					if err != nil && failed == nil {
						failed = err
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(t0)
		if failed != nil {
			b.Fatalf("under load: %v", failed)
		}
		loadCPU = append(loadCPU, float64((p.CPUTime(b)-cpu).Microseconds())/float64(n))
		loadRate = append(loadRate, float64(n)/elapsed.Seconds())
		loadLat = append(loadLat, lat)
	}
	report := func(b *testing.B, lat []*latencies, cpu []float64) {
		all := merged(lat)
		b.ReportMetric(ms(all.pct(.5)), "p50-ms")
		b.ReportMetric(ms(all.pct(.99)), "p99-ms")
		p50s := roundPcts(lat, .5)
		b.ReportMetric(slices.Min(p50s), "p50-ms-min-round")
		b.ReportMetric(slices.Max(p50s), "p50-ms-max-round")
		b.ReportMetric(mean(cpu), "cpu-us/req")
		b.ReportMetric(slices.Min(cpu), "cpu-us/req-min-round")
		b.ReportMetric(slices.Max(cpu), "cpu-us/req-max-round")
		b.ReportMetric(mean(cpu)/1e6*lambdaGBPerVCPU*usdPerGBSecondArm*1e6, "lambda-cpu-usd/million-req")
		b.ReportMetric(0, "ns/op")
	}
	b.Run("sequential", func(b *testing.B) { report(b, seqLat, seqCPU) })
	b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
		report(b, loadLat, loadCPU)
		b.ReportMetric(mean(loadRate), "req/s")
	})
}

// merged is every latency of the rounds together.
func merged(rounds []*latencies) *latencies {
	all := &latencies{}
	for _, l := range rounds {
		all.d = append(all.d, l.d...)
	}
	return all
}

// roundPcts is percentile p of each round, in ms.
func roundPcts(rounds []*latencies, p float64) []float64 {
	out := make([]float64, len(rounds))
	for i, l := range rounds {
		out[i] = ms(l.pct(p))
	}
	return out
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
