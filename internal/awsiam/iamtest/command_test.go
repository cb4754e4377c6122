package iamtest

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadCommand(t *testing.T) {
	tests := []struct {
		desc    string
		in      string
		args    []string
		wantErr bool
	}{
		{desc: "multibulk", in: "*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$5\r\nt?a=b\r\n", args: []string{"AUTH", "u", "t?a=b"}},
		{desc: "binary-safe bulk", in: "*2\r\n$3\r\nGET\r\n$4\r\na\r\nb\r\n", args: []string{"GET", "a\r\nb"}},
		{desc: "empty bulk", in: "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", args: []string{"ECHO", ""}},
		{desc: "inline", in: "AUTH u t\r\n", args: []string{"AUTH", "u", "t"}},
		{desc: "blank lines skipped", in: "\r\n\r\nPING\n", args: []string{"PING"}},
		{desc: "negative bulk length", in: "*1\r\n$-1\r\n", wantErr: true},
		{desc: "huge bulk length refused before reading", in: "*1\r\n$9223372036854775807\r\n", wantErr: true},
		{desc: "huge array refused", in: "*99999999\r\n", wantErr: true},
		{desc: "missing $", in: "*1\r\n:1\r\n", wantErr: true},
		{desc: "bulk without CRLF", in: "*1\r\n$1\r\nab\r\n", wantErr: true},
		{desc: "truncated", in: "*2\r\n$3\r\nGET\r\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			// One byte per read: every split point of the input is exercised.
			cmd, err := readCommand(bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(tt.in)), 16))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("readCommand = %q, want an error", cmd.args)
				}
				return
			}
			if err != nil {
				t.Fatalf("readCommand: %v", err)
			}
			if len(cmd.args) != len(tt.args) {
				t.Fatalf("args = %q, want %q", cmd.args, tt.args)
			}
			for i := range tt.args {
				if string(cmd.args[i]) != tt.args[i] {
					t.Fatalf("args = %q, want %q", cmd.args, tt.args)
				}
			}
			if strings.HasPrefix(tt.in, "*") && string(cmd.raw) != tt.in {
				t.Fatalf("raw = %q, want the input %q", cmd.raw, tt.in)
			}
		})
	}
}

func TestReadCommandEOF(t *testing.T) {
	if _, err := readCommand(bufio.NewReader(strings.NewReader(""))); !errors.Is(err, io.EOF) {
		t.Fatalf("readCommand on empty input = %v, want EOF", err)
	}
}

func TestAuthArgs(t *testing.T) {
	tests := []struct {
		desc string
		args []string
		at   int
		ok   bool
	}{
		{desc: "AUTH user token", args: []string{"auth", "u", "t"}, at: 1, ok: true},
		{desc: "AUTH with one argument", args: []string{"AUTH", "t"}},
		{desc: "HELLO with AUTH", args: []string{"HELLO", "3", "AUTH", "u", "t"}, at: 3, ok: true},
		{desc: "HELLO SETNAME then AUTH", args: []string{"hello", "3", "SETNAME", "n", "AUTH", "u", "t"}, at: 5, ok: true},
		{desc: "HELLO with client name AUTH", args: []string{"HELLO", "3", "SETNAME", "AUTH"}},
		{desc: "HELLO without AUTH", args: []string{"HELLO", "3"}},
		{desc: "HELLO AUTH missing token", args: []string{"HELLO", "3", "AUTH", "u"}},
		{desc: "other command", args: []string{"GET", "AUTH", "u", "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			args := make([][]byte, len(tt.args))
			for i, a := range tt.args {
				args[i] = []byte(a)
			}
			at, ok := authArgs(args)
			if ok != tt.ok || (ok && at != tt.at) {
				t.Fatalf("authArgs = %d, %v, want %d, %v", at, ok, tt.at, tt.ok)
			}
		})
	}
}
