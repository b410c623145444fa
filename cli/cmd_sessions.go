package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/voicerec/backend/client"
)

func newSessionsCommand(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "sessions",
		Short: "The devices signed in to the account",
		Example: `  recorder sessions
  recorder sessions revoke 3f2a9c1e5b7d4e6f8a0b1c2d3e4f5a6b
  recorder sessions revoke --others`,
		Args: args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runSessions(cmd.Context(), e) },
	}
	var others bool
	revoke := &cobra.Command{
		Use:   "revoke (ID | --others)",
		Short: "Sign a device out at once, or every device but this one",
		Args:  args(0, 1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if others == (len(a) == 1) {
				return usageError("give a session ID (from `recorder sessions`) or --others, not both")
			}
			id := ""
			if len(a) == 1 {
				id = a[0]
			}
			return runRevokeSession(cmd.Context(), e, id)
		},
	}
	revoke.Flags().BoolVar(&others, "others", false, "sign out every other device of the account")
	c.AddCommand(revoke)
	return c
}

func runSessions(ctx context.Context, e *env) error {
	if err := e.needSession(); err != nil {
		return err
	}
	list, err := e.api.Sessions(ctx)
	if err != nil {
		return err
	}
	rows := make([][]string, 0, len(list))
	for _, s := range list {
		mark := ""
		if s.Current {
			mark = "*"
		}
		used := "-"
		if s.LastUsedAt != nil {
			used = s.LastUsedAt.Local().Format("2006-01-02 15h")
		}
		device := s.DeviceName
		if device == "" {
			device = "-"
		}
		platform := s.Platform
		if s.Provider != "" {
			platform += " via " + s.Provider
		}
		if platform == "" {
			platform = "(from before refresh tokens)"
		}
		rows = append(rows, []string{mark, s.ID, device, platform, s.CreatedAt.Local().Format("2006-01-02"), used})
	}
	return e.printTable([]string{"", "ID", "DEVICE", "PLATFORM", "SIGNED IN", "LAST USED"}, rows)
}

func runRevokeSession(ctx context.Context, e *env, id string) error {
	if err := e.needSession(); err != nil {
		return err
	}
	if id == "" {
		if err := e.api.RevokeOtherSessions(ctx); err != nil {
			return err
		}
		fmt.Fprintln(e.stderr, "signed out every other device")
		return nil
	}
	if err := e.api.RevokeSession(ctx, id); err != nil {
		return err
	}
	if id == e.config.SessionID {
		// That was this computer's own session: nothing here works now.
		e.config.Token, e.config.RefreshToken, e.config.SessionID = "", "", ""
		if err := saveConfig(e.configPath, e.config); err != nil {
			return err
		}
		fmt.Fprintln(e.stderr, "signed out this computer")
		return nil
	}
	fmt.Fprintf(e.stderr, "signed out session %s\n", id)
	return nil
}

// keepRefreshing lets the client trade the saved refresh token for a new
// pair when the access token is refused, and saves each new pair at once:
// the old refresh token is retired by then, so losing the new one would
// sign this computer out.
func (e *env) keepRefreshing() {
	if e.config.RefreshToken == "" {
		return
	}
	e.api.SetRefresh(e.config.RefreshToken, func(t client.Tokens) {
		e.config.Token, e.config.ExpiresAt = t.AccessToken, t.ExpiresAt
		e.config.RefreshToken, e.config.RefreshExpiresAt = t.RefreshToken, t.RefreshExpiresAt
		if err := saveConfig(e.configPath, e.config); err != nil {
			fmt.Fprintf(e.stderr, "warning: the renewed session could not be saved (%v); run `recorder login` next time\n", err)
		}
	})
}

// defaultDeviceName names this computer in the sessions list.
func defaultDeviceName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return trimRunes("recorder on "+h, 64)
	}
	return "recorder CLI"
}

func trimRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		r = r[:n]
	}
	return string(r)
}

func userAgent() string {
	v := version
	if v == "" {
		v = "devel"
	}
	return "recorder-cli/" + v
}
