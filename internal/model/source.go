package model

import (
	"context"
	"fmt"
)

// Source is one place tenants come from. The control plane loads every
// source at start, loads a source again whenever its Changed channel
// fires, and merges the last good Part of each into a new Snapshot.
//
// A new source (Kubernetes Secrets, etcd, ...) implements Source, and
// Runner when it must watch something, and is handed to the control plane
// in precedence order (see Merge).
type Source interface {
	// Name is the source's name in listings, logs and metrics
	// (SourceFile, SourceStore, ...). It is also Tenant.Source.
	Name() string
	// Load returns the source's current view. An error means the source
	// cannot be read now; the control plane keeps its last good Part and
	// reports the error. A bad entry is not an error: the source leaves it
	// out and lists it in Part.Problems.
	Load(ctx context.Context) (Part, error)
	// Changed fires when Load would return something new. A source
	// signals it without blocking (a channel with capacity 1); a nil
	// channel means the source never changes on its own.
	Changed() <-chan struct{}
}

// Runner is a Source that must run to notice changes (a watch, a poll
// loop). The control plane runs it until ctx ends.
type Runner interface {
	Run(ctx context.Context)
}

// Part is what one source contributes to a snapshot. Every field is
// optional. The control plane never changes a Part, and a source must not
// change one after returning it.
type Part struct {
	// Upstreams by name (the file; other sources may name these).
	Upstreams map[string]Upstream
	// Tenants, each with Source set or left for Merge to set.
	Tenants []Tenant
	// Tokens are the token settings (the file); nil = not from this source.
	Tokens *Tokens
	// TenantDefaults are the defaults of every tenant's fair-sharing
	// limits (the file's limits.tenant_defaults); nil = not from this
	// source.
	TenantDefaults *Limits
	// Revoked lists revoked signed-token IDs.
	Revoked []string
	// Problems are entries the source skipped while reading.
	Problems []Problem
	// Version, when not 0, identifies the source's content (a store's
	// write counter, an etcd revision): a Load that returns the version
	// already merged is not merged again.
	Version uint64
}

// Problem is one entry left out of a snapshot, and why. It is logged and
// counted (redoubt_source_problems); it never stops the other entries.
type Problem struct {
	Source string // the source that had the entry
	Entry  string // what it was: "tenant alice", "upstream main", a key...
	Path   string // the key path of the bad field, relative to Entry ("db")
	Msg    string
}

func (p Problem) Error() string {
	where := p.Entry
	if p.Path != "" {
		where += ": " + p.Path
	}
	return fmt.Sprintf("%s: %s: %s", p.Source, where, p.Msg)
}

// Notify is a ready-made Changed channel: Signal never blocks, and many
// signals before a Load collapse into one.
type Notify chan struct{}

// NewNotify makes a Notify.
func NewNotify() Notify { return make(Notify, 1) }

// Signal marks the source as changed.
func (n Notify) Signal() {
	select {
	case n <- struct{}{}:
	default:
	}
}
