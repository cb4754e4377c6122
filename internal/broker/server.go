package broker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pivotal-cf/brokerapi/v12"
)

// maxBody bounds a request body: OSB requests are small JSON documents.
const maxBody = 64 << 10

// Handler is the OSB API: basic auth first (SHA-256 digests of user and
// password compared in constant time), then X-Broker-API-Version, then
// the endpoints under /v2/ (brokerapi).
func (b *Broker) Handler() http.Handler {
	h := brokerapi.NewWithOptions(b, b.log,
		brokerapi.WithAdditionalMiddleware(b.retryAfter), brokerapi.WithAdditionalMiddleware(wellFormed))
	user, pw := sha256.Sum256([]byte(b.cfg.Username)), sha256.Sum256([]byte(b.cfg.Password))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		gu, gp := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		// Both compared, always: the time taken says nothing of which was wrong.
		match := subtle.ConstantTimeCompare(gu[:], user[:]) & subtle.ConstantTimeCompare(gp[:], pw[:])
		if !ok || match != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="redoubt service broker"`)
			writeError(w, http.StatusUnauthorized, "Unauthorized", "basic authentication required")
			return
		}
		if msg := checkVersion(r.Header.Get("X-Broker-API-Version")); msg != "" {
			writeError(w, http.StatusPreconditionFailed, "PreconditionFailed", msg)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h.ServeHTTP(w, r)
	})
}

// minMinor is the oldest 2.x the broker speaks: 2.13 brought the
// parameter schemas and originating identity platforms send today.
const minMinor = 13

// checkVersion returns why a X-Broker-API-Version header is refused ("" = fine).
func checkVersion(v string) string {
	if v == "" {
		return "X-Broker-API-Version header is required (this broker speaks 2.13 to 2.17)"
	}
	major, minor, ok := strings.Cut(v, ".")
	n, err := strconv.Atoi(minor)
	if !ok || major != "2" || err != nil || n < minMinor {
		return "X-Broker-API-Version " + strconv.Quote(v) + " is not supported (this broker speaks 2.13 to 2.17)"
	}
	return ""
}

func writeError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "description": desc})
}

// retryAfter tells platforms when to poll an operation again.
func (b *Broker) retryAfter(next http.Handler) http.Handler {
	secs := strconv.Itoa(int((b.o.RetryAfter + time.Second - 1) / time.Second))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/last_operation") {
			w.Header().Set("Retry-After", secs)
		}
		next.ServeHTTP(w, r)
	})
}

// wellFormed answers a request body that is not JSON with 400, as the
// OSB spec asks for a malformed request (the handlers would say 422).
func wellFormed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut || r.Method == http.MethodPatch {
			body, err := io.ReadAll(r.Body)
			if err != nil || !json.Valid(body) {
				writeError(w, http.StatusBadRequest, "MalformedRequest", "the request body is not well-formed JSON (at most 64 KiB)")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}

// Server is the broker's own listener.
type Server struct {
	ln  net.Listener
	srv *http.Server
}

// Listen serves the API on addr (TLS when tc is set) until Close.
func (b *Broker) Listen(addr string, tc *tls.Config) (*Server, error) {
	if b.plane == nil {
		return nil, errors.New("broker: Attach a plane before Listen")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("broker listen %s: %w", addr, err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	s := &Server{ln: ln, srv: &http.Server{
		Handler:           b.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// ElastiCache calls happen inside requests.
		WriteTimeout: 2 * time.Minute,
		IdleTimeout:  2 * time.Minute,
	}}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.log.Error("broker listener stopped", "err", err)
		}
	}()
	return s, nil
}

// Addr is the address the listener is bound to.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the listener, letting requests in flight finish for a moment.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
