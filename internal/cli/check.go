package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/controlplane"
)

func newCheckCmd(stdout io.Writer) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "check --config FILE",
		Short: "Validate a configuration file and report every problem",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(path)
			if err != nil {
				return err
			}
			// Validation runs every rule the gateway applies; building the
			// directory as serve does is the backstop for anything missed.
			if _, err := controlplane.BuildFile(cfg); err != nil {
				return configErr(fmt.Errorf("%s: %w", path, err))
			}
			for _, w := range cfg.Warnings() {
				fmt.Fprintf(stdout, "%s: warning: %s\n", path, w)
			}
			checkProvidedUsers(cmd.Context(), cfg, stdout)
			fmt.Fprintf(stdout, "%s: ok (%d listeners, %d upstreams, %d tenants)\n", path, len(cfg.Listen), len(cfg.Upstreams), len(cfg.Tenants))
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "configuration file (YAML)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// loadConfig loads and validates a file; the error lists every problem,
// one per line, each with its key path.
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path, controlplane.ConfigHooks())
	if err == nil {
		// What only the merged view tells: tenants sharing a DB, a
		// tenant without db on a shared upstream.
		err = controlplane.CheckFile(cfg)
	}
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "\n") {
			msg = "invalid configuration:\n  " + strings.ReplaceAll(msg, "\n", "\n  ")
		}
		return nil, configErr(fmt.Errorf("%s: %s", path, msg))
	}
	return cfg, nil
}
