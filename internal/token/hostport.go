package token

import (
	"errors"
	"net/netip"
	"strings"
)

// maxHostLen is the DNS limit on a name's text form.
const maxHostLen = 253

// hostPort is a "HOST:PORT" that passed parseHostPort: exactly one of name
// and addr is set.
type hostPort struct {
	name string     // lowercased DNS name
	addr netip.Addr // IP literal, IPv4-mapped IPv6 unmapped
	port uint16
}

// ValidateUpstream reports whether s is an upstream address a token may
// carry: "NAME:PORT", "IPv4:PORT" or "[IPv6]:PORT". The same strict rules
// decide what AllowList.Allows accepts, so the CLI can refuse a route at
// issue time that the proxy would refuse later.
func ValidateUpstream(s string) error {
	_, err := parseHostPort(s)
	return err
}

// parseHostPort is deliberately stricter than net.SplitHostPort. Anything a
// resolver or dialer might read differently from the allow-list matcher is
// refused: userinfo, fragments, paths, percent-escapes, trailing dots,
// unbracketed or zoned IPv6, bracketed names, numeric forms such as
// "127.1" or "0x7f.1" that inet_aton turns into an IP, and ports with signs
// or leading zeros. The error text is fixed, never an echo of s.
func parseHostPort(s string) (hostPort, error) {
	if len(s) > maxHostLen+len("[]:65535") {
		return hostPort{}, errors.New("address too long")
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return hostPort{}, errors.New("address has no port")
	}
	port, err := parsePort(s[i+1:])
	if err != nil {
		return hostPort{}, err
	}
	host := s[:i]
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return hostPort{}, errors.New("unbalanced brackets in address")
		}
		a, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return hostPort{}, errors.New("brackets must hold an IPv6 address without zone")
		}
		return hostPort{addr: a.Unmap(), port: port}, nil
	}
	if strings.IndexByte(host, ':') >= 0 {
		return hostPort{}, errors.New("extra colon in address (IPv6 needs brackets)")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		// Without a colon ParseAddr only succeeds for dotted-quad IPv4.
		return hostPort{addr: a, port: port}, nil
	}
	name, err := checkHostname(host)
	if err != nil {
		return hostPort{}, err
	}
	return hostPort{name: name, port: port}, nil
}

// parsePort accepts only the canonical decimal spelling of 1..65535.
func parsePort(s string) (uint16, error) {
	if len(s) == 0 || len(s) > 5 || s[0] == '0' {
		return 0, errors.New("port must be a number from 1 to 65535")
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errors.New("port must be a number from 1 to 65535")
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0, errors.New("port must be a number from 1 to 65535")
	}
	return uint16(n), nil
}

// checkHostname validates a DNS name (letters, digits, '-', '_', dots
// between non-empty labels) and returns it lowercased.
func checkHostname(h string) (string, error) {
	if h == "" || len(h) > maxHostLen {
		return "", errors.New("host name empty or longer than 253 bytes")
	}
	h = strings.ToLower(h)
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return "", errors.New("host name has an empty or over-long label (trailing dot?)")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", errors.New("host name label starts or ends with '-'")
		}
		for i := 0; i < len(label); i++ {
			if !isHostByte(label[i]) {
				return "", errors.New("host name has a character outside [a-z0-9_-.]")
			}
		}
	}
	last := h[strings.LastIndexByte(h, '.')+1:]
	if isNumericLabel(last) {
		return "", errors.New("host name ends in a numeric label; a resolver may read it as an IP address")
	}
	return h, nil
}

func isHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// isNumericLabel reports whether l is a number in one of the forms
// inet_aton accepts (decimal, octal, 0x-hex). inet_aton needs every part
// numeric, so checking the last label is enough to rule it out.
func isNumericLabel(l string) bool {
	digits := "0123456789"
	if strings.HasPrefix(l, "0x") {
		l, digits = l[2:], "0123456789abcdef"
		if l == "" {
			return true // "0x" alone is 0 to inet_aton
		}
	}
	for i := 0; i < len(l); i++ {
		if strings.IndexByte(digits, l[i]) < 0 {
			return false
		}
	}
	return true
}
