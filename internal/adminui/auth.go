package adminui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// A browser cannot send the admin API's bearer token when it navigates,
// so the login form exchanges the token for a cookie: a random id naming
// a server-side login (HttpOnly: scripts cannot read it; SameSite=Strict:
// other sites' pages cannot send it). Every button also carries the
// login's CSRF token, checked in constant time.

const (
	cookieName = "redoubt_ui"
	loginTTL   = 8 * time.Hour
	maxLogins  = 1024
	// Failed logins: at most failBurst per failWindow, process-wide, then
	// 429 until the window passes (the token check itself is constant time).
	failBurst  = 10
	failWindow = time.Minute
)

type login struct {
	subject string
	csrf    string
	expires time.Time
}

type logins struct {
	mu       sync.Mutex
	byID     map[string]*login
	fails    int
	failFrom time.Time
	now      func() time.Time
}

func newLogins(now func() time.Time) *logins {
	return &logins{byID: map[string]*login{}, now: now}
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("adminui: crypto/rand: " + err.Error()) // the platform has no randomness: nothing is safe
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// throttled reports whether too many logins failed lately.
func (l *logins) throttled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.now().Sub(l.failFrom) > failWindow {
		l.fails, l.failFrom = 0, l.now()
	}
	return l.fails >= failBurst
}

func (l *logins) failed() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fails++
}

// start records a login and returns its cookie id.
func (l *logins) start(subject string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for id, lg := range l.byID {
		if now.After(lg.expires) {
			delete(l.byID, id)
		}
	}
	if len(l.byID) >= maxLogins {
		// Drop the login closest to expiry: the oldest.
		var oldest string
		for id, lg := range l.byID {
			if oldest == "" || lg.expires.Before(l.byID[oldest].expires) {
				oldest = id
			}
		}
		delete(l.byID, oldest)
	}
	id := randomToken()
	l.byID[id] = &login{subject: subject, csrf: randomToken(), expires: now.Add(loginTTL)}
	return id
}

// get returns the live login named by the request's cookie.
func (l *logins) get(r *http.Request) (*login, string) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil, ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lg := l.byID[c.Value]
	if lg == nil || l.now().After(lg.expires) {
		return nil, ""
	}
	return lg, c.Value
}

func (l *logins) end(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.byID, id)
}

func csrfOK(lg *login, r *http.Request) bool {
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(lg.csrf)) == 1
}

func setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: value, Path: "/ui/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}
