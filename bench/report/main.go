// Command report turns the output of `go test -bench` (benchstat's input
// format) into bench/results.md and the README's performance block, so no
// figure is ever typed in by hand.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// about explains each benchmark family in the results file.
var about = map[string]string{
	"BytesThroughServer":  "Audio goes from the app straight to storage. What the API process receives per upload (create, confirmation polls, download link, delete) and its peak RSS, against what a body-proxying server would receive.",
	"RouteOverhead":       "Latency through the API (sequential requests) next to the floor, the route's own DynamoDB operation made directly (one round trip, no session check), interleaved, 400 of each; ddb-calls/req is what the API sent to DynamoDB per request, counted at a relay in front of it.",
	"RouteCPU":            "The API process's CPU time (user+sys, from /proc) per request under 32 concurrent closed-loop clients, with the DynamoDB calls per request (counted at a relay in front of DynamoDB), the sustained rate and latency; create with 0, 10 and 90 uploads already pending per user (the in-flight cap is 100), and the API at GOGC=400 as deployed.",
	"ConfirmationLatency": "From the end of the presigned PUT to the recording being listed as available, through MinIO's webhook and the events handler.",
	"CompleteLatency":     "From the end of the presigned PUT to POST /v1/recordings/{id}/complete answering available in the client's hands (the webhook's event racing it); answered-pending counts completes that had to fall back to polling. Goal: p99 at most 100 ms locally.",
	"ChangeFeed":          "The change feed through the store, with SDK middleware counting DynamoDB calls and consumed capacity (DynamoDB Local's per-table totals): one recording's lifecycle (create, confirm, rename, trash, restore, purge) with the feed's share of its writes; an empty poll with an up-to-date cursor; a page of 100 changes while the user's feed holds 100 or 10,000 older changes (flat: the Query starts at the cursor).",
	"ListCost":            "One page of 50 for a user with 50 recordings while the table holds more and more recordings of other users: consumed read capacity and latency. Also a reconcile pass with nothing due at each size: it reads only the sparse by-due index, so its cost does not grow with the table.",
	"ColdStart":           "Size of the Lambda binaries as deployed (linux/arm64, stripped) and the API's time from exec to its first served request in server mode (median of 20).",
	"LifecycleCost":       "Dollars per million upload lifecycles (create, PUT, confirmation with the audio check, list, one GET with its download link, the download) on AWS, split by service, from what SDK middleware counted on the backend's own clients (DynamoDB consumed capacity, S3 requests), the app's own PUT and GET, Lambda invocations and measured handler time, HTTP API requests and log bytes, at dated list prices (bench/cost_test.go); next to a month of storing those recordings (1 MiB each) in S3 Standard. This round's features each have their own line, per million uses: of-which-change-feed-usd (the feed's share of dynamodb-usd, already in the total), transcribe-usd (Amazon Transcribe for a two-minute memo, list price), search-index-usd (indexing that memo's transcript), share-create-usd and share-view-usd (a link made; one visit: page, audio redirect, the player's GET).",
	"Probe":               "Bytes and ranged reads one audio check takes, per format, for a 1 MiB and a 1 GiB recording (virtual files built from real encoders' heads and tails): bounded whatever the size.",
	"Search":              "GET /v1/recordings?q= for a user with 1,000 transcribed three-minute recordings (synthetic Korean and English speech, 450 words each), in process against DynamoDB Local: p50/p99 of Store.Search beside a plain GetItem's p50 (the round trip's floor on this machine), DynamoDB calls and read units per query over six queries from common to rare words; users=2 repeats it with a second user as big in the table. Indexing cost measured while seeding: write units per recording and per minute of speech.",
	"CLIUpload":           "A 1 GiB recording uploaded by the built CLI to the local stack, as one presigned PUT and as a multipart upload (16 MiB parts, 4 at a time): wall time to confirmed, the CLI's peak RSS, and the bytes the API saw.",
	"ExportArchive":       "An export of 2 GiB of recordings (8 of 256 MiB) by the export worker as its own process: wall time, throughput, the worker's own peak RSS (its VmHWM; goal flat and under 128 MiB), the S3 requests counted at a relay, and what a GiB exported costs on AWS (requests, a week of S3 Standard, Lambda at 512 MB for the measured time).",
	"SignDownloadPage":    "What `include=download_url` adds to a page of `GET /v1/recordings`: one presigned GET per available item, signed as the handler signs it. Local CPU only, no request leaves the process.",
	"ListDownloadURLs":    "The route that signs the most URLs, GET /v1/recordings?include=download_url on a full page (100 available recordings, 100 presigned GETs), through the API process: sequential requests (what one Lambda instance, one request at a time, adds), then 32 closed-loop clients; CPU per request from /proc and its Lambda price (a CPU-bound second is billed as 1.769 GB-s), in 4 rounds whose extremes give the spread.",
	"AnonymousFlood":      "What one anonymous address makes the API ask of DynamoDB: 32 concurrent closed-loop clients from one address, each request with a made-up, well-formed session token (GET /v1/me) or to GET /readyz, for the load duration; DynamoDB calls counted at a relay in front of it. tokens/before has the failure budget configured out of reach (AUTH_FAILURE_RATE_LIMIT and _BURST at 1048576), tokens/after has its defaults (60 a minute, 30 at once); /readyz answers from a check at most 5 s old.",
	"LambdaColdStart":     "Each Lambda function's bootstrap (built as make build builds it, for this machine) started afresh under AWS's Runtime Interface Emulator with the synthesized template's environment, five times: from the first invoke's send to its answer (a /healthz event for the API, a notification about an unknown recording for the events function, a schedule for the reconciler, a queue message about an export nobody started for the export worker), the init the emulator measured, and the bootstrap's peak RSS.",
	"Load":                "32 simulated apps for a fixed time, each repeating login, create, PUT, wait for confirmation, list, get, download, delete. Memory and goroutines of the API before, at peak and after.",
}

type result struct {
	family, name string
	metrics      [][2]string // value, unit
}

func main() {
	in := flag.String("in", "", "go test -bench output")
	out := flag.String("out", "bench/results.md", "results file to write")
	readme := flag.String("readme", "README.md", "README whose performance block is replaced")
	cmd := flag.String("cmd", "make bench", "the command that produced the input")
	flag.Parse()
	raw, err := os.ReadFile(*in)
	if err != nil {
		fail(err)
	}
	results, cpu := parse(raw)
	if len(results) == 0 {
		fail(fmt.Errorf("no benchmark results in %s", *in))
	}
	host := fmt.Sprintf("%s, %d CPUs, %s/%s, %s", cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	var doc bytes.Buffer
	fmt.Fprintf(&doc, "# Benchmark results\n\nWritten by `%s` on %s.\nMachine: %s.\n\n", *cmd, time.Now().UTC().Format("2006-01-02 15:04 MST"), host)
	fmt.Fprintf(&doc, "The emulators (DynamoDB Local, MinIO) run on the same machine as the API and the load, so absolute figures are a laptop's; ratios and flatness are what carry over.\n\n")
	writeTables(&doc, results, "##")
	fmt.Fprintf(&doc, "## Raw output\n\nIn benchstat's format (`benchstat` reads this block).\n\n```\n%s```\n", raw)
	if err := os.WriteFile(*out, doc.Bytes(), 0o644); err != nil {
		fail(err)
	}
	if *readme != "" {
		var block bytes.Buffer
		fmt.Fprintf(&block, "Latest run (`%s`, %s, %s; full output in [bench/results.md](bench/results.md)):\n\n", *cmd, time.Now().UTC().Format("2006-01-02"), host)
		writeTables(&block, results, "####")
		if err := replaceBlock(*readme, block.String()); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(1)
}

// parse reads benchmark lines: name, iterations, then value/unit pairs.
func parse(raw []byte) (results []result, cpu string) {
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "cpu: "); ok {
			cpu = v
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i] // the GOMAXPROCS suffix
		}
		family, sub, _ := strings.Cut(name, "/")
		r := result{family: family, name: sub}
		for i := 2; i+1 < len(f); i += 2 {
			if f[i+1] == "ns/op" {
				continue // every benchmark here reports its own metrics
			}
			r.metrics = append(r.metrics, [2]string{f[i], f[i+1]})
		}
		results = append(results, r)
	}
	return results, cpu
}

// writeTables writes one table per family, a column per metric.
func writeTables(w io.Writer, results []result, heading string) {
	var order []string
	byFamily := map[string][]result{}
	for _, r := range results {
		if _, seen := byFamily[r.family]; !seen {
			order = append(order, r.family)
		}
		byFamily[r.family] = append(byFamily[r.family], r)
	}
	for _, fam := range order {
		rs := byFamily[fam]
		fmt.Fprintf(w, "%s %s\n\n", heading, fam)
		if a := about[fam]; a != "" {
			fmt.Fprintf(w, "%s\n\n", a)
		}
		var units []string
		seen := map[string]bool{}
		for _, r := range rs {
			for _, m := range r.metrics {
				if !seen[m[1]] {
					seen[m[1]] = true
					units = append(units, m[1])
				}
			}
		}
		if len(units) > 8 && len(rs) == 1 {
			// Many metrics of one run read better as rows.
			fmt.Fprintf(w, "| metric | value |\n| --- | ---: |\n")
			for _, m := range rs[0].metrics {
				fmt.Fprintf(w, "| %s | %s |\n", m[1], m[0])
			}
			fmt.Fprintln(w)
			continue
		}
		fmt.Fprintf(w, "| case | %s |\n|---|%s\n", strings.Join(units, " | "), strings.Repeat("---:|", len(units)))
		for _, r := range rs {
			vals := map[string]string{}
			for _, m := range r.metrics {
				vals[m[1]] = m[0]
			}
			row := make([]string, len(units))
			for i, u := range units {
				row[i] = vals[u]
			}
			name := r.name
			if name == "" {
				name = fam
			}
			fmt.Fprintf(w, "| %s | %s |\n", name, strings.Join(row, " | "))
		}
		fmt.Fprintln(w)
	}
}

const (
	begin = "<!-- bench:begin (written by make bench) -->"
	end   = "<!-- bench:end -->"
)

func replaceBlock(path, block string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(raw)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q ... %q block", path, begin, end)
	}
	s = s[:i+len(begin)] + "\n" + block + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
