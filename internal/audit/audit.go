// Package audit writes redoubt's audit events as JSON lines with a stable
// schema (docs/audit.md): who logged in or failed to, which commands were
// refused (by name, never arguments), which sessions ended and why. A
// field is added, never renamed or removed.
package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Event is one audit line. Secrets, tokens and command arguments never go
// here: Reason is the proxy's own wording, Command a command's name.
type Event struct {
	Time         time.Time `json:"time"`
	Event        string    `json:"event"` // auth_ok, auth_fail, auth_refused, command_denied, upstream_unavailable, session_end, session_closed
	Code         string    `json:"code"`  // stable machine code, see Codes
	Success      bool      `json:"success"`
	SessionID    uint64    `json:"session_id,omitempty"`
	Source       string    `json:"source,omitempty"` // client address
	Tenant       string    `json:"tenant,omitempty"`
	CredentialID string    `json:"credential_id,omitempty"`
	Method       string    `json:"method,omitempty"` // secret, token, legacy, mtls
	Upstream     string    `json:"upstream,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Command      string    `json:"command,omitempty"` // denied command's name, lower case
	Subject      string    `json:"subject,omitempty"` // who acted through the admin API or page
	BytesIn      int64     `json:"bytes_in,omitempty"`
	BytesOut     int64     `json:"bytes_out,omitempty"`
	Duration     float64   `json:"duration_seconds,omitempty"`
}

// Codes maps every event to its code. One event can carry more codes as
// the reasons are refined; a code never changes meaning.
var Codes = map[string]string{
	"auth_ok":              "AUTH_OK",
	"auth_fail":            "AUTH_FAILED",
	"auth_refused":         "AUTH_REFUSED_OTHER_TENANT",
	"command_denied":       "COMMAND_DENIED",
	"upstream_unavailable": "UPSTREAM_UNAVAILABLE",
	"session_end":          "SESSION_END",
	"session_closed":       "SESSION_CLOSED_BY_ADMIN",
	"credential_revoked":   "CREDENTIAL_REVOKED",
}

// Sink receives events. A nil Sink drops them.
type Sink interface{ Write(Event) }

// Writer writes events as JSON lines, one Write call per line so lines
// from concurrent sessions never interleave.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	c   io.Closer
	buf []byte
	err func(error)
}

// NewWriter writes to w; onErr (may be nil) hears of failed writes.
func NewWriter(w io.Writer, onErr func(error)) *Writer {
	return &Writer{w: w, err: onErr}
}

// Open appends to the file at path ("stdout" and "stderr" name those
// streams), creating it readable by its owner only.
func Open(path string, onErr func(error)) (*Writer, error) {
	switch path {
	case "stdout":
		return NewWriter(os.Stdout, onErr), nil
	case "stderr":
		return NewWriter(os.Stderr, onErr), nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	w := NewWriter(f, onErr)
	w.c = f
	return w, nil
}

// Write fills Code and Time when empty and writes one line.
func (w *Writer) Write(e Event) {
	if e.Code == "" {
		e.Code = Codes[e.Event]
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	line, err := json.Marshal(e)
	if err != nil {
		return // cannot happen for this struct
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(append(w.buf[:0], line...), '\n')
	if _, err := w.w.Write(w.buf); err != nil && w.err != nil {
		w.err(err)
	}
}

// Close closes the file (not stdout or stderr).
func (w *Writer) Close() error {
	if w.c == nil {
		return nil
	}
	return w.c.Close()
}
