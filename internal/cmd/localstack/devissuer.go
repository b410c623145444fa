package main

import (
	"net/http"
)

// devIssuerInfo says where the development OIDC issuer runs and how to use it.
type devIssuerInfo struct{ URL string }

func (d devIssuerInfo) Quickstart(api string) string { return "" }

func localAuthDefaults(ls localSettings) map[string]string { return nil }

func startDevIssuer(ls localSettings, serve func(string, http.Handler) error) (devIssuerInfo, error) {
	return devIssuerInfo{URL: loopbackURL(ls.issAddr)}, nil
}
