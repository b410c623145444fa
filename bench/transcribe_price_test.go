package bench

// Amazon Transcribe's standard batch price, tier 1 (the first 250,000
// minutes a month), us-east-1, as aws.amazon.com/transcribe/pricing has
// listed it since 2019; billed per second with a 15-second minimum per
// job. Like the other prices here a constant, to be checked before the
// figure is quoted.
const (
	usdPerTranscribedMinute     = 0.024
	transcribeMinimumSeconds    = 15
	costMemoDurationSeconds     = 128 // the cost benchmark's memo: 1 MiB of AAC at 64 kbit/s
	costMemoTranscribedMinutes  = float64(max(costMemoDurationSeconds, transcribeMinimumSeconds)) / 60
	usdTranscribePerMillionMemo = costMemoTranscribedMinutes * usdPerTranscribedMinute * 1e6
)
