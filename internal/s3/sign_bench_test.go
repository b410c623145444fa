package s3_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/voicerec/backend/internal/awsclients"
	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

// BenchmarkSignDownloadPage measures what GET /v1/recordings?include=download_url
// adds to a page: one presigned GET per available item, signed as the
// handler signs it (attachment name, content type, DOWNLOAD_URL_TTL). Signing
// is local CPU work, so no emulator runs: the clients are built as the
// server builds them, with static credentials and AWS's own endpoint.
func BenchmarkSignDownloadPage(b *testing.B) {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	clients := awsclients.From(cfg, aws.Config{
		Region:      cfg.Region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
	})
	store := s3.New(clients.S3, clients.Presign, cfg.Bucket)
	now := time.Now()
	user := recording.NewID(now)
	for _, items := range []int{1, 100} {
		recs := make([]recording.Recording, items)
		for i := range recs {
			id := recording.NewID(now.Add(time.Duration(i) * time.Millisecond))
			recs[i] = recording.Recording{ID: id, FileName: fmt.Sprintf("회의 %03d.m4a", i), ContentType: "audio/mp4",
				Key: recording.ObjectKey(user, id, ".m4a")}
		}
		b.Run(fmt.Sprintf("items=%d", items), func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				for _, r := range recs {
					if _, err := store.PresignGet(ctx, r.Key, recording.ContentDisposition(r.FileName), r.ContentType, cfg.DownloadURLTTL, now); err != nil {
						b.Fatal(err)
					}
				}
			}
			perPage := time.Since(start) / time.Duration(b.N)
			b.ReportMetric(float64(perPage.Microseconds()), "us/page")
			b.ReportMetric(float64(perPage.Nanoseconds())/float64(items)/1e3, "us/url")
		})
	}
}
