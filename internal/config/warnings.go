package config

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Warnings lists settings that are valid but weaken the gateway, each as
// "key.path: why", for `redoubt check` and the start-up log. They do not
// fail a check: each has a use (a test bench, a profiling session), but
// none should reach production unnoticed. Like errors, warnings name keys
// and never repeat a value.
func (c *Config) Warnings() []string {
	var w []string
	add := func(path, format string, args ...any) {
		w = append(w, path+": "+fmt.Sprintf(format, args...))
	}
	for _, name := range c.upstreamNames() {
		if c.Upstreams[name].TLS.InsecureSkipVerify {
			add("upstreams."+name+".tls.insecure_skip_verify", "the upstream's certificate is not verified: anyone on the path can read and change the traffic, including the login")
		}
	}
	if c.Tokens.UpstreamDefaults.TLS.InsecureSkipVerify {
		add("tokens.upstream_defaults.tls.insecure_skip_verify", "token routes do not verify the upstream's certificate")
	}
	if c.Admin.Pprof && c.Admin.Address != "" && !loopbackHost(c.Admin.Address) {
		add("admin.pprof", "the profiler is served on a non-loopback admin address: anyone who reaches it can read goroutine dumps and spend CPU on profiles")
	}
	for i, a := range c.Tokens.AllowUpstreams {
		if why := broadAllowRule(a); why != "" {
			add(fmt.Sprintf("tokens.allow_upstreams[%d]", i), "%s: a token signed with a leaked key can reach nearly any address", why)
		}
	}
	for i, l := range c.Listen {
		if l.TLS != nil && l.TLS.ClientAuth == ClientAuthOptional {
			add(fmt.Sprintf("listen[%d].tls.client_auth", i), "optional: clients without a certificate may log in with AUTH on this listener")
		}
	}
	return w
}

// loopbackHost reports whether addr's host is a loopback name or address.
// An empty host or an unspecified address (0.0.0.0, ::) listens on every
// interface.
func loopbackHost(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// broadAllowRule says why an allow_upstreams entry admits far more than a
// deployment's own caches, or "" when it does not.
func broadAllowRule(rule string) string {
	i := strings.LastIndexByte(rule, ':')
	if i < 0 {
		return ""
	}
	host := strings.Trim(rule[:i], "[]")
	if strings.Trim(host, "*?.") == "" {
		return "the host pattern matches every name"
	}
	if p, err := netip.ParsePrefix(host); err == nil && p.Bits() <= 8 && !p.Addr().IsLoopback() {
		return fmt.Sprintf("a /%d network", p.Bits())
	}
	return ""
}
