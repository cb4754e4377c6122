package admin

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
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
		if crossSiteChange(r) {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// crossSiteChange reports a request that may change something (not GET,
// HEAD or OPTIONS) sent by a browser on behalf of a page of another
// origin. A page cannot add a bearer token to such a request, but a
// browser attaches a client certificate it holds by itself, and a plain
// form POST needs no CORS preflight: without this, any page the operator
// opens could issue credentials through an mTLS admin endpoint. Browsers
// send Origin with every cross-origin POST; the CLI, curl and scripts send
// neither header.
func crossSiteChange(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host)
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
