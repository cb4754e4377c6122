package token

import (
	"bytes"
	"encoding/json"
	"time"
)

// Version is the signed-token format this package issues and verifies.
const Version = 1

// Roles a token route may carry (the same names as a tenant's role).
const (
	RoleFull      = "full"
	RoleReadWrite = "readwrite"
	RoleReadOnly  = "readonly"
)

// MaxTTL is the longest lifetime a signed token may have (about ten
// years); Issue refuses longer and Verify refuses tokens that claim it.
const MaxTTL = 10 * 366 * 24 * time.Hour

// maxTime is the latest instant a token may name: the end of year 9999,
// the last that RFC 3339 and encoding/json can write.
var maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()

// maxDB bounds a token's DB index; the proxy applies the upstream's own,
// usually much smaller, limit.
const maxDB = 1<<16 - 1

// Claims are what a signed token asserts. A token names either a configured
// tenant (whose upstream, db and role come from the config) or an ad-hoc
// route (Upstream plus optional DB and Role), never both.
type Claims struct {
	Version   int       // format version, from the token's prefix
	KeyID     string    // id of the key that signed it
	ID        string    // 32 lowercase hex digits (128 random bits); what tokens.revoked lists
	Tenant    string    // a configured tenant name, or
	Upstream  string    // an ad-hoc route "HOST:PORT"
	DB        *int      // ad-hoc routes only: pin this DB index (inspected session)
	Role      string    // ad-hoc routes only: full | readwrite | readonly ("" = full)
	IssuedAt  time.Time // informational; not checked against the clock
	NotBefore time.Time // optional; zero means valid from IssuedAt
	Expiry    time.Time // required: every signed token expires
}

// wireClaims is the payload's JSON. Short names keep tokens short enough
// for a Redis password field; times are Unix seconds.
type wireClaims struct {
	ID        string `json:"jti"`
	Tenant    string `json:"ten,omitempty"`
	Upstream  string `json:"up,omitempty"`
	DB        *int   `json:"db,omitempty"`
	Role      string `json:"role,omitempty"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf,omitempty"`
	Expiry    int64  `json:"exp"`
}

func (c *Claims) toWire() wireClaims {
	w := wireClaims{
		ID:       c.ID,
		Tenant:   c.Tenant,
		Upstream: c.Upstream,
		DB:       c.DB,
		Role:     c.Role,
		IssuedAt: c.IssuedAt.Unix(),
		Expiry:   c.Expiry.Unix(),
	}
	if !c.NotBefore.IsZero() {
		w.NotBefore = c.NotBefore.Unix()
	}
	return w
}

func (w *wireClaims) toClaims(kid string) Claims {
	c := Claims{
		Version:  Version,
		KeyID:    kid,
		ID:       w.ID,
		Tenant:   w.Tenant,
		Upstream: w.Upstream,
		DB:       w.DB,
		Role:     w.Role,
		IssuedAt: time.Unix(w.IssuedAt, 0).UTC(),
		Expiry:   time.Unix(w.Expiry, 0).UTC(),
	}
	if w.NotBefore != 0 {
		c.NotBefore = time.Unix(w.NotBefore, 0).UTC()
	}
	return c
}

func encodePayload(c *Claims) ([]byte, error) {
	return json.Marshal(c.toWire())
}

// decodePayload accepts only the exact bytes encodePayload would produce
// for the decoded value. That one comparison refuses duplicate keys (Go's
// decoder keeps the last), keys in another case (Go matches them
// case-insensitively), unknown keys, whitespace, reordering, number
// spellings such as 1e9, invalid UTF-8 and trailing data, so a payload has
// exactly one spelling even for a reader that only decodes it.
//
// Payloads whose strings need no escaping, which is every payload Issue
// writes for real names and addresses, are read by decodePlain instead of
// the reflecting decoder. The same comparison with json.Marshal then
// decides: a payload equal to Marshal(w) decodes to w with encoding/json
// too, so both ways accept the same payloads with the same claims.
func decodePayload(p []byte, kid string) (Claims, error) {
	w, ok := decodePlain(p)
	if ok {
		again, err := json.Marshal(w)
		ok = err == nil && bytes.Equal(again, p)
	}
	if !ok {
		return decodeJSON(p, kid)
	}
	return w.claims(kid)
}

// decodeJSON is decodePayload with encoding/json alone: the path for
// every payload decodePlain does not take, and the reference its tests
// hold decodePlain to.
func decodeJSON(p []byte, kid string) (Claims, error) {
	var w wireClaims
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Claims{}, fail(ErrMalformed, "payload is not valid claims JSON")
	}
	again, err := json.Marshal(w)
	if err != nil || !bytes.Equal(again, p) {
		return Claims{}, fail(ErrMalformed, "payload is not in canonical form")
	}
	return w.claims(kid)
}

// claims turns decoded wire claims into checked Claims.
func (w wireClaims) claims(kid string) (Claims, error) {
	c := w.toClaims(kid)
	if err := c.validate(); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// decodePlain reads a payload laid out as encodePayload writes it (keys in
// field order, optional ones present or not) whose strings are printable
// ASCII without '"' or a backslash and whose numbers have at most 18 digits.
// ok=false means only that p is not of that shape; decodePayload then uses
// encoding/json. Canonical form is checked by the caller, not here.
func decodePlain(p []byte) (w wireClaims, ok bool) {
	r := plainReader{b: p}
	if !r.key(`{"jti":`) || !r.str(&w.ID) {
		return wireClaims{}, false
	}
	if r.key(`,"ten":`) && !r.str(&w.Tenant) ||
		r.key(`,"up":`) && !r.str(&w.Upstream) {
		return wireClaims{}, false
	}
	if r.key(`,"db":`) {
		var n int64
		if !r.num(&n) || int64(int(n)) != n {
			return wireClaims{}, false
		}
		db := int(n)
		w.DB = &db
	}
	if r.key(`,"role":`) && !r.str(&w.Role) ||
		!r.key(`,"iat":`) || !r.num(&w.IssuedAt) ||
		r.key(`,"nbf":`) && !r.num(&w.NotBefore) ||
		!r.key(`,"exp":`) || !r.num(&w.Expiry) ||
		!r.key(`}`) || len(r.b) != 0 {
		return wireClaims{}, false
	}
	return w, true
}

// plainReader consumes the front of b.
type plainReader struct{ b []byte }

// key consumes lit if b starts with it.
func (r *plainReader) key(lit string) bool {
	if len(r.b) < len(lit) || string(r.b[:len(lit)]) != lit {
		return false
	}
	r.b = r.b[len(lit):]
	return true
}

// str consumes a string without escapes or characters outside ' '..'~'.
func (r *plainReader) str(dst *string) bool {
	if len(r.b) == 0 || r.b[0] != '"' {
		return false
	}
	for i := 1; i < len(r.b); i++ {
		switch c := r.b[i]; {
		case c == '"':
			*dst = string(r.b[1:i])
			r.b = r.b[i+1:]
			return true
		case c < ' ' || c > '~' || c == '\\':
			return false
		}
	}
	return false
}

// num consumes an optionally negative decimal integer of 1 to 18 digits.
func (r *plainReader) num(dst *int64) bool {
	i, neg := 0, false
	if len(r.b) > 0 && r.b[0] == '-' {
		i, neg = 1, true
	}
	var n int64
	start := i
	for ; i < len(r.b) && r.b[i] >= '0' && r.b[i] <= '9'; i++ {
		if i-start == 18 {
			return false
		}
		n = n*10 + int64(r.b[i]-'0')
	}
	if i == start {
		return false
	}
	if neg {
		n = -n
	}
	*dst, r.b = n, r.b[i:]
	return true
}

// validate checks the claims' own consistency, independent of any clock.
// Issue runs it before signing and Verify after, so a token signed by a
// buggy or older issuer still cannot carry claims the proxy does not expect.
func (c *Claims) validate() error {
	if !validID(c.ID) {
		return fail(ErrInvalidClaims, "token id is not 32 lowercase hex digits")
	}
	if err := c.validateRoute(); err != nil {
		return err
	}
	if c.IssuedAt.Unix() <= 0 {
		return fail(ErrInvalidClaims, "issued-at missing")
	}
	if !c.Expiry.After(c.IssuedAt) {
		return fail(ErrInvalidClaims, "expiry not after issued-at")
	}
	// Bounded times keep every token printable (encoding/json refuses
	// years past 9999) and make "every signed token expires" mean it.
	if c.Expiry.Unix() > maxTime || c.Expiry.Sub(c.IssuedAt) > MaxTTL {
		return fail(ErrInvalidClaims, "lifetime longer than "+MaxTTL.String())
	}
	if !c.NotBefore.IsZero() && (c.NotBefore.Unix() <= 0 || !c.NotBefore.Before(c.Expiry)) {
		return fail(ErrInvalidClaims, "not-before not before expiry")
	}
	return nil
}

func (c *Claims) validateRoute() error {
	switch {
	case c.Tenant == "" && c.Upstream == "":
		return fail(ErrInvalidClaims, "neither tenant nor upstream")
	case c.Tenant != "" && c.Upstream != "":
		return fail(ErrInvalidClaims, "both tenant and upstream")
	case c.Tenant != "":
		if !validTenant(c.Tenant) {
			return fail(ErrInvalidClaims, "tenant name is not 1-128 printable ASCII characters")
		}
		// A tenant's db and role are the config's; a token that also
		// carried them would need rules for which one wins.
		if c.DB != nil || c.Role != "" {
			return fail(ErrInvalidClaims, "db and role apply only to upstream routes")
		}
		return nil
	}
	if err := ValidateUpstream(c.Upstream); err != nil {
		return fail(ErrInvalidClaims, "upstream: "+err.Error())
	}
	if c.DB != nil && (*c.DB < 0 || *c.DB > maxDB) {
		return fail(ErrInvalidClaims, "db out of range")
	}
	switch c.Role {
	case "", RoleFull, RoleReadWrite, RoleReadOnly:
		return nil
	}
	return fail(ErrInvalidClaims, "unknown role")
}

// ValidID reports whether id has the shape of a token id, so the config
// can refuse a mistyped entry in tokens.revoked instead of silently never
// matching it.
func ValidID(id string) bool { return validID(id) }

func validID(id string) bool {
	return len(id) == 32 && isLowerHex(id)
}

func validTenant(t string) bool {
	if len(t) == 0 || len(t) > 128 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] > '~' {
			return false
		}
	}
	return true
}
