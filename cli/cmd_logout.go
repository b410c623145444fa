package cli

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/voicerec/backend/client"
)

func newLogoutCommand(e *env) *cobra.Command {
	return &cobra.Command{Use: "logout", Short: "End the session", Args: args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runLogout(cmd.Context(), e) }}
}

func runLogout(ctx context.Context, e *env) error {
	if e.api.Token() == "" {
		fmt.Fprintln(e.stderr, "not signed in")
		return nil
	}
	// Tried once: a failure leaves the session saved, so logout can
	// simply be run again.
	err := e.api.Logout(client.Once(ctx))
	if err != nil && !client.IsStatus(err, http.StatusUnauthorized) {
		return err // the session still stands; keep it so logout can be retried
	}
	e.config.Token, e.config.UserID, e.config.ExpiresAt = "", "", time.Time{}
	e.config.RefreshToken, e.config.RefreshExpiresAt, e.config.SessionID = "", time.Time{}, ""
	if err := saveConfig(e.configPath, e.config); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "signed out")
	return nil
}
