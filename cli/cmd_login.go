package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/voicerec/backend/client"
)

type loginOptions struct{ dev, devIssuer, provider, idToken, nonce, device string }

func newLoginCommand(e *env) *cobra.Command {
	var o loginOptions
	c := &cobra.Command{
		Use:   "login (--dev USER | --provider P --id-token T)",
		Short: "Sign in: as USER on the local stack, or with an ID token from Google, Apple, Kakao...",
		Example: `  recorder login --dev alice
  recorder login --provider google --id-token - < token.txt`,
		Args: args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runLogin(cmd.Context(), e, o) },
	}
	f := c.Flags()
	f.StringVar(&o.dev, "dev", "", "sign in on the local stack as this user, through the API's development issuer")
	f.StringVar(&o.devIssuer, "dev-issuer", "", "the development issuer's base URL, when the API does not list one ($RECORDER_DEV_ISSUER)")
	f.StringVar(&o.provider, "provider", "", "identity provider: google, apple, kakao, ...")
	f.StringVar(&o.idToken, "id-token", "", "an ID token from that provider, or - to read it from stdin")
	f.StringVar(&o.nonce, "nonce", "", "the nonce (from POST /v1/auth/nonce) the ID token was requested with, if any")
	f.StringVar(&o.device, "device", "", "what `recorder sessions` calls this computer (default: recorder on HOSTNAME)")
	_ = c.RegisterFlagCompletionFunc("provider", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"google", "apple", "kakao", "dev"}, cobra.ShellCompDirectiveNoFileComp
	})
	return c
}

func runLogin(ctx context.Context, e *env, o loginOptions) error {
	switch {
	case o.dev != "" && o.idToken == "":
		url, err := devTokenURL(ctx, e, o.devIssuer)
		if err != nil {
			return err
		}
		tok, err := e.api.DevToken(ctx, url, o.dev)
		if err != nil {
			return err
		}
		o.idToken = tok
		if o.provider == "" {
			o.provider = "dev"
		}
	case o.idToken == "-":
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading the ID token from stdin: %w", err)
		}
		o.idToken = strings.TrimSpace(line)
	}
	if o.provider == "" || o.idToken == "" {
		return usageError("give --dev USER for the local stack, or --provider and --id-token")
	}
	if o.device == "" {
		o.device = defaultDeviceName()
	}
	s, err := e.api.Login(ctx, client.LoginRequest{Provider: o.provider, IDToken: o.idToken, Nonce: o.nonce, DeviceName: o.device})
	if err != nil {
		return err
	}
	e.config = Config{API: e.api.Base(), Token: s.AccessToken, UserID: s.User.ID, ExpiresAt: s.ExpiresAt,
		RefreshToken: s.RefreshToken, RefreshExpiresAt: s.RefreshExpiresAt, SessionID: s.SessionID}
	if err := saveConfig(e.configPath, e.config); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	verb := "signed in"
	if s.Created {
		verb = "signed up"
	}
	who := describe(s.User)
	if who == "" {
		who = o.dev // the dev issuer's tokens carry no email or name
	}
	if who == "" {
		who = "user " + s.User.ID
	}
	until := s.ExpiresAt
	if s.RefreshToken != "" {
		until = s.RefreshExpiresAt // renewed by itself until then, and past it while in use
	}
	fmt.Fprintf(e.stderr, "%s as %s with %s (user %s) at %s; session until %s\n", verb, who, o.provider, s.User.ID,
		e.api.Base(), until.Local().Format("2006-01-02 15:04"))
	return nil
}

// devTokenURL finds the development issuer through the API, so the CLI
// follows the API to whatever port it runs on; --dev-issuer or
// $RECORDER_DEV_ISSUER name one the API does not list.
func devTokenURL(ctx context.Context, e *env, flag string) (string, error) {
	for _, v := range []string{flag, e.getenv("RECORDER_DEV_ISSUER")} {
		if v != "" {
			return strings.TrimRight(v, "/") + "/token", nil
		}
	}
	providers, err := e.api.Providers(ctx)
	if err != nil {
		return "", err
	}
	for _, p := range providers {
		if p.Development && p.TokenURL != "" {
			return p.TokenURL, nil
		}
	}
	return "", fmt.Errorf("the API at %s has no development issuer (only a local stack has one); sign in with --provider and --id-token", e.api.Base())
}

// describe names an account as a person knows it, "" when the provider
// said nothing of it.
func describe(u client.User) string {
	switch {
	case u.Name != "" && u.Email != "":
		return u.Name + " <" + u.Email + ">"
	case u.Email != "":
		return u.Email
	case u.Name != "":
		return u.Name
	}
	return ""
}

// account names the signed-in account for a person: "alice (user ID)",
// falling back to its providers when they said nothing of it.
func account(u client.User) string {
	who := describe(u)
	if who == "" {
		who = strings.Join(u.Providers, ", ")
	}
	if who == "" {
		return "user " + u.ID
	}
	return who + " (user " + u.ID + ")"
}
