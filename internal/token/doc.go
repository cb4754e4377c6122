// Package token implements redoubt's self-contained credentials: signed
// tokens that carry their own route and expiry, the legacy
// base64("HOST:PORT HASH") tokens of the original proxy, and the
// allow_upstreams list that decides which routes from tokens may be dialed.
//
// A signed token looks like
//
//	rdt1.<kid>.<base64url(payload)>.<base64url(hmac)>
//
// where payload is compact JSON claims and hmac is HMAC-SHA256 with the key
// named kid over everything before the last dot, so the version and key id
// are authenticated too. Parsing is strict in every place an attacker could
// otherwise find a second spelling of the same token: the alphabet, the
// base64 (canonical, unpadded), the JSON (the payload must be exactly the
// encoding this package would produce) and the lengths.
//
// The package is pure logic: no configuration, no clock and no I/O. The
// proxy passes "now" in, looks claims.ID up in its revocation list and
// checks routes against an AllowList before dialing.
package token
