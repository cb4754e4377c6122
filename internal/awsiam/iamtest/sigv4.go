package iamtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
)

// The SigV4 math, written from AWS's specification ("Create a signed AWS API
// request") rather than taken from the SDK, so that a bug in how redoubt
// calls the SDK signer cannot also hide in the check. TestSigV4Vectors
// pins it to AWS's published examples.

const algorithm = "AWS4-HMAC-SHA256"

// param is one decoded query parameter.
type param struct{ key, value string }

// uriEncode percent-encodes everything but SigV4's unreserved characters
// (A-Z a-z 0-9 - _ . ~), with upper-case hex, as SigV4 requires.
func uriEncode(s string) string {
	const hexUpper = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexUpper[c>>4])
			b.WriteByte(hexUpper[c&15])
		}
	}
	return b.String()
}

// canonicalQuery sorts the parameters by encoded name, then value, and joins
// them as name=value with '&'.
func canonicalQuery(params []param) string {
	enc := make([]param, len(params))
	for i, p := range params {
		enc[i] = param{uriEncode(p.key), uriEncode(p.value)}
	}
	sort.Slice(enc, func(i, j int) bool {
		if enc[i].key != enc[j].key {
			return enc[i].key < enc[j].key
		}
		return enc[i].value < enc[j].value
	})
	parts := make([]string, len(enc))
	for i, p := range enc {
		parts[i] = p.key + "=" + p.value
	}
	return strings.Join(parts, "&")
}

// canonicalRequest is the request with only the host header signed, which
// is what a presigned URL signs.
func canonicalRequest(method, path, query, host, payloadHash string) string {
	return method + "\n" + path + "\n" + query + "\n" +
		"host:" + host + "\n\n" +
		"host\n" + payloadHash
}

// stringToSign binds the canonical request to time and scope.
func stringToSign(amzDate, scope, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

// signingKey derives the per-day, per-region, per-service key.
func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// signature is hex(HMAC(signing key, string to sign)).
func signature(key []byte, sts string) string {
	return hex.EncodeToString(hmacSHA256(key, sts))
}
