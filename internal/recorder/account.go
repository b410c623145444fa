package recorder

import (
	"context"
	"errors"
	"time"

	"github.com/voicerec/backend/internal/auth"
	"github.com/voicerec/backend/internal/metrics"
	"github.com/voicerec/backend/internal/recording"
)

// Quota is what the user may still upload: stored bytes plus the bytes held
// for uploads in flight, against the limits.
type Quota struct {
	BytesLimit           int64 `json:"bytes_limit"`
	BytesUsed            int64 `json:"bytes_used"`
	BytesReserved        int64 `json:"bytes_reserved"`
	RecordingsLimit      int64 `json:"recordings_limit"`
	UploadsInFlight      int   `json:"uploads_in_flight"`
	UploadsInFlightLimit int   `json:"uploads_in_flight_limit"`
	// TranscriptionMinutesLimit is TRANSCRIBE_MINUTES_PER_MONTH;
	// TranscriptionMinutesUsed this UTC month's audio sent to the engine,
	// in started minutes.
	TranscriptionMinutesLimit int64 `json:"transcription_minutes_limit"`
	TranscriptionMinutesUsed  int64 `json:"transcription_minutes_used"`
}

// Me is the signed-in user with their quota.
type Me struct {
	recording.User
	Quota Quota `json:"quota"`
	// Transcription is "on" or "off" (PATCH /v1/me).
	Transcription string `json:"transcription"`
}

// Me answers the user and their quota. A session outliving its account is
// no session.
func (s *Service) Me(ctx context.Context, userID string) (Me, error) {
	u, err := s.store.GetUser(ctx, userID)
	if errors.Is(err, recording.ErrNotFound) {
		return Me{}, ErrUnauthorized
	}
	if err != nil {
		return Me{}, err
	}
	if u.Deleting {
		return Me{}, recording.Errorf(recording.CodeAccountDeleting, "this account is being deleted; DELETE /v1/me again or wait for it to finish")
	}
	me := Me{User: u, Quota: Quota{
		BytesLimit: s.limits.MaxBytes, BytesUsed: u.BytesStored, BytesReserved: u.BytesReserved,
		RecordingsLimit: s.limits.MaxRecordings, UploadsInFlight: u.UploadsInFlight, UploadsInFlightLimit: s.limits.MaxPending,
	}}
	me.Transcription = s.transcriptionQuota(u, &me.Quota)
	return me, nil
}

// ProviderNotice is something the user must still do at a provider.
type ProviderNotice struct {
	Provider string `json:"provider"`
	Code     string `json:"code"`
	Detail   string `json:"detail"`
}

const appleRevokeDetail = "Your account and recordings are deleted. This app could not revoke its Sign in with Apple " +
	"access for you; you may remove it in Settings > Apple ID > Sign-In & Security > Sign in with Apple " +
	"(or at account.apple.com)."

// DeleteAccount deletes the account and everything in it. The session goes
// last, so after a failure halfway the app can retry with the same token;
// if it never does, the reconciler or the user's next sign-in finishes the
// job. Before our data goes, the providers are asked to forget the app
// (Apple's token revoked, Kakao unlinked); a failure there is retried by
// the reconciler and never holds the deletion up. The notices say what the
// user must still do at a provider.
func (s *Service) DeleteAccount(ctx context.Context, userID string) ([]ProviderNotice, error) {
	d, err := s.keeper.DeleteAccountAs(ctx, userID, "")
	if err != nil {
		return nil, err
	}
	if d.AppleRevokeManually {
		return []ProviderNotice{{Provider: "apple", Code: "revoke_in_apple_id_settings", Detail: appleRevokeDetail}}, nil
	}
	return nil, nil
}

// keepAppleToken exchanges a Sign in with Apple authorization code for a
// refresh token and keeps it sealed on the user, so deleting the account
// can revoke it. Sign-in never depends on it: a failure is logged and
// counted, and the account's deletion will tell the user to revoke access
// in their Apple ID settings (until a later sign-in brings a code that
// works).
func (s *Service) keepAppleToken(ctx context.Context, userID string, id auth.Identity, code string) {
	set := s.providers
	if set == nil || set.Apple == nil || set.Sealer == nil {
		s.log.DebugContext(ctx, "apple authorization_code ignored: token revocation is not configured")
		return
	}
	outcome := "ok"
	defer func() { s.emitProviderCall(ctx, "apple", "token", outcome) }()
	refresh, err := set.Apple.Exchange(ctx, id.ClientID, code, id.Subject)
	if err != nil {
		outcome = "failed"
		s.log.WarnContext(ctx, "apple code exchange failed; the account cannot revoke its Apple token", "user_id", userID, "error", err)
		return
	}
	sealed, err := set.Sealer.Seal(ctx, userID, []byte(refresh))
	if err == nil {
		err = s.store.SetAppleToken(ctx, userID, id.ClientID, sealed)
	}
	if err != nil {
		outcome = "failed"
		s.log.WarnContext(ctx, "keeping the apple refresh token failed", "user_id", userID, "error", err)
	}
}

func (s *Service) emitProviderCall(ctx context.Context, provider, call, outcome string) {
	dims := map[string]string{metrics.DimService: metrics.ServiceAPI, metrics.DimProvider: provider, metrics.DimCall: call, metrics.DimOutcome: outcome}
	s.log.InfoContext(ctx, "provider call", append([]any{"component", "providers"},
		metrics.Attrs(time.Now(), dims, metrics.Value{Metric: metrics.ProviderCalls, Value: 1})...)...)
}

// kakaoCallbackBudget is how long the unlink callback works on the deletion
// before it answers; Kakao wants an answer within 3 s, and what is left is
// the reconciler's.
const kakaoCallbackBudget = 2 * time.Second

// ErrNoKakao means Kakao unlink is not configured: the callback route does
// not exist.
var ErrNoKakao = recording.Errorf(recording.CodeRouteNotFound, "no such route")

var errKakaoUnauthorized = recording.Errorf(recording.CodeUnauthorized, "not a Kakao unlink callback for this app")

// KakaoUnlinkRequest is Kakao's unlink callback: its Authorization header
// ("KakaoAK <admin key>") and the form or query it sends.
type KakaoUnlinkRequest struct {
	Authorization string
	AppID         string
	UserID        string
	ReferrerType  string
}

// KakaoEnabled reports whether Kakao unlink is configured.
func (s *Service) KakaoEnabled() bool { return s.providers != nil && s.providers.Kakao != nil }

// KakaoUnlinked ends the account of a user who disconnected the app or left
// Kakao (referrer_type ACCOUNT_DELETE, FORCED_ACCOUNT_DELETE,
// UNLINK_FROM_APPS, UNLINK_FROM_ADMIN, INCOMPLETE_SIGN_UP; all end the
// account here, since it has no other way in). It succeeds within Kakao's
// 3 s, also for a user we do not know; the deletion is marked before it
// returns and finished by the reconciler if the budget runs out.
func (s *Service) KakaoUnlinked(ctx context.Context, req KakaoUnlinkRequest) error {
	if !s.KakaoEnabled() {
		return ErrNoKakao
	}
	if !s.providers.Kakao.CallbackAuthorized(req.Authorization, req.AppID) {
		s.emitProviderCall(ctx, "kakao", "unlink_callback", "unauthorized")
		return errKakaoUnauthorized
	}
	sub := req.UserID
	if sub == "" || len(sub) > 64 {
		return recording.Errorf(recording.CodeValidation, "user_id must be 1 to 64 characters")
	}
	uid, found, err := s.store.UserIDByIdentity(ctx, recording.Identity{Provider: "kakao", Subject: sub}.Key())
	if err != nil {
		return err
	}
	if !found {
		s.emitProviderCall(ctx, "kakao", "unlink_callback", "unknown_user")
		return nil
	}
	dctx, cancel := context.WithTimeout(ctx, kakaoCallbackBudget)
	defer cancel()
	_, err = s.keeper.DeleteAccountAs(dctx, uid, "kakao")
	if err != nil {
		// If the account is marked, the reconciler finishes; if not even
		// that happened, Kakao should call again.
		u, gerr := s.store.GetUser(context.WithoutCancel(ctx), uid)
		if gerr != nil && !errors.Is(gerr, recording.ErrNotFound) || gerr == nil && !u.Deleting {
			s.log.ErrorContext(ctx, "kakao unlink: the account could not even be marked for deletion", "user_id", uid, "error", err)
			return err
		}
		s.log.WarnContext(ctx, "kakao unlink: deletion left to the reconciler", "user_id", uid, "error", err)
	}
	s.log.InfoContext(ctx, "kakao unlink", "user_id", uid, "referrer_type", req.ReferrerType)
	s.emitProviderCall(ctx, "kakao", "unlink_callback", "ok")
	return nil
}
