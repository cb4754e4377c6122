package token

import (
	"errors"
	"strconv"
)

// Reasons a token is refused. Every error from Verify, Decode and
// VerifyLegacy (and Issue's claim checks) is an *Error wrapping one of them, so callers can branch with errors.Is and log the
// precise cause while the client only ever sees WRONGPASS.
var (
	ErrTooLong            = errors.New("token too long")
	ErrMalformed          = errors.New("malformed token")
	ErrUnsupportedVersion = errors.New("unsupported token version")
	ErrUnknownKey         = errors.New("unknown signing key")
	ErrBadSignature       = errors.New("bad signature")
	ErrExpired            = errors.New("token expired")
	ErrNotYetValid        = errors.New("token not yet valid")
	ErrInvalidClaims      = errors.New("invalid claims")
)

// Error is a refusal with its reason and a detail for the log. Detail is
// built only from constants and from values this package has parsed and
// validated (times, lengths); it never contains token text or secrets, so
// the whole error is safe to log.
type Error struct {
	Reason error // one of the Err* sentinels above
	Detail string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return "token: " + e.Reason.Error()
	}
	return "token: " + e.Reason.Error() + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Reason }

func fail(reason error, detail string) error {
	return &Error{Reason: reason, Detail: detail}
}

// errTooLong is preallocated so that refusing an oversized token costs no
// allocation at all, which the tests check.
var errTooLong error = &Error{Reason: ErrTooLong, Detail: "longer than " + strconv.Itoa(MaxTokenLen) + " bytes"}
