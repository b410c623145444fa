package config_test

import (
	"testing"
	"time"

	"github.com/voicerec/backend/internal/config"
)

func TestTokenLifetimes(t *testing.T) {
	c, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessTokenTTL != time.Hour || c.RefreshTokenTTL != 90*24*time.Hour {
		t.Fatalf("token lifetimes by default: access %s, refresh %s", c.AccessTokenTTL, c.RefreshTokenTTL)
	}
	for name, v := range map[string]string{"ACCESS_TOKEN_TTL": "721h", "REFRESH_TOKEN_TTL": "30m"} {
		if _, err := config.Load(func(k string) string {
			if k == name {
				return v
			}
			return ""
		}); err == nil {
			t.Errorf("%s=%s was accepted", name, v)
		}
	}
}
