package config

import (
	"errors"
	"fmt"
)

// FieldError is one problem in a configuration, tied to the key it is
// about. Validate and Parse return several of them joined with errors.Join,
// so a user fixes every mistake in one pass instead of one per run.
//
// Messages name keys and environment variables, never the value of a
// secret: these errors end up in terminals, CI logs and Kubernetes events.
type FieldError struct {
	// Path is the key path, e.g. "tenants[1].upstream" or "upstreams.main.auth.mode".
	Path string
	// Line is the line in the YAML file, when known (decoding errors); 0 otherwise.
	Line int
	Msg  string
}

func (e *FieldError) Error() string {
	switch {
	case e.Line > 0 && e.Path != "":
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Path, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	case e.Path != "":
		return e.Path + ": " + e.Msg
	}
	return e.Msg
}

// problems collects FieldErrors in the order the checks find them.
type problems []error

func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// err returns nil when nothing was found, else every problem joined.
func (p problems) err() error {
	return errors.Join(p...)
}
