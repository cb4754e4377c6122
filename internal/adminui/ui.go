// Package adminui is the operator's page on the admin listener (/ui/):
// live sessions per tenant and upstream, with buttons to end a session or
// revoke a credential. Server-rendered HTML, one small script, no build
// step, nothing from a CDN. It knows nothing of the proxy: what it lists
// and what its buttons do come in as funcs (Deps), and the admin token
// check is the admin API's.
package adminui

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"
)

// Session is one live session as the page shows it.
type Session struct {
	ID           uint64
	Tenant       string
	Upstream     string
	Mode         string
	Client       string
	Method       string // how it logged in: secret, token, legacy, mtls
	CredentialID string // "" when the credential has no id
	// Fixed marks a credential the page cannot revoke (the configuration
	// file's: revoked by editing the file): no revoke button.
	Fixed bool
	// TokenID is a signed token's id, shown (revoked via tokens.revoked).
	TokenID  string
	Start    time.Time
	BytesIn  int64
	BytesOut int64
}

// Deps are what the page reads and does. Authenticate and Sessions are
// required; a nil RevokeCredential hides the revoke buttons.
type Deps struct {
	// Authenticate checks an admin token in constant time and names its holder.
	Authenticate func(token string) (subject string, ok bool)
	Sessions     func() []Session
	// EndSession ends a live session; false when there is none by that id.
	EndSession func(id uint64) bool
	// RevokeCredential revokes a tenant's credential (its sessions end).
	RevokeCredential func(ctx context.Context, tenant, id string) error
	// Acted hears of every action, for the audit log: subject did action
	// ("end_session", "revoke_credential") to target.
	Acted func(subject, action, target string, err error)
	Now   func() time.Time
}

//go:embed static
var static embed.FS

//go:embed page.html
var pageHTML string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"age":   age,
	"bytes": humanBytes,
}).Parse(pageHTML))

// Handler serves the page under /ui/.
type Handler struct {
	d   Deps
	lg  *logins
	mux *http.ServeMux
}

// New returns the page's handler; mount it at /ui/.
func New(d Deps) *Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Acted == nil {
		d.Acted = func(string, string, string, error) {}
	}
	h := &Handler{d: d, lg: newLogins(d.Now), mux: http.NewServeMux()}
	sub, _ := fs.Sub(static, "static")
	h.mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(sub)))
	h.mux.HandleFunc("GET /ui/{$}", h.index)
	h.mux.HandleFunc("GET /ui/sessions", h.table) // the table alone, for the script's refresh
	h.mux.HandleFunc("GET /ui/login", h.loginForm)
	h.mux.HandleFunc("POST /ui/login", h.login)
	h.mux.HandleFunc("POST /ui/logout", h.logout)
	h.mux.HandleFunc("POST /ui/sessions/{id}/end", h.endSession)
	h.mux.HandleFunc("POST /ui/credentials/revoke", h.revoke)
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// Only our own script and style; no framing, no forms to elsewhere.
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: with no-referrer Chromium sends
	// "Origin: null" on the page's own POSTs, which sameOrigin refuses.
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

type view struct {
	Subject  string
	CSRF     string
	Groups   []group
	Total    int
	Revoke   bool
	Message  string
	Error    string
	LoginErr string
	Now      time.Time
}

type group struct {
	Tenant, Upstream string
	Sessions         []Session
	In, Out          int64
}

func (h *Handler) build(lg *login) view {
	ss := h.d.Sessions()
	sort.Slice(ss, func(i, j int) bool {
		a, b := ss[i], ss[j]
		if a.Tenant != b.Tenant {
			return a.Tenant < b.Tenant
		}
		if a.Upstream != b.Upstream {
			return a.Upstream < b.Upstream
		}
		return a.ID < b.ID
	})
	v := view{Subject: lg.subject, CSRF: lg.csrf, Total: len(ss), Revoke: h.d.RevokeCredential != nil, Now: h.d.Now()}
	for _, s := range ss {
		if n := len(v.Groups); n == 0 || v.Groups[n-1].Tenant != s.Tenant || v.Groups[n-1].Upstream != s.Upstream {
			v.Groups = append(v.Groups, group{Tenant: s.Tenant, Upstream: s.Upstream})
		}
		g := &v.Groups[len(v.Groups)-1]
		g.Sessions = append(g.Sessions, s)
		g.In += s.BytesIn
		g.Out += s.BytesOut
	}
	return v
}

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	lg, _ := h.lg.get(r)
	if lg == nil {
		http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
		return
	}
	v := h.build(lg)
	v.Message, v.Error = r.URL.Query().Get("done"), r.URL.Query().Get("error")
	h.render(w, "index", v)
}

func (h *Handler) table(w http.ResponseWriter, r *http.Request) {
	lg, _ := h.lg.get(r)
	if lg == nil {
		http.Error(w, "log in again", http.StatusUnauthorized)
		return
	}
	h.render(w, "sessions", h.build(lg))
}

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, "login", view{})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-origin login refused", http.StatusForbidden)
		return
	}
	if h.lg.throttled() {
		http.Error(w, "too many failed logins; wait a minute", http.StatusTooManyRequests)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	subject, ok := h.d.Authenticate(r.PostFormValue("token"))
	if !ok {
		h.lg.failed()
		w.WriteHeader(http.StatusUnauthorized)
		h.render(w, "login", view{LoginErr: "That token is not valid."})
		return
	}
	setCookie(w, r, h.lg.start(subject), int(loginTTL/time.Second))
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	lg, id := h.lg.get(r)
	if lg != nil && csrfOK(lg, r) {
		h.lg.end(id)
	}
	setCookie(w, r, "", -1)
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// action checks the login and the CSRF token of a button's POST.
func (h *Handler) action(w http.ResponseWriter, r *http.Request) *login {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	lg, _ := h.lg.get(r)
	if lg == nil {
		http.Error(w, "log in again", http.StatusUnauthorized)
		return nil
	}
	if !csrfOK(lg, r) || !sameOrigin(r) {
		http.Error(w, "stale or forged form: reload the page", http.StatusForbidden)
		return nil
	}
	return lg
}

func (h *Handler) endSession(w http.ResponseWriter, r *http.Request) {
	lg := h.action(w, r)
	if lg == nil {
		return
	}
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || !h.d.EndSession(id) {
		h.d.Acted(lg.subject, "end_session", r.PathValue("id"), errNoSession)
		back(w, r, "error", "session "+r.PathValue("id")+" is gone already")
		return
	}
	h.d.Acted(lg.subject, "end_session", strconv.FormatUint(id, 10), nil)
	back(w, r, "done", "ended session "+strconv.FormatUint(id, 10))
}

func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	lg := h.action(w, r)
	if lg == nil {
		return
	}
	if h.d.RevokeCredential == nil {
		http.Error(w, "revocation is not available here", http.StatusNotFound)
		return
	}
	tenant, id := r.PostFormValue("tenant"), r.PostFormValue("id")
	err := h.d.RevokeCredential(r.Context(), tenant, id)
	h.d.Acted(lg.subject, "revoke_credential", tenant+"/"+id, err)
	if err != nil {
		back(w, r, "error", "revoking "+tenant+"/"+id+": "+err.Error())
		return
	}
	back(w, r, "done", "revoked credential "+tenant+"/"+id)
}

type uiError string

func (e uiError) Error() string { return string(e) }

const errNoSession = uiError("no such session")

// back returns to the page with a one-line message (Post/Redirect/Get, so
// a reload does not repeat the action).
func back(w http.ResponseWriter, r *http.Request, key, msg string) {
	http.Redirect(w, r, "/ui/?"+url.Values{key: {msg}}.Encode(), http.StatusSeeOther)
}

// sameOrigin refuses a POST whose Origin names another site (browsers
// send Origin on POST); a request without one (curl) passes on the CSRF
// token alone.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (h *Handler) render(w http.ResponseWriter, name string, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.ExecuteTemplate(w, name, v); err != nil {
		http.Error(w, "page: "+err.Error(), http.StatusInternalServerError)
	}
}

func age(start, now time.Time) string {
	d := now.Sub(start).Round(time.Second)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m" + strconv.Itoa(int(d%time.Minute/time.Second)) + "s"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h" + strconv.Itoa(int(d%time.Hour/time.Minute)) + "m"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d"
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	f, i := float64(n), 0
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + [...]string{"B", "KiB", "MiB", "GiB", "TiB"}[i]
}
