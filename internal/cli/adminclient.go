package cli

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/redoubt-proxy/redoubt/internal/config"
)

// AdminTokenEnv holds the admin API's bearer token for the CLI.
const AdminTokenEnv = "REDOUBT_ADMIN_TOKEN"

// adminFlags are the flags every admin API command takes.
type adminFlags struct {
	url     string
	asJSON  bool
	caFile  string
	cert    string
	key     string
	timeout time.Duration
}

func (f *adminFlags) register(cmd *cobra.Command) {
	def := os.Getenv("REDOUBT_ADMIN")
	if def == "" {
		def = "http://127.0.0.1:9121"
	}
	cmd.PersistentFlags().StringVar(&f.url, "admin", def, "admin endpoint URL (or $REDOUBT_ADMIN); the token comes from $"+AdminTokenEnv)
	cmd.PersistentFlags().BoolVar(&f.asJSON, "json", false, "print the API's JSON instead of a table")
	cmd.PersistentFlags().StringVar(&f.caFile, "ca", "", "CA file to verify an https admin endpoint")
	cmd.PersistentFlags().StringVar(&f.cert, "cert", "", "client certificate for an mTLS admin endpoint (with --key)")
	cmd.PersistentFlags().StringVar(&f.key, "key", "", "client certificate key (with --cert)")
	cmd.PersistentFlags().DurationVar(&f.timeout, "timeout", 10*time.Second, "request timeout")
}

// apiError is a refusal from the API (4xx): exit 1, as other refused input.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.msg, e.code) }

// call sends one request and decodes a JSON answer into out (nil: ignore).
// The raw body is returned for --json.
func (f *adminFlags) call(method, path string, body, out any) ([]byte, error) {
	// The admin API never redirects; following one would repeat the
	// method (a DELETE) on another resource, with the token.
	client := &http.Client{Timeout: f.timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	if f.caFile != "" || f.cert != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if f.caFile != "" {
			pool, err := config.LoadCertPool(f.caFile)
			if err != nil {
				return nil, configErr(fmt.Errorf("--ca: %w", err))
			}
			tc.RootCAs = pool
		}
		if f.cert != "" {
			c, err := tls.LoadX509KeyPair(f.cert, f.key)
			if err != nil {
				return nil, configErr(fmt.Errorf("--cert/--key: %w", err))
			}
			tc.Certificates = []tls.Certificate{c}
		}
		client.Transport = &http.Transport{TLSClientConfig: tc}
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimRight(f.url, "/")+path, rd)
	if err != nil {
		return nil, configErr(fmt.Errorf("--admin: %w", err))
	}
	if tok := os.Getenv(AdminTokenEnv); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, runtimeErr(fmt.Errorf("admin API: %w", err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, runtimeErr(fmt.Errorf("admin API: %w", err))
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(raw))
		}
		if resp.StatusCode == http.StatusUnauthorized && os.Getenv(AdminTokenEnv) == "" {
			e.Error += "; set " + AdminTokenEnv
		}
		ae := &apiError{code: resp.StatusCode, msg: e.Error}
		if resp.StatusCode >= 500 {
			return nil, runtimeErr(ae)
		}
		return nil, configErr(ae)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, runtimeErr(fmt.Errorf("admin API answer: %w", err))
		}
	}
	return raw, nil
}

// printJSON writes the API's answer as it came, for scripts.
func printJSON(w io.Writer, raw []byte) {
	if len(raw) == 0 {
		return
	}
	w.Write(bytes.TrimRight(raw, "\n"))
	fmt.Fprintln(w)
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
