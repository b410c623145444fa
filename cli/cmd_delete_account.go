package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newDeleteAccountCommand(e *env) *cobra.Command {
	var yes bool
	c := &cobra.Command{Use: "delete-account", Short: "Delete the account and everything in it", Args: args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runDeleteAccount(cmd.Context(), e, yes) }}
	c.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	return c
}

func runDeleteAccount(ctx context.Context, e *env, yes bool) error {
	if err := e.needSession(); err != nil {
		return err
	}
	if !yes {
		// Asked of the API, not the config: the person confirms the account
		// they know by name, and the session is checked before the prompt.
		u, err := e.api.Me(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "This deletes account %s and every recording in it, for good. Type \"delete\" to confirm: ", account(u.User))
		line, _ := bufio.NewReader(e.stdin).ReadString('\n')
		if strings.TrimSpace(line) != "delete" {
			return errors.New("not confirmed; nothing was deleted")
		}
	}
	if err := e.api.DeleteAccount(ctx); err != nil {
		return err
	}
	e.config.Token, e.config.UserID, e.config.ExpiresAt = "", "", time.Time{}
	e.config.RefreshToken, e.config.RefreshExpiresAt, e.config.SessionID = "", time.Time{}, ""
	if err := saveConfig(e.configPath, e.config); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "account deleted")
	return nil
}
