package policy

import (
	"bytes"
	"strconv"
)

// SanitizeInfo rewrites the text of an INFO reply for a tenant pinned to db
// on a shared upstream: every field passes through infoFields (unlisted
// fields are dropped), and Keyspace keeps only db's line. Section headers
// ("# Memory") and blank lines stay, so clients that split the reply into
// sections still find them. Lines end as they came (CRLF from Redis).
func SanitizeInfo(body []byte, db int) []byte {
	own := []byte("db" + strconv.Itoa(db) + ":")
	out := make([]byte, 0, len(body))
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line = body[:i+1]
		}
		body = body[len(line):]
		text := bytes.TrimRight(line, "\r\n")
		if len(text) == 0 || text[0] == '#' {
			out = append(out, line...)
			continue
		}
		name, _, ok := bytes.Cut(text, []byte(":"))
		if !ok {
			continue // not a field line: nothing to vouch for
		}
		switch infoTreatmentOf(string(name)) {
		case infoKeep:
			out = append(out, line...)
		case infoOwnDB:
			if bytes.HasPrefix(text, own) {
				out = append(out, line...)
			}
		}
	}
	return out
}
