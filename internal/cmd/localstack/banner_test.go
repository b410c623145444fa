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
