package admin

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// hostCheck guards every admin route against DNS rebinding: a web page on
// another origin can make a browser send requests to a loopback admin
// port by pointing its own name at 127.0.0.1, but the browser still sends
// that name in Host. So only these Host values are served:
//
//   - loopback names and addresses (localhost, 127.0.0.0/8, ::1);
//   - the host of the configured admin address;
//   - when the admin address listens on every interface (0.0.0.0, ::,
//     or no host), any IP address: a rebinding page cannot make a browser
//     send an IP literal for its own origin.
//
// Anything else gets 403. The port in Host is not checked: the name alone
// decides whose origin the request comes from.
func hostCheck(adminAddr string, next http.Handler) http.Handler {
	allowed, anyIP := allowedHosts(adminAddr)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r.Host, allowed, anyIP) {
			http.Error(w, "host not allowed", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func allowedHosts(adminAddr string) (names map[string]bool, anyIP bool) {
	names = map[string]bool{"localhost": true}
	host, _, err := net.SplitHostPort(adminAddr)
	if err != nil {
		return names, false
	}
	if ip, err := netip.ParseAddr(host); host == "" || err == nil && ip.IsUnspecified() {
		return names, true
	}
	names[canonicalHost(host)] = true
	return names, false
}

func hostAllowed(hostHeader string, names map[string]bool, anyIP bool) bool {
	host := hostHeader
	if h, _, err := net.SplitHostPort(hostHeader); err == nil {
		host = h
	}
	host = canonicalHost(strings.Trim(host, "[]"))
	if host == "" {
		return false
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return anyIP || ip.IsLoopback() || names[ip.String()]
	}
	return names[host]
}

// canonicalHost lower-cases a name, drops a trailing dot and writes an IP
// address in its standard form (so ::0001 and ::1 compare equal).
func canonicalHost(h string) string {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip.Unmap().String()
	}
	return h
}
