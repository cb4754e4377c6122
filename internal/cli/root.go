// Package cli is redoubt's command line. cobra stays here, at the edge;
// every command is a thin layer over the internal packages.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitConfig  = 1 // bad configuration, bad usage, refused input
	ExitRuntime = 2 // a failure while running (listen, AWS credentials)
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func configErr(err error) error  { return &exitError{code: ExitConfig, err: err} }
func runtimeErr(err error) error { return &exitError{code: ExitRuntime, err: err} }

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

// Run executes redoubt with args (without the program name) and returns
// the process exit code. Tests call it in-process.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "redoubt:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitConfig // cobra usage errors
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "redoubt",
		Short:         "A secure multi-tenant access gateway for Redis, Valkey and ElastiCache",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newServeCmd(stderr),
		newCheckCmd(stdout),
		newTokenCmd(stdout, stderr),
		newIAMTokenCmd(stdout),
		newLocalCmd(stderr),
		newTenantCmd(stdout),
		newCredentialCmd(stdout),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(stdout, "redoubt", Version) },
		},
	)
	return root
}
