package upstream

import (
	"strings"
	"unicode"
)

// maxReplyWords bounds how much of an upstream error reaches the log.
const maxReplyWords = 8

// RedactReply turns an upstream's error reply into text safe to log after
// the proxy has sent it a credential. Servers echo what they were sent:
// a server that does not know HELLO answers "ERR unknown command 'HELLO',
// with args beginning with: '3' 'AUTH' 'default' '<password>'", and a
// Redis-compatible server may echo arguments without quotes. So only the
// leading plain words survive (the error code and what it says, such as
// "ERR unknown command"): the text stops at the first word with anything
// but letters, '-' or a final '.', ',' or ':', at a word equal to or
// containing one of the sent arguments (sent: what the proxy wrote, the
// password among them), and after a few words.
func RedactReply(msg []byte, sent ...string) string {
	words := strings.Fields(string(msg))
	var out []string
	for _, w := range words {
		if len(out) == maxReplyWords || !plainWord(w) || mentions(w, sent) {
			out = append(out, "[...]")
			break
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// plainWord: letters and inner hyphens, optionally ending in '.', ',' or ':'.
func plainWord(w string) bool {
	w = strings.TrimRight(w, ".,:")
	if w == "" {
		return false
	}
	for _, r := range w {
		if r != '-' && (r > unicode.MaxASCII || !unicode.IsLetter(r)) {
			return false
		}
	}
	return true
}

func mentions(w string, sent []string) bool {
	lw := strings.ToLower(strings.TrimRight(w, ".,:"))
	for _, s := range sent {
		ls := strings.ToLower(s)
		if ls == "" {
			continue
		}
		// Short arguments (HELLO, AUTH, a user name) are compared whole;
		// longer ones, the secrets, also inside a word.
		if lw == ls || len(ls) >= 4 && strings.Contains(lw, ls) {
			return true
		}
	}
	return false
}
