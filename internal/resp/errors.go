package resp

import "errors"

// ErrIncomplete means the buffer holds only part of a command or value:
// read more bytes and call again with the same bytes followed by the new ones.
var ErrIncomplete = errors.New("resp: incomplete")

// ErrMalformed is wrapped by every error about a malformed or over-limit
// reply (ReplyScanner, ParseValue). The connection it came from is out of
// sync and must be closed.
var ErrMalformed = errors.New("resp: malformed reply")

// ProtocolError is a fatal violation of the request protocol. Error returns
// exactly the text redis-server 7 sends after "-ERR ", so the proxy can write
// "-ERR "+Error()+"\r\n" and close the connection, as redis does.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return e.Msg }

func protoErr(msg string) error { return &ProtocolError{Msg: "Protocol error: " + msg} }
