package config

import (
	"fmt"
	"net"
	"strings"

	"github.com/redoubt-proxy/redoubt/internal/model"
)

// Hooks adds checks that need packages config cannot import without a
// cycle (they import config). A nil hook is skipped.
type Hooks struct {
	// Commands checks a tenant's commands rules against the command table
	// (the policy package); Validate itself checks only the +/- syntax.
	Commands func(rules string) error
}

// Validate reports every problem in c, joined with errors.Join, each as
// "key.path: message". Run ApplyDefaults and Resolve first (Parse does).
// It reads the TLS files the config names.
func (c *Config) Validate() error { return c.ValidateWith(Hooks{}) }

// ValidateWith is Validate plus the checks in h.
func (c *Config) ValidateWith(h Hooks) error {
	var p problems
	c.validateListeners(&p)
	if c.Admin.Address != "" {
		if err := checkHostPort(c.Admin.Address, true); err != nil {
			p.add("admin.address", "%v", err)
		}
	} else if c.Admin.Pprof {
		p.add("admin.pprof", "needs admin.address")
	}
	c.validateUpstreams(&p)
	c.validateTenants(&p, h)
	c.validateTokens(&p)
	c.validateLimits(&p)
	c.validateFairShare(&p)
	c.validateLog(&p)
	c.validateControlPlane(&p)
	c.validateOps(&p)
	c.validateBroker(&p)
	c.Sources.validate(&p, c.Store)
	return p.err()
}

func (c *Config) validateListeners(p *problems) {
	if len(c.Listen) == 0 {
		p.add("listen", "at least one listener is required")
	}
	seen := map[string]int{}
	for i, l := range c.Listen {
		path := fmt.Sprintf("listen[%d]", i)
		if err := checkHostPort(l.Address, true); err != nil {
			p.add(path+".address", "%v", err)
		} else if _, port, _ := net.SplitHostPort(l.Address); port != "0" {
			// Port 0 picks a fresh port each time, so it never collides.
			key := model.CanonicalAddr(l.Address)
			if first, dup := seen[key]; dup {
				p.add(path+".address", "duplicate of listen[%d].address", first)
			} else {
				seen[key] = i
			}
		}
		if l.TLS == nil {
			continue
		}
		checkKeyPair(p, path+".tls", l.TLS.CertFile, l.TLS.KeyFile)
		if l.TLS.ClientCAFile != "" {
			checkCAFile(p, path+".tls.client_ca_file", l.TLS.ClientCAFile)
		}
		switch {
		case l.TLS.ClientAuth == "":
		case l.TLS.ClientCAFile == "":
			p.add(path+".tls.client_auth", "needs client_ca_file (the CA that client certificates must chain to)")
		case l.TLS.ClientAuth != ClientAuthRequire && l.TLS.ClientAuth != ClientAuthOptional:
			p.add(path+".tls.client_auth", "want require or optional")
		}
	}
}

// hasMTLSListener reports whether some listener can identify a tenant by
// its client certificate.
func (c *Config) hasMTLSListener() bool {
	for _, l := range c.Listen {
		if l.TLS != nil && l.TLS.ClientCAFile != "" {
			return true
		}
	}
	return false
}

func (c *Config) validateLimits(p *problems) {
	l := c.Limits
	for _, d := range []struct {
		key string
		v   Duration
	}{
		{"auth_timeout", l.AuthTimeout},
		{"shutdown_grace", l.ShutdownGrace},
		{"dial_timeout", l.DialTimeout},
		{"auth_fail_window", l.AuthFailWindow},
	} {
		if d.v < 0 {
			p.add("limits."+d.key, "must not be negative")
		}
	}
	for _, n := range []struct {
		key string
		v   int64
	}{
		{"preauth_max_args", int64(l.PreAuthMaxArgs)},
		{"preauth_max_bulk", int64(l.PreAuthMaxBulk)},
		{"max_bulk_len", l.MaxBulkLen},
		{"max_inline_len", int64(l.MaxInlineLen)},
		{"splice_min_bytes", int64(l.SpliceMinBytes)},
		{"passthrough_buf_size", int64(l.PassthroughBufSize)},
		{"event_loops", int64(l.EventLoops)},
		{"client_query_buffer_limit", l.ClientQueryBufferLimit},
		{"request_memory_budget", l.RequestMemoryBudget},
	} {
		if n.v < 0 {
			p.add("limits."+n.key, "must not be negative")
		}
	}
	if l.EventLoops > maxEventLoops {
		p.add("limits.event_loops", "must be at most %d", maxEventLoops)
	}
	// 0 in the file means the default, so "off" needs its own value.
	if l.AuthFailPerAddr < -1 {
		p.add("limits.auth_fail_per_addr", "must be -1 (no per-address throttle) or more")
	}
	c.validateConnLimits(p)
	if l.MaxAuthFailures < 1 {
		p.add("limits.max_auth_failures", "must be at least 1")
	}
}

func (c *Config) validateLog(p *problems) {
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level", "unknown level (want debug, info, warn or error)")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		p.add("log.format", "unknown format (want text or json)")
	}
}

// checkCommandsSyntax checks a tenant's extra rules: whitespace-separated
// tokens, each "+something" or "-something". What the something may be
// is the policy package's to say (Hooks.Commands).
func checkCommandsSyntax(rules string) error {
	for i, tok := range strings.Fields(rules) {
		if len(tok) < 2 || (tok[0] != '+' && tok[0] != '-') {
			return fmt.Errorf("rule %d must be +COMMAND, -COMMAND, +@CATEGORY or -@CATEGORY", i+1)
		}
	}
	return nil
}
