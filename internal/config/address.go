package config

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/redoubt-proxy/redoubt/internal/model"
)

// checkHostPort checks a "host:port" address. The returned error never
// contains the address: an upstream address may carry a password
// ("user:pw@host:port", "redis://:pw@host"), and an error is printed.
// allowZeroPort is for listeners, where port 0 picks a free port.
func checkHostPort(addr string, allowZeroPort bool) error {
	switch {
	case addr == "":
		return errors.New("required (host:port)")
	case strings.Contains(addr, "://"):
		return errors.New("must be host:port, not a URL (credentials go in auth.password_env)")
	case strings.Contains(addr, "@"):
		return errors.New("must be host:port without credentials (put the password in auth.password_env)")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return errors.New("invalid host:port: " + ae.Err) // ae.Addr would echo the address
		}
		return errors.New("invalid host:port")
	}
	if err := checkPort(port, allowZeroPort); err != nil {
		return err
	}
	if host != "" && !validHost(host) {
		return errors.New("invalid host: want an IP address or a DNS name")
	}
	return nil
}

func checkPort(port string, allowZero bool) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !allowZero) {
		if allowZero {
			return errors.New("invalid port: want 0..65535")
		}
		return errors.New("invalid port: want 1..65535")
	}
	return nil
}

// validHost accepts an IP address (with an optional IPv6 zone) or a DNS
// name (letters, digits, '-', '_', '.').
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	return validDNSName(h, false)
}

func validDNSName(h string, glob bool) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, r := range h {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9',
			r == '-', r == '_', r == '.':
		case glob && (r == '*' || r == '?'):
		default:
			return false
		}
	}
	return true
}

// checkAllowUpstream checks one tokens.allow_upstreams entry:
// "HOSTGLOB:PORT", "CIDR:PORT" or "[IPv6CIDR]:PORT"; PORT may be "*".
// Matching is the token package's job (token.ParseAllowList, which is
// stricter still); this catches what can never match.
func checkAllowUpstream(s string) error {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return errors.New("want HOST:PORT, CIDR:PORT or [IPv6CIDR]:PORT (PORT may be *)")
	}
	host, port := s[:i], s[i+1:]
	if port != "*" {
		if err := checkPort(port, false); err != nil {
			return errors.New(err.Error() + " or *")
		}
	}
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return errors.New("unterminated [ in IPv6 address")
		}
		in := host[1 : len(host)-1]
		if strings.Contains(in, "/") {
			if p, err := netip.ParsePrefix(in); err != nil || !p.Addr().Is6() {
				return errors.New("invalid IPv6 CIDR")
			}
			return checkCIDR(in)
		}
		if a, err := netip.ParseAddr(in); err != nil || !a.Is6() {
			return errors.New("invalid IPv6 address")
		}
		return nil
	}
	if strings.Contains(host, ":") {
		return errors.New("IPv6 addresses need brackets: [2001:db8::/32]:6379")
	}
	if strings.Contains(host, "/") {
		return checkCIDR(host)
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil // a single IPv4 address
	}
	if !validDNSName(host, true) {
		return errors.New("invalid host glob: want letters, digits, '-', '.', '*' or '?'")
	}
	if strings.HasSuffix(host, ".") || strings.Contains(host, "..") || strings.HasPrefix(host, ".") {
		return errors.New("invalid host glob: empty label or trailing dot")
	}
	// Globs match names, never IP literals: "10.0.*" would silently match
	// nothing, so say what to write instead.
	if strings.Trim(host, "0123456789.*?") == "" && strings.ContainsAny(host, "0123456789") {
		return errors.New("glob looks like an IP address; use a CIDR such as 10.0.0.0/16:6379")
	}
	return nil
}

// checkCIDR refuses host bits ("10.0.0.1/8"): the user's intent, one
// address or the whole network, is unclear.
func checkCIDR(s string) error {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return errors.New("invalid CIDR")
	}
	if p != p.Masked() {
		return errors.New("CIDR has host bits set (write " + p.Masked().String() + ")")
	}
	return nil
}

// validName is the charset for tenant, upstream and key names: they appear
// in metrics labels, log lines and token claims. It is the model's rule,
// so `check` refuses exactly the names the running snapshot would leave out.
func validName(s string) bool { return model.ValidName(s) }
