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
// proportional to memory, so a CPU-bound millisecond is billed as 1.769
// GB-ms whatever the function's memory setting.
const lambdaGBPerVCPU = 1.769

// signerVariant is one build of the API: the default one signs download
// URLs with v4.Signer.PresignHTTP directly, the presign_sdk one with the
// SDK's presign client.
type signerVariant struct {
	name string
	p    *apiProcess
	path string // the listing, with its user's token
	tok  string
	// per round
	seqLat, loadLat []*latencies
	seqCPU, loadCPU []float64 // µs per request
	loadRate        []float64
}

// 10. What signing download URLs directly saves on the route that signs
// the most: GET /v1/recordings?include=download_url on a full page (100
// available recordings, 100 URLs). Two API processes, identical but for
// how they sign, are measured in alternation so both see the same machine:
// each round runs sequential requests interleaved one by one (latency as
// one Lambda instance, which serves one request at a time, would see it),
// then 32 closed-loop clients on each in turn (CPU per request from /proc).
// Per-round figures give the spread.
func BenchmarkListDownloadURLs(b *testing.B) {
	const items, rounds, seqPerRound, clients = 100, 4, 100, 32
	variants := []*signerVariant{{name: "direct"}, {name: "sdk"}}
	for _, v := range variants {
		tags := ""
		if v.name == "sdk" {
			tags = "presign_sdk"
		}
		v.p = startAPIBuilt(b, nil, tags)
		v.tok = v.p.Login(b, "lister-"+v.name)
		seedRecordings(b, v.p, userIDOf(b, v.p, v.tok), items)
		v.path = fmt.Sprintf("/v1/recordings?limit=%d&include=download_url", items)
		// The page is full and every item carries its URL.
		var page struct {
			Items []map[string]any `json:"items"`
		}
		if st, err := v.p.call(&http.Client{}, v.tok, http.MethodGet, v.path, nil, &page); err != nil || st != http.StatusOK {
			b.Fatalf("%s: list: %d %v", v.name, st, err)
		}
		signed := 0
		for _, it := range page.Items {
			if _, ok := it["download"]; ok {
				signed++
			}
		}
		if len(page.Items) != items || signed != items {
			b.Fatalf("%s: %d items, %d with a download URL, want %d", v.name, len(page.Items), signed, items)
		}
	}
	list := func(v *signerVariant, c *http.Client) error {
		st, err := v.p.call(c, v.tok, http.MethodGet, v.path, nil, nil)
		if err == nil && st != http.StatusOK {
			err = fmt.Errorf("status %d", st)
		}
		return err
	}
	roundLoad := loadDuration() / rounds
	for r := range rounds {
		// Sequential, interleaved request by request.
		for _, v := range variants {
			v.seqLat = append(v.seqLat, &latencies{})
		}
		cpu0 := []time.Duration{variants[0].p.CPUTime(b), variants[1].p.CPUTime(b)}
		c := &http.Client{}
		for i := range seqPerRound * 2 {
			v := variants[(i+r)%2]
			t0 := time.Now()
			if err := list(v, c); err != nil {
				b.Fatalf("%s: %v", v.name, err)
			}
			v.seqLat[r].add(time.Since(t0))
		}
		for i, v := range variants {
			v.seqCPU = append(v.seqCPU, float64((v.p.CPUTime(b)-cpu0[i]).Microseconds())/seqPerRound)
		}
		// Under load, one variant after the other, the first alternating.
		for k := range 2 {
			v := variants[(k+r)%2]
			lat := &latencies{}
			cpu := v.p.CPUTime(b)
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
						err := list(v, c)
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
				b.Fatalf("%s under load: %v", v.name, failed)
			}
			v.loadCPU = append(v.loadCPU, float64((v.p.CPUTime(b)-cpu).Microseconds())/float64(n))
			v.loadRate = append(v.loadRate, float64(n)/elapsed.Seconds())
			v.loadLat = append(v.loadLat, lat)
		}
	}
	direct := variants[0]
	for _, v := range variants {
		b.Run("sequential/signer="+v.name, func(b *testing.B) {
			all := merged(v.seqLat)
			b.ReportMetric(ms(all.pct(.5)), "p50-ms")
			b.ReportMetric(ms(all.pct(.99)), "p99-ms")
			p50s := roundPcts(v.seqLat, .5)
			b.ReportMetric(slices.Min(p50s), "p50-ms-min-round")
			b.ReportMetric(slices.Max(p50s), "p50-ms-max-round")
			b.ReportMetric(mean(v.seqCPU), "cpu-us/req")
			b.ReportMetric(slices.Min(v.seqCPU), "cpu-us/req-min-round")
			b.ReportMetric(slices.Max(v.seqCPU), "cpu-us/req-max-round")
			b.ReportMetric(ms(all.pct(.5))/ms(merged(direct.seqLat).pct(.5)), "p50-vs-direct")
			b.ReportMetric(mean(v.seqCPU)/mean(direct.seqCPU), "cpu-vs-direct")
			b.ReportMetric(mean(v.seqCPU)/1e6*lambdaGBPerVCPU*usdPerGBSecondArm*1e6, "lambda-usd/million-req")
			b.ReportMetric(0, "ns/op")
		})
	}
	for _, v := range variants {
		b.Run(fmt.Sprintf("clients=%d/signer=%s", clients, v.name), func(b *testing.B) {
			all := merged(v.loadLat)
			b.ReportMetric(ms(all.pct(.5)), "p50-ms")
			b.ReportMetric(ms(all.pct(.99)), "p99-ms")
			p50s := roundPcts(v.loadLat, .5)
			b.ReportMetric(slices.Min(p50s), "p50-ms-min-round")
			b.ReportMetric(slices.Max(p50s), "p50-ms-max-round")
			b.ReportMetric(mean(v.loadCPU), "cpu-us/req")
			b.ReportMetric(slices.Min(v.loadCPU), "cpu-us/req-min-round")
			b.ReportMetric(slices.Max(v.loadCPU), "cpu-us/req-max-round")
			b.ReportMetric(ms(all.pct(.5))/ms(merged(direct.loadLat).pct(.5)), "p50-vs-direct")
			b.ReportMetric(mean(v.loadCPU)/mean(direct.loadCPU), "cpu-vs-direct")
			b.ReportMetric(mean(v.loadCPU)/1e6*lambdaGBPerVCPU*usdPerGBSecondArm*1e6, "lambda-usd/million-req")
			b.ReportMetric(mean(v.loadRate), "req/s")
			b.ReportMetric(0, "ns/op")
		})
	}
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
