package token

import (
	"errors"
	"fmt"
	"net/netip"
	"path"
	"strings"
)

// AllowList is the parsed tokens.allow_upstreams: the only addresses a
// route taken from a token (signed or legacy) may dial. The zero value and
// an empty list allow nothing.
type AllowList struct {
	rules []allowRule
}

// allowRule is one pattern: either a host glob or an IP prefix, and a port
// (0 meaning any).
type allowRule struct {
	glob   string       // lowercased path.Match pattern, or ""
	prefix netip.Prefix // valid when glob == ""
	port   uint16
}

// ParseAllowList parses patterns of the forms
//
//	HOSTGLOB:PORT   *.cache.amazonaws.com:6379
//	IPv4:PORT       10.0.0.5:6379
//	CIDR:PORT       10.0.0.0/8:6379
//	[IPv6]:PORT     [fd00::5]:6379
//	[v6CIDR]:PORT   [fd00::/8]:6379
//
// where PORT may be "*". It reports every bad pattern at once.
func ParseAllowList(patterns []string) (*AllowList, error) {
	a := &AllowList{}
	var errs []error
	for i, p := range patterns {
		r, err := parseAllowRule(p)
		if err != nil {
			// Patterns come from the config file; its errors name the entry
			// by index and never repeat a value.
			errs = append(errs, fmt.Errorf("allow_upstreams[%d]: %w", i, err))
			continue
		}
		a.rules = append(a.rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return a, nil
}

// CheckAllowRule reports whether p is an allow_upstreams entry that
// ParseAllowList accepts, so the configuration check can refuse what the
// gateway would.
func CheckAllowRule(p string) error {
	_, err := parseAllowRule(p)
	return err
}

func parseAllowRule(p string) (allowRule, error) {
	i := strings.LastIndexByte(p, ':')
	if i < 0 {
		return allowRule{}, errors.New("no port (use HOST:PORT or HOST:*)")
	}
	var r allowRule
	if ps := p[i+1:]; ps != "*" {
		port, err := parsePort(ps)
		if err != nil {
			return allowRule{}, err
		}
		r.port = port
	}
	host := p[:i]
	switch {
	case strings.HasPrefix(host, "["):
		if !strings.HasSuffix(host, "]") {
			return allowRule{}, errors.New("unbalanced brackets")
		}
		pfx, err := parsePrefix(host[1 : len(host)-1])
		if err != nil {
			return allowRule{}, err
		}
		if !pfx.Addr().Is6() {
			return allowRule{}, errors.New("brackets are for IPv6 only")
		}
		r.prefix = pfx
	case strings.IndexByte(host, ':') >= 0:
		return allowRule{}, errors.New("extra colon (IPv6 needs brackets)")
	case strings.IndexByte(host, '/') >= 0 || isIPv4(host):
		pfx, err := parsePrefix(host)
		if err != nil {
			return allowRule{}, err
		}
		r.prefix = pfx
	default:
		g, err := checkGlob(host)
		if err != nil {
			return allowRule{}, err
		}
		r.glob = g
	}
	return r, nil
}

func isIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// parsePrefix accepts a CIDR or a single address (a /32 or /128). Host bits
// set in a CIDR are refused rather than masked: "10.1.2.3/8" is more likely
// a typo than a wish to allow all of 10/8.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.IndexByte(s, '/') < 0 {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, errors.New("not an IP address or CIDR")
		}
		if a.Is4In6() {
			return netip.Prefix{}, errors.New("IPv4-mapped IPv6 address; write the IPv4 form")
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	pfx, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not a valid CIDR")
	}
	if pfx != pfx.Masked() {
		return netip.Prefix{}, errors.New("CIDR has host bits set")
	}
	if pfx.Addr().Is4In6() {
		return netip.Prefix{}, errors.New("IPv4-mapped IPv6 CIDR; write the IPv4 form")
	}
	return pfx, nil
}

// checkGlob validates a host glob and returns it lowercased. It uses the
// host name alphabet plus path.Match's metacharacters, so a pattern cannot
// smuggle in anything checkHostname would refuse in an address.
func checkGlob(g string) (string, error) {
	if g == "" || len(g) > maxHostLen {
		return "", errors.New("host pattern empty or longer than 253 bytes")
	}
	g = strings.ToLower(g)
	digits := false
	for i := 0; i < len(g); i++ {
		c := g[i]
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case isHostByte(c) || c == '.' || c == '*' || c == '?' || c == '[' || c == ']' || c == '^':
		default:
			return "", errors.New("host pattern has a character outside [a-z0-9_-.*?[]^]")
		}
	}
	if strings.HasPrefix(g, ".") || strings.HasSuffix(g, ".") || strings.Contains(g, "..") {
		return "", errors.New("host pattern has an empty label (leading or trailing dot?)")
	}
	if _, err := path.Match(g, ""); err != nil {
		return "", errors.New("host pattern is not a valid glob")
	}
	// IP literals never match globs (see Allows), so "10.0.*" would
	// silently allow nothing; say so instead.
	if digits && strings.Trim(g, "0123456789.*?[]^-") == "" {
		return "", errors.New("host pattern looks like an IP glob; use a CIDR such as 10.0.0.0/8:PORT")
	}
	return g, nil
}

// Allows reports whether a route may be dialed. hostport is parsed with
// the same strict rules as a token's upstream; anything unparsable is
// denied. A name matches only glob patterns (path.Match, case-insensitive)
// and an IP literal only CIDR or IP patterns; the port must match too.
func (a *AllowList) Allows(hostport string) bool {
	if a == nil || len(a.rules) == 0 {
		return false
	}
	hp, err := parseHostPort(hostport)
	if err != nil {
		return false
	}
	for _, r := range a.rules {
		if r.port != 0 && r.port != hp.port {
			continue
		}
		if r.glob != "" {
			if hp.name == "" {
				continue
			}
			if ok, _ := path.Match(r.glob, hp.name); ok {
				return true
			}
			continue
		}
		if hp.addr.IsValid() && r.prefix.Contains(hp.addr) {
			return true
		}
	}
	return false
}
