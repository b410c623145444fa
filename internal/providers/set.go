package providers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/voicerec/backend/internal/config"
)

// Set is what the server may do at the providers; a nil field is a provider
// not configured for it.
type Set struct {
	Apple  *Apple
	Kakao  *Kakao
	Sealer Sealer
}

// HTTPClient is the client of every outbound provider call; attempts are
// bounded by their contexts (AttemptTimeout), this is the backstop.
var HTTPClient = &http.Client{Timeout: 2 * AttemptTimeout}

// Build makes the Set from the settings, reading the secrets they name from
// Secrets Manager through awsCfg. Called once at start (a cold start in
// Lambda).
func Build(ctx context.Context, p config.ProviderSettings, awsCfg aws.Config) (*Set, error) {
	set := &Set{}
	var sm *secretsmanager.Client
	secret := func(id string) (string, error) {
		if sm == nil {
			sm = secretsmanager.NewFromConfig(awsCfg)
		}
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &id})
		if err != nil {
			return "", fmt.Errorf("read secret %s: %w", id, err)
		}
		return aws.ToString(out.SecretString), nil
	}
	if p.AppleEnabled() {
		pemText := p.ApplePrivateKey
		if p.ApplePrivateKeySecret != "" {
			var err error
			if pemText, err = secret(p.ApplePrivateKeySecret); err != nil {
				return nil, err
			}
		}
		key, err := ParseApplePrivateKey(pemText)
		if err != nil {
			return nil, err
		}
		set.Apple = &Apple{BaseURL: p.AppleBaseURL, TeamID: p.AppleTeamID, KeyID: p.AppleKeyID, Key: key, HTTP: HTTPClient}
	}
	switch {
	case p.TokenKMSKeyID != "":
		set.Sealer = &KMSSealer{KMS: kms.NewFromConfig(awsCfg), KeyID: p.TokenKMSKeyID}
	case p.TokenEncryptionKey != "":
		s, err := NewLocalSealer(p.TokenEncryptionKey)
		if err != nil {
			return nil, err
		}
		set.Sealer = s
	}
	if p.KakaoEnabled() {
		adminKey := p.KakaoAdminKey
		if p.KakaoAdminKeySecret != "" {
			var err error
			if adminKey, err = secret(p.KakaoAdminKeySecret); err != nil {
				return nil, err
			}
		}
		set.Kakao = &Kakao{BaseURL: p.KakaoAPIBaseURL, AdminKey: adminKey, AppID: p.KakaoAppID, HTTP: HTTPClient}
	}
	return set, nil
}
