package bench

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/voicerec/backend/client"
	"github.com/voicerec/backend/internal/awsclients"
	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/devissuer"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/metrics"
	"github.com/voicerec/backend/internal/s3event"
	"github.com/voicerec/backend/internal/search"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/testaudio"
	"github.com/voicerec/backend/internal/wire"
	"github.com/voicerec/backend/server/api"
)

// Public on-demand prices, us-east-1, as published on the AWS pricing pages
// for each service in 2025 (after DynamoDB's November 2024 on-demand price
// cut). They are constants on purpose: the figure moves only when what we
// do moves. Check them before quoting the result.
const (
	priceDate             = "2025 list prices, us-east-1"
	usdPerMillionWRU      = 0.625
	usdPerMillionRRU      = 0.125
	usdPerThousandS3Write = 0.005  // PUT, COPY, POST, LIST, and lifecycle-class requests
	usdPerThousandS3Read  = 0.0004 // GET, HEAD and the rest
	usdPerGBMonthS3       = 0.023
	usdPer10kTagsMonth    = 0.01 // S3 object tags, billed per tag stored
	usdPerMillionLambda   = 0.20
	usdPerGBSecondArm     = 0.0000133334
	usdPerMillionHTTPAPI  = 1.00
	usdPerGBLogs          = 0.50 // CloudWatch Logs ingestion, EMF lines included
	apiMemoryGB           = 0.5  // infra: the API function has 512 MB
	eventsMemoryGB        = 0.25 // the events function has 256 MB
)

// usage is what the backend consumed, counted by SDK middleware on every
// client it uses.
type usage struct {
	mu       sync.Mutex
	wru, rru float64
	s3Write  int
	s3Read   int
	// s3Ops counts each S3 operation by name, so the log says which
	// requests a lifecycle pays for.
	s3Ops map[string]int
	// units counts DynamoDB capacity by operation, so the log says where
	// the dollars go.
	units map[string]float64
	// tableUSD is DynamoDB's dollars by table, so a feature whose items
	// live in a table of their own (the change feed) shows its own line.
	tableUSD map[string]float64
	// ddbCalls counts DynamoDB requests; refused counts transactions
	// DynamoDB cancelled (a condition or a conflict), whose capacity no
	// answer reports.
	ddbCalls, refused int
}

// reset forgets what was counted so far.
func (u *usage) reset() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.wru, u.rru, u.s3Write, u.s3Read, u.s3Ops, u.units, u.tableUSD = 0, 0, 0, 0, nil, nil, nil
	u.ddbCalls, u.refused = 0, 0
}

// dynamoUSD is what the DynamoDB capacity counted so far costs.
func (u *usage) dynamoUSD() float64 {
	return (u.wru*usdPerMillionWRU + u.rru*usdPerMillionRRU) / 1e6
}

func (u *usage) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("cost-usage",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			total := types.ReturnConsumedCapacityTotal
			switch p := in.Parameters.(type) {
			case *dynamodb.GetItemInput:
				p.ReturnConsumedCapacity = total
			case *dynamodb.PutItemInput:
				p.ReturnConsumedCapacity = total
			case *dynamodb.UpdateItemInput:
				p.ReturnConsumedCapacity = total
			case *dynamodb.DeleteItemInput:
				p.ReturnConsumedCapacity = total
			case *dynamodb.QueryInput:
				p.ReturnConsumedCapacity = total
			case *dynamodb.TransactWriteItemsInput:
				p.ReturnConsumedCapacity = total
			case *dynamodb.BatchWriteItemInput:
				p.ReturnConsumedCapacity = total
			case *dynamodb.BatchGetItemInput:
				p.ReturnConsumedCapacity = total
			}
			out, md, err := next.HandleInitialize(ctx, in)
			u.mu.Lock()
			defer u.mu.Unlock()
			// Presigning runs the same stack but sends nothing: it costs
			// nothing until the app uses the URL, which is counted apart.
			_, presigned := out.Result.(*v4.PresignedHTTPRequest)
			if awsmw.GetServiceID(ctx) == "DynamoDB" {
				u.ddbCalls++
				if _, tx := in.Parameters.(*dynamodb.TransactWriteItemsInput); tx && err != nil {
					u.refused++
				}
			}
			if awsmw.GetServiceID(ctx) == "S3" && !presigned {
				if u.s3Ops == nil {
					u.s3Ops = map[string]int{}
				}
				u.s3Ops[awsmw.GetOperationName(ctx)]++
				switch awsmw.GetOperationName(ctx) {
				case "PutObject", "CopyObject", "ListObjectsV2", "PutObjectTagging", "CreateMultipartUpload", "CompleteMultipartUpload", "UploadPart":
					u.s3Write++
				default: // HeadObject, GetObject (ranged reads), DeleteObject is free but rare here
					if awsmw.GetOperationName(ctx) != "DeleteObject" {
						u.s3Read++
					}
				}
			}
			add := func(cc *types.ConsumedCapacity) {
				if cc == nil {
					return
				}
				if u.units == nil {
					u.units = map[string]float64{}
				}
				u.units[awsmw.GetOperationName(ctx)+" "+aws.ToString(cc.TableName)] += aws.ToFloat64(cc.CapacityUnits)
				if u.tableUSD == nil {
					u.tableUSD = map[string]float64{}
				}
				// On-demand: a transactional write unit costs two WRUs, and
				// ConsumedCapacity already reports it that way.
				var wru, rru float64
				if cc.WriteCapacityUnits != nil {
					wru = *cc.WriteCapacityUnits
				}
				if cc.ReadCapacityUnits != nil {
					rru = *cc.ReadCapacityUnits
				}
				if cc.WriteCapacityUnits == nil && cc.ReadCapacityUnits == nil && cc.CapacityUnits != nil {
					// DynamoDB Local reports only the total; split by operation.
					switch awsmw.GetOperationName(ctx) {
					case "GetItem", "Query", "BatchGetItem":
						rru = *cc.CapacityUnits
					default:
						wru = *cc.CapacityUnits
					}
				}
				u.wru += wru
				u.rru += rru
				u.tableUSD[aws.ToString(cc.TableName)] += (wru*usdPerMillionWRU + rru*usdPerMillionRRU) / 1e6
			}
			switch o := out.Result.(type) {
			case *dynamodb.GetItemOutput:
				add(o.ConsumedCapacity)
			case *dynamodb.PutItemOutput:
				add(o.ConsumedCapacity)
			case *dynamodb.UpdateItemOutput:
				add(o.ConsumedCapacity)
			case *dynamodb.DeleteItemOutput:
				add(o.ConsumedCapacity)
			case *dynamodb.QueryOutput:
				add(o.ConsumedCapacity)
			case *dynamodb.TransactWriteItemsOutput:
				for i := range o.ConsumedCapacity {
					add(&o.ConsumedCapacity[i])
				}
			case *dynamodb.BatchWriteItemOutput:
				for i := range o.ConsumedCapacity {
					add(&o.ConsumedCapacity[i])
				}
			case *dynamodb.BatchGetItemOutput:
				for i := range o.ConsumedCapacity {
					add(&o.ConsumedCapacity[i])
				}
			}
			return out, md, err
		}), middleware.After)
}

// countingWriter counts log bytes, which CloudWatch Logs bills.
type countingWriter struct {
	mu sync.Mutex
	n  int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.n += len(p)
	c.mu.Unlock()
	return len(p), nil
}

// 9. What a million upload lifecycles cost on AWS: each is create, PUT,
// confirmation (with the audio check), list, download link and download.
// Everything the backend does is counted by middleware on its real SDK
// clients against the emulators; the client's own PUT and GET are counted
// as one S3 request each; Lambda time is the handlers' measured time.
func BenchmarkLifecycleCost(b *testing.B) {
	env := testenv.Get(b)
	iss := httptest.NewUnstartedServer(nil)
	issURL := "http://" + iss.Listener.Addr().String()
	issuer, err := devissuer.New(issURL, "bench")
	if err != nil {
		b.Fatal(err)
	}
	iss.Config.Handler = issuer.Handler()
	iss.Start()
	defer iss.Close()
	getenv := env.Getenv(b, map[string]string{
		"OIDC_PROVIDERS": "dev", "OIDC_DEV_ISSUER": issURL, "OIDC_DEV_JWKS_URL": issURL + "/jwks", "OIDC_DEV_CLIENT_IDS": "bench",
		"OIDC_DEV_REQUIRE_NONCE": "false", "LOGIN_RATE_LIMIT": "100000", "LOGIN_RATE_BURST": "100000",
		"SHARE_RATE_LIMIT": "100000", "SHARE_RATE_BURST": "100000",
	})
	cfg, err := config.Load(getenv)
	if err != nil {
		b.Fatal(err)
	}
	env.Provision(b, cfg)
	// The benchmark's own waiting reads through a client nobody counts.
	watch := dynamo.New(env.Clients(cfg).DynamoDB, cfg.TablePrefix)
	u := &usage{}
	awsCfg := testenv.AWSConfig(cfg.Region)
	awsCfg.APIOptions = append(awsCfg.APIOptions, u.middleware)
	clients := awsclients.From(cfg, awsCfg)
	logs := &countingWriter{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	parts, err := wire.Build(context.Background(), cfg, log, wire.WithClients(clients))
	if err != nil {
		b.Fatal(err)
	}
	app := api.New(api.Deps{Config: cfg, Log: log, Service: parts.Service})
	var apiTime time.Duration
	var apiCalls int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		app.ServeHTTP(w, r)
		mu.Lock()
		apiTime += time.Since(t0)
		apiCalls++
		mu.Unlock()
	}))
	defer srv.Close()
	// The events function is a process of its own, as on AWS: what it
	// remembers (a user's feed head) is not the API's.
	eventsParts, err := wire.Build(context.Background(), cfg, log, wire.WithClients(clients))
	if err != nil {
		b.Fatal(err)
	}
	handler := s3event.New(log, eventsParts.Keeper, eventsParts.Objects, cfg.ReconcileMaxItems)
	var eventsTime time.Duration
	var eventsCalls int
	env.OnEvent(b, cfg.Bucket, func(ctx context.Context, ev events.S3Event) error {
		t0 := time.Now()
		err := handler.Handle(ctx, ev)
		if strings.HasSuffix(ev.Records[0].EventName, "Tagging") {
			return err // MinIO's own tagging event; S3 sends none to the function
		}
		mu.Lock()
		eventsTime += time.Since(t0)
		eventsCalls++
		mu.Unlock()
		return err
	})
	p := &apiProcess{URL: srv.URL, Config: cfg}
	tok, err := issuer.Mint(devissuer.Claims{Subject: "cost", Audience: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	c := &http.Client{}
	var login client.Session
	if st, err := p.call(c, "", http.MethodPost, "/v1/auth/login", map[string]string{"provider": "dev", "id_token": tok}, &login); err != nil || st >= 300 {
		b.Fatalf("login: %d %v", st, err)
	}
	uid := login.User.ID
	const size = 1 << 20 // a 2-minute AAC memo at 64 kbit/s
	const n = 50
	// Only the lifecycles count, not the sign-in.
	mu.Lock()
	apiTime, apiCalls = 0, 0
	mu.Unlock()
	u.reset()
	logs.mu.Lock()
	logs.n = 0
	logs.mu.Unlock()
	clientS3 := 0
	body := testaudio.Body("audio/mp4", size, 'c')
	var lastUpload string
	ids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		var up client.Created
		if st, err := p.call(c, login.AccessToken, http.MethodPost, "/v1/recordings",
			map[string]any{"file_name": "memo.m4a", "content_type": "audio/mp4", "size_bytes": size}, &up); err != nil || st != http.StatusCreated {
			b.Fatalf("create: %d %v", st, err)
		}
		req, _ := http.NewRequest(http.MethodPut, up.Upload.URL, bytes.NewReader(body))
		for k, v := range up.Upload.Headers {
			if k != "Content-Length" {
				req.Header.Set(k, v)
			}
		}
		resp, err := c.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("PUT: %v %v", resp, err)
		}
		resp.Body.Close()
		clientS3++
		lastUpload = up.Upload.URL
		ids = append(ids, up.Recording.ID)
		var rec client.Recording
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			r, err := watch.GetRecording(context.Background(), uid, up.Recording.ID)
			if err == nil && r.Status == "available" {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("not confirmed: %+v %v", r, err)
			}
		}
		// The app shows the recording: one GET, which signs the download.
		if st, err := p.call(c, login.AccessToken, http.MethodGet, "/v1/recordings/"+up.Recording.ID, nil, &rec); err != nil || st != http.StatusOK {
			b.Fatalf("get: %d %v", st, err)
		}
		if st, err := p.call(c, login.AccessToken, http.MethodGet, "/v1/recordings?limit=50", nil, nil); err != nil || st != http.StatusOK {
			b.Fatalf("list: %d %v", st, err)
		}
		resp, err = c.Get(rec.Download.URL)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		clientS3++
	}
	// Every stored recording's tags are billed monthly like its bytes; read
	// through a client nobody counts.
	tagged, err := testenv.NewStore(env.Clients(cfg), cfg).Tags(context.Background(), recordingKeyOf(b, lastUpload, cfg.Bucket))
	if err != nil {
		b.Fatal(err)
	}
	mu.Lock()
	u.mu.Lock()
	perMillion := 1e6 / float64(n)
	feedUSD := u.tableUSD[dynamo.TableName(cfg.TablePrefix, dynamo.ChangesTable)] * perMillion
	// The recording's name, indexed for search at confirmation.
	nameIndexUSD := u.tableUSD[dynamo.TableName(cfg.TablePrefix, dynamo.SearchTable)] * perMillion
	dynamoUSD := (u.wru*usdPerMillionWRU + u.rru*usdPerMillionRRU) / 1e6 * perMillion
	s3USD := (float64(u.s3Write+clientS3/2)*usdPerThousandS3Write + float64(u.s3Read+clientS3/2)*usdPerThousandS3Read) / 1e3 * perMillion
	lambdaUSD := (float64(apiCalls+eventsCalls)*usdPerMillionLambda/1e6 +
		(apiTime.Seconds()*apiMemoryGB+eventsTime.Seconds()*eventsMemoryGB)*usdPerGBSecondArm) * perMillion
	gatewayUSD := float64(apiCalls) * usdPerMillionHTTPAPI / 1e6 * perMillion
	// Beside the functions' own lines, the HTTP API writes its access line
	// for every request.
	gatewayLogBytes := apiCalls * len(metrics.TypicalGatewayAccessLogLine())
	logsUSD := float64(logs.n+gatewayLogBytes) / 1e9 * usdPerGBLogs * perMillion
	storageUSD := float64(size) * 1e6 / 1e9 * usdPerGBMonthS3
	tagsUSD := float64(len(tagged)) * 1e6 / 1e4 * usdPer10kTagsMonth
	b.ReportMetric(dynamoUSD+s3USD+lambdaUSD+gatewayUSD+logsUSD, "usd-per-million-lifecycles")
	// Transcribing each memo once, beside storing it: by far the larger
	// figure, bounded per user by TRANSCRIBE_MINUTES_PER_MONTH.
	b.ReportMetric(usdTranscribePerMillionMemo, "transcribe-usd")
	b.ReportMetric(dynamoUSD, "dynamodb-usd")
	b.ReportMetric(s3USD, "s3-requests-usd")
	b.ReportMetric(lambdaUSD, "lambda-usd")
	b.ReportMetric(gatewayUSD, "http-api-usd")
	b.ReportMetric(logsUSD, "logs-usd")
	b.ReportMetric(storageUSD, "storage-usd-per-month")
	b.ReportMetric(tagsUSD, "object-tags-usd-per-month")
	b.ReportMetric((u.wru)/n, "wru/lifecycle")
	b.ReportMetric((u.rru)/n, "rru/lifecycle")
	b.ReportMetric(float64(u.s3Write+u.s3Read)/n, "server-s3-requests/lifecycle")
	b.ReportMetric(float64(u.ddbCalls)/n, "ddb-calls/lifecycle")
	b.ReportMetric(float64(u.refused)/n, "refused-transactions/lifecycle")
	b.ReportMetric(feedUSD, "of-which-change-feed-usd")
	b.ReportMetric(nameIndexUSD, "of-which-name-index-usd")
	b.Logf("prices: %s; %d lifecycles of %d bytes; API %d calls %.1f ms each, events %d calls %.1f ms each, logs %d bytes from the functions and %d from the HTTP API; server S3 requests %v; DynamoDB capacity units by operation %v",
		priceDate, n, size, apiCalls, ms(apiTime)/float64(max(apiCalls, 1)), eventsCalls, ms(eventsTime)/float64(max(eventsCalls, 1)), logs.n, gatewayLogBytes, u.s3Ops, u.units)
	u.mu.Unlock()
	mu.Unlock()

	// This round's features, each on its own line, per million uses.
	// Search: indexing each memo's transcript (a two-minute one, as the
	// events function stores it after Transcribe's completion).
	u.reset()
	for _, id := range ids {
		if err := parts.Store.IndexTranscript(context.Background(), uid, id, "en-US", memoTranscript()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(u.dynamoUSD()*perMillion, "search-index-usd")
	// Shares: making a link, then one visit to it (the page, and its
	// audio's redirect and the player's GET from storage).
	shareCost := func(do func(id string) int) float64 {
		u.reset()
		mu.Lock()
		apiTime, apiCalls = 0, 0
		mu.Unlock()
		logs.mu.Lock()
		logs.n = 0
		logs.mu.Unlock()
		s3 := 0
		for _, id := range ids {
			s3 += do(id)
		}
		mu.Lock()
		defer mu.Unlock()
		u.mu.Lock()
		defer u.mu.Unlock()
		return (u.dynamoUSD() + float64(u.s3Read+s3)*usdPerThousandS3Read/1e3 +
			float64(apiCalls)*(usdPerMillionLambda+usdPerMillionHTTPAPI)/1e6 + apiTime.Seconds()*apiMemoryGB*usdPerGBSecondArm +
			float64(logs.n+apiCalls*len(metrics.TypicalGatewayAccessLogLine()))/1e9*usdPerGBLogs) * perMillion
	}
	links := map[string]string{}
	b.ReportMetric(shareCost(func(id string) int {
		var sh struct {
			URL string `json:"url"`
		}
		if st, err := p.call(c, login.AccessToken, http.MethodPost, "/v1/recordings/"+id+"/shares", map[string]string{"expires_in": "24h"}, &sh); err != nil || st != http.StatusCreated {
			b.Fatalf("share: %d %v", st, err)
		}
		links[id] = sh.URL
		return 0
	}), "share-create-usd")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	b.ReportMetric(shareCost(func(id string) int {
		page, err := noFollow.Get(links[id])
		if err != nil || page.StatusCode != http.StatusOK {
			b.Fatalf("share page: %v %v", page, err)
		}
		page.Body.Close()
		audio, err := noFollow.Get(links[id] + "/audio")
		if err != nil || audio.StatusCode != http.StatusFound {
			b.Fatalf("share audio: %v %v", audio, err)
		}
		audio.Body.Close()
		resp, err := c.Get(audio.Header.Get("Location"))
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("shared audio from storage: %v %v", resp, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return 1
	}), "share-view-usd")
	b.ReportMetric(0, "ns/op")
}

// memoTranscript is a two-minute memo's transcript as Transcribe would
// segment it: about 300 words said, a segment every few seconds.
func memoTranscript() []search.Segment {
	words := strings.Fields("the budget meeting moved to thursday because the quarterly report is not ready " +
		"we agreed to review the marketing plan and the hiring numbers before the board call next week " +
		"please send the draft slides to everyone and book the large room on the third floor")
	var segs []search.Segment
	for i, at := 0, int64(0); i < 300; i += 10 {
		var b strings.Builder
		for j := i; j < i+10; j++ {
			if j > i {
				b.WriteByte(' ')
			}
			b.WriteString(words[j%len(words)])
		}
		segs = append(segs, search.Segment{StartMS: at, EndMS: at + 4000, Text: b.String()})
		at += 4000
	}
	return segs
}

// recordingKeyOf is the object key a presigned URL writes to.
func recordingKeyOf(b *testing.B, rawURL, bucket string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		b.Fatal(err)
	}
	key, ok := strings.CutPrefix(u.Path, "/"+bucket+"/")
	if !ok {
		b.Fatalf("URL path %q is not in bucket %s", u.Path, bucket)
	}
	return key
}
