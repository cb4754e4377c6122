package admin

import (
	"net/http"
	"path"
	"strings"
)

// cleanPathOnly refuses a request whose path is not in clean form
// (/v1/tenants/app/credentials/.., a doubled slash, an encoded %2e%2e)
// instead of letting the router redirect it to the cleaned path: a client
// that follows the redirect repeats its method there, so a credential
// revocation aimed at "app/credentials/.." would delete tenant app.
func cleanPathOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		c := path.Clean(p)
		if strings.HasSuffix(p, "/") && c != "/" {
			c += "/"
		}
		if p == "" || c != p {
			writeError(w, http.StatusBadRequest, "path is not in clean form")
			return
		}
		next.ServeHTTP(w, r)
	})
}
