package providers

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
)

// DefaultKakaoAPIBaseURL is Kakao's REST API host.
const DefaultKakaoAPIBaseURL = "https://kapi.kakao.com"

// Kakao unlinks users from the app with the admin key, and checks Kakao's
// unlink callbacks, which carry the same key.
type Kakao struct {
	BaseURL  string
	AdminKey string
	AppID    string
	HTTP     *http.Client
}

// Unlink disconnects a Kakao user (by their Kakao user id, the ID token's
// sub) from the app: POST /v1/user/unlink as the admin. Kakao does not call
// the unlink callback for an unlink the service makes itself.
func (k *Kakao) Unlink(ctx context.Context, kakaoUserID string) error {
	client := k.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	_, err := postForm(ctx, client, "kakao", "unlink", strings.TrimRight(k.BaseURL, "/")+"/v1/user/unlink",
		http.Header{"Authorization": {"KakaoAK " + k.AdminKey}},
		url.Values{"target_id_type": {"user_id"}, "target_id": {kakaoUserID}})
	return err
}

// CallbackAuthorized reports whether an unlink callback's Authorization
// header and app_id are this app's (in constant time for the key).
func (k *Kakao) CallbackAuthorized(authorization, appID string) bool {
	scheme, key, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	keyOK := subtle.ConstantTimeCompare([]byte(strings.TrimSpace(key)), []byte(k.AdminKey)) == 1
	appOK := subtle.ConstantTimeCompare([]byte(appID), []byte(k.AppID)) == 1
	return ok && scheme == "KakaoAK" && keyOK && appOK && k.AdminKey != ""
}
