package main

import (
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/config"
)

// The banner says how to point the CLI at this stack, whatever its port.
func TestBannerShowsTheCLILogin(t *testing.T) {
	var b strings.Builder
	printBanner(&b, config.Config{APIAddr: "0.0.0.0:38080"}, localSettings{}, devIssuerInfo{URL: "http://127.0.0.1:38081"}, time.Second)
	if want := "RECORDER_API=http://127.0.0.1:38080 recorder login --dev alice"; !strings.Contains(b.String(), want) {
		t.Errorf("banner has no %q:\n%s", want, b.String())
	}
}

// The banner says whether recordings are transcribed, and by what: the
// local engine's address, or how to get it when its tools are missing.
func TestBannerShowsTranscription(t *testing.T) {
	var on, off strings.Builder
	cfg := config.Config{APIAddr: "127.0.0.1:8080"}
	cfg.Transcription.Enabled, cfg.Transcription.Endpoint, cfg.Transcription.Languages = true, "http://127.0.0.1:8083", []string{"en-US"}
	printBanner(&on, cfg, localSettings{}, devIssuerInfo{}, time.Second)
	if want := "transcription     http://127.0.0.1:8083   (pocketsphinx, en-US"; !strings.Contains(on.String(), want) {
		t.Errorf("banner has no %q:\n%s", want, on.String())
	}
	printBanner(&off, config.Config{APIAddr: "127.0.0.1:8080"}, localSettings{}, devIssuerInfo{}, time.Second)
	if want := "transcription     off (ffmpeg or pocketsphinx missing: make speech-tools)"; !strings.Contains(off.String(), want) {
		t.Errorf("banner has no %q:\n%s", want, off.String())
	}
}
