// Package devissuer is the local stack's development OIDC identity
// provider: its own RSA signing key, a discovery document, a JWKS endpoint,
// and a /token endpoint that mints an ID token for any subject. The API knows
// nothing of it: it is configured as an ordinary provider named "dev"
// (OIDC_PROVIDERS=dev ...), which production never sets.
package devissuer

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer signs development ID tokens.
type Issuer struct {
	url      string
	audience string
	key      jose.JSONWebKey
	signer   jose.Signer
}

// New makes an issuer at issuerURL whose tokens are for audience. The key is
// new on every start: dev tokens only live until they are exchanged for a
// session.
func New(issuerURL, audience string) (*Issuer, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	kidBytes := make([]byte, 8)
	_, _ = rand.Read(kidBytes)
	key := jose.JSONWebKey{Key: priv, KeyID: "dev-" + hex.EncodeToString(kidBytes), Algorithm: string(jose.RS256), Use: "sig"}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	return &Issuer{url: strings.TrimRight(issuerURL, "/"), audience: audience, key: key, signer: signer}, nil
}

// URL is the issuer identifier (the iss claim).
func (i *Issuer) URL() string { return i.url }

// Claims are what a minted token says.
type Claims struct {
	Subject, Audience, Email, Name, Nonce string
	EmailVerified                         bool
	// Zero values mean now and now plus ten minutes.
	IssuedAt, Expiry time.Time
}

type idClaims struct {
	jwt.Claims
	Nonce         string `json:"nonce,omitempty"`
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
	Name          string `json:"name,omitempty"`
}

// Mint signs an ID token.
func (i *Issuer) Mint(c Claims) (string, error) {
	now := time.Now()
	if c.IssuedAt.IsZero() {
		c.IssuedAt = now
	}
	if c.Expiry.IsZero() {
		c.Expiry = c.IssuedAt.Add(10 * time.Minute)
	}
	if c.Audience == "" {
		c.Audience = i.audience
	}
	claims := idClaims{
		Claims: jwt.Claims{
			Issuer: i.url, Subject: c.Subject, Audience: jwt.Audience{c.Audience},
			IssuedAt: jwt.NewNumericDate(c.IssuedAt), Expiry: jwt.NewNumericDate(c.Expiry),
		},
		Nonce: c.Nonce, Email: c.Email, Name: c.Name,
	}
	if c.Email != "" {
		claims.EmailVerified = &c.EmailVerified
	}
	return jwt.Signed(i.signer).Claims(claims).Serialize()
}

// Handler serves discovery, the key set and the token endpoint.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer": i.url, "jwks_uri": i.url + "/jwks", "token_endpoint": i.url + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"subject_types_supported":               []string{"public"},
			"response_types_supported":              []string{"id_token"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{i.key.Public()}})
	})
	mux.HandleFunc("/token", i.token)
	return mux
}

// allowAnyOrigin lets a page on another port (the web companion, served by
// the API) call /token. Any origin is fine: the endpoint already mints a
// token for anyone who asks, it is bound to loopback, and it sets no
// cookies, so CORS protects nothing here.
func allowAnyOrigin(w http.ResponseWriter, r *http.Request) (preflight bool) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if r.Method != http.MethodOptions {
		return false
	}
	w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// token mints an ID token: GET /token?sub=alice for curl, or POST with a
// form or JSON body (sub, aud, email, name, nonce).
func (i *Issuer) token(w http.ResponseWriter, r *http.Request) {
	if allowAnyOrigin(w, r) {
		return
	}
	var in struct {
		Sub   string `json:"sub"`
		Aud   string `json:"aud"`
		Email string `json:"email"`
		Name  string `json:"name"`
		Nonce string `json:"nonce"`
	}
	switch {
	case r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be JSON"})
			return
		}
	case r.Method == http.MethodPost || r.Method == http.MethodGet:
		r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
		_ = r.ParseForm()
		in.Sub, in.Aud, in.Email = r.Form.Get("sub"), r.Form.Get("aud"), r.Form.Get("email")
		in.Name, in.Nonce = r.Form.Get("name"), r.Form.Get("nonce")
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if in.Sub == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "sub is required, e.g. /token?sub=alice"})
		return
	}
	tok, err := i.Mint(Claims{Subject: in.Sub, Audience: in.Aud, Email: in.Email, EmailVerified: in.Email != "",
		Name: in.Name, Nonce: in.Nonce})
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id_token": tok})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
