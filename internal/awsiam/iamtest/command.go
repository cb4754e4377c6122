package iamtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// A deliberately small RESP command reader: the Front only needs to spot
// AUTH and HELLO and pass everything else on as it came. It is separate from
// internal/resp so the stand-in shares no code with what it tests.

const (
	maxArgs    = 1 << 20
	maxBulkLen = 512 << 20
	maxLine    = 64 << 10
)

// command is one client command: its arguments and the exact bytes it
// arrived as, forwarded unchanged unless the Front rewrites it.
type command struct {
	args [][]byte
	raw  []byte
}

var errProtocol = errors.New("iamtest: protocol error")

// readCommand reads one multibulk (*N then $len bulks) or inline command.
// Blank inline lines are skipped, as redis-server does.
func readCommand(r *bufio.Reader) (command, error) {
	for {
		line, err := readLine(r)
		if err != nil {
			return command{}, err
		}
		if len(line) == 0 || line[0] != '*' {
			if args := bytes.Fields(line); len(args) > 0 {
				return command{args: args, raw: append(line, '\r', '\n')}, nil
			}
			continue
		}
		return readMultibulk(r, line)
	}
}

func readMultibulk(r *bufio.Reader, header []byte) (command, error) {
	n, err := strconv.Atoi(string(header[1:]))
	if err != nil || n > maxArgs {
		return command{}, fmt.Errorf("%w: bad array length", errProtocol)
	}
	raw := append(header, '\r', '\n')
	var args [][]byte // grown as bulks arrive, never sized from n
	for i := 0; i < n; i++ {
		line, err := readLine(r)
		if err != nil {
			return command{}, err
		}
		if len(line) == 0 || line[0] != '$' {
			return command{}, fmt.Errorf("%w: expected '$'", errProtocol)
		}
		size, err := strconv.Atoi(string(line[1:]))
		if err != nil || size < 0 || size > maxBulkLen {
			return command{}, fmt.Errorf("%w: bad bulk length", errProtocol)
		}
		raw = append(append(raw, line...), '\r', '\n')
		start := len(raw)
		for len(raw)-start < size+2 {
			chunk, err := r.Peek(min(size+2-(len(raw)-start), r.Size()))
			if err != nil && len(chunk) == 0 {
				return command{}, err
			}
			raw = append(raw, chunk...)
			_, _ = r.Discard(len(chunk))
		}
		if raw[len(raw)-2] != '\r' || raw[len(raw)-1] != '\n' {
			return command{}, fmt.Errorf("%w: bulk not followed by CRLF", errProtocol)
		}
		args = append(args, raw[start:start+size])
	}
	return command{args: args, raw: raw}, nil
}

// readLine returns one CRLF- (or LF-) terminated line without its ending,
// in a fresh slice.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLine {
			return nil, fmt.Errorf("%w: line too long", errProtocol)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
	return line, nil
}

// appendCommand encodes args as a multibulk command.
func appendCommand(b []byte, args ...[]byte) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}
