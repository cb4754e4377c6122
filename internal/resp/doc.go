// Package resp is the RESP protocol core of redoubt: it parses client
// requests exactly as redis-server 7 does (so the proxy and the upstream can
// never disagree about where one command ends and the next begins), finds
// reply boundaries in upstream streams without copying payloads, and writes
// RESP with append-style helpers.
//
// Everything here is on the hot path of a proxy: parsers alias the caller's
// buffer instead of copying, check limits before allocating, never size an
// allocation from a length the peer declared, and never panic on input.
package resp
