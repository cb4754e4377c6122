package cli

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/redoubt-proxy/redoubt/internal/admin"
)

func newTenantCmd(stdout io.Writer) *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{Use: "tenant", Short: "List, create or delete tenants through the admin API"}
	f.register(cmd)

	list := &cobra.Command{
		Use:   "list",
		Short: "List every tenant from every source",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var out struct {
				Tenants  []admin.TenantJSON  `json:"tenants"`
				Problems []admin.ProblemJSON `json:"problems"`
			}
			raw, err := f.call("GET", "/v1/tenants", nil, &out)
			if err != nil {
				return err
			}
			if f.asJSON {
				printJSON(stdout, raw)
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSOURCE\tUPSTREAM\tDB\tROLE\tMODE\tCREDENTIALS")
			for _, t := range out.Tenants {
				db := "-"
				if t.DB != nil {
					db = strconv.Itoa(*t.DB)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", t.Name, t.Source, t.Upstream, db, t.Role, t.Mode, len(t.Credentials))
			}
			tw.Flush()
			for _, p := range out.Problems {
				fmt.Fprintf(stdout, "left out: %s: %s: %s\n", p.Source, p.Entry, p.Error)
			}
			return nil
		},
	}

	var spec admin.TenantSpec
	var db int
	var setLimits func()
	put := &cobra.Command{
		Use:   "put NAME --upstream UPSTREAM [--db N] [--role ROLE] [--commands RULES] [--max-ops-per-second N ...]",
		Short: "Create or replace a tenant in the store",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("db") {
				spec.DB = &db
			}
			setLimits()
			var out admin.TenantJSON
			raw, err := f.call("PUT", "/v1/tenants/"+url.PathEscape(args[0]), spec, &out)
			if err != nil {
				return err
			}
			if f.asJSON {
				printJSON(stdout, raw)
				return nil
			}
			fmt.Fprintf(stdout, "tenant %s saved (%s)\n", out.Name, out.Mode)
			return nil
		},
	}
	put.Flags().StringVar(&spec.Upstream, "upstream", "", "upstream name (from the configuration file)")
	put.Flags().IntVar(&db, "db", 0, "DB index to pin the tenant to")
	put.Flags().StringVar(&spec.Role, "role", "", "full | readwrite | readonly (default readwrite)")
	put.Flags().StringVar(&spec.Commands, "commands", "", "extra rules, e.g. \"-@dangerous +info\"")
	put.Flags().BoolVar(&spec.ShareDB, "share-db", false, "allow another tenant with share_db on the same DB")
	setLimits = limitFlags(put.Flags(), &spec.LimitsJSON)

	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a store tenant; its live sessions end",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if _, err := f.call("DELETE", "/v1/tenants/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			if !f.asJSON {
				fmt.Fprintf(stdout, "tenant %s deleted\n", args[0])
			}
			return nil
		},
	}
	cmd.AddCommand(list, put, del)
	return cmd
}

func newCredentialCmd(stdout io.Writer) *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{Use: "credential", Short: "Issue, list or revoke a tenant's credentials through the admin API"}
	f.register(cmd)

	var ttl, id string
	issue := &cobra.Command{
		Use:   "issue TENANT [--ttl 8h] [--id ID]",
		Short: "Issue a credential; its secret is printed once",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			var out admin.CredentialJSON
			raw, err := f.call("POST", "/v1/tenants/"+url.PathEscape(args[0])+"/credentials",
				map[string]string{"ttl": ttl, "id": id}, &out)
			if err != nil {
				return err
			}
			if f.asJSON {
				printJSON(stdout, raw)
				return nil
			}
			fmt.Fprintf(stdout, "id:         %s\nexpires_at: %s\nsecret:     %s\n", out.ID, fmtTime(out.ExpiresAt), out.Secret)
			return nil
		},
	}
	issue.Flags().StringVar(&ttl, "ttl", "", "lifetime, e.g. 8h (default: no expiry)")
	issue.Flags().StringVar(&id, "id", "", "credential ID (default: generated)")

	list := &cobra.Command{
		Use:   "list TENANT",
		Short: "List a tenant's credentials (never their secrets)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			var out struct {
				Credentials []admin.CredentialJSON `json:"credentials"`
			}
			raw, err := f.call("GET", "/v1/tenants/"+url.PathEscape(args[0])+"/credentials", nil, &out)
			if err != nil {
				return err
			}
			if f.asJSON {
				printJSON(stdout, raw)
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCREATED\tEXPIRES\tLAST USED")
			for _, c := range out.Credentials {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, fmtTime(c.CreatedAt), fmtTime(c.ExpiresAt), fmtTime(c.LastUsed))
			}
			return tw.Flush()
		},
	}

	revoke := &cobra.Command{
		Use:   "revoke TENANT ID",
		Short: "Revoke one credential; the sessions that logged in with it end",
		Args:  cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			p := "/v1/tenants/" + url.PathEscape(args[0]) + "/credentials/" + url.PathEscape(args[1])
			if _, err := f.call("DELETE", p, nil, nil); err != nil {
				return err
			}
			if !f.asJSON {
				fmt.Fprintf(stdout, "credential %s of tenant %s revoked\n", args[1], args[0])
			}
			return nil
		},
	}
	cmd.AddCommand(issue, list, revoke)
	return cmd
}
