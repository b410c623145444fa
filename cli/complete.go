package cli

import "github.com/spf13/cobra"

// completeIDs completes recording ids of one status, described by name.
func (e *env) completeIDs(status string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		if err := e.setup(); err != nil || e.api.Token() == "" {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		items, err := e.list(cmd.Context(), status, 200, false)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		out := make([]string, 0, len(items))
		for _, r := range items {
			out = append(out, r.ID+"\t"+r.FileName)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
