package broker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/pivotal-cf/brokerapi/v12/domain/apiresponses"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/controlplane"
	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/resp"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// provisionShared pins the instance's tenant to the lowest free DB index on
// the first of the plan's upstreams that has one. DB 0 is left alone: it
// is where anyone connecting to the upstream directly lands.
func (b *Broker) provisionShared(ctx context.Context, in *Instance, plan *config.BrokerPlan) error {
	for _, up := range plan.Upstreams {
		tried := map[int]bool{}
		for {
			db, ok := b.freeDB(up, tried)
			if !ok {
				break
			}
			tried[db] = true
			t := model.Tenant{Name: in.Tenant, Upstream: up, DB: &db, Role: model.RoleReadWrite}
			if _, err := b.plane.PutTenant(ctx, t); err != nil {
				var ve *controlplane.ValidationError
				var se *controlplane.SourceError
				if errors.As(err, &se) {
					return conflict("tenant %s is defined by source %s; choose another instance ID", in.Tenant, se.Source)
				}
				if errors.As(err, &ve) {
					// Taken meanwhile (by the admin API): try the next one.
					b.log.Warn("free DB refused", "upstream", up, "db", db, "err", err)
					continue
				}
				return b.internal("provision", in.ID, err)
			}
			in.Upstream, in.DB = up, db
			if err := b.state.Put(*in); err != nil {
				_ = b.plane.DeleteTenant(ctx, in.Tenant)
				return b.internal("provision", in.ID, err)
			}
			return nil
		}
	}
	return apiresponses.NewFailureResponseBuilder(
		fmt.Errorf("plan %s: no free database left on its upstreams; ask the operator for capacity", plan.Name),
		http.StatusUnprocessableEntity, "no-capacity").WithErrorKey("NoCapacity").Build()
}

// freeDB returns the lowest DB index of 1..max_db on upstream up's server
// that no tenant of the current snapshot uses (under any upstream name
// for the same address), that no instance record holds, and that is not
// in skip. A server one tenant owns whole (no DB) has none.
func (b *Broker) freeDB(up string, skip map[int]bool) (int, bool) {
	snap := b.plane.Current().Snapshot
	u, ok := snap.Upstreams[up]
	if !ok {
		return 0, false
	}
	server := model.CanonicalAddr(u.Address)
	sameServer := func(name string) bool {
		o, ok := snap.Upstreams[name]
		return ok && model.CanonicalAddr(o.Address) == server
	}
	used := map[int]bool{}
	for db := range skip {
		used[db] = true
	}
	for i := range snap.Tenants {
		t := &snap.Tenants[i]
		if !sameServer(t.Upstream) {
			continue
		}
		if t.DB == nil {
			return 0, false
		}
		used[*t.DB] = true
	}
	// Instances being emptied keep their DB until FLUSHDB succeeded.
	for _, in := range b.state.All() {
		if in.Kind == config.PlanShared && sameServer(in.Upstream) {
			used[in.DB] = true
		}
	}
	maxDB := u.MaxDB
	if maxDB <= 0 {
		maxDB = model.DefaultMaxDB
	}
	for db := 1; db <= maxDB; db++ {
		if !used[db] {
			return db, true
		}
	}
	return 0, false
}

// deprovisionShared ends the instance's sessions (every binding's
// credential revoked), empties its DB through the upstream's own login,
// and only then gives the DB back. A failed FLUSHDB keeps the tenant (with
// no credentials) and the record, so the DB is not handed out dirty and a
// retried deprovision tries again.
func (b *Broker) deprovisionShared(ctx context.Context, in Instance) error {
	st := b.plane.Current()
	t, ok := st.Directory.Lookup(in.Tenant)
	if !ok {
		if _, up := st.Snapshot.Upstreams[in.Upstream]; up {
			// The tenant was left out of the snapshot (see its problems):
			// without its route the DB cannot be emptied, so it stays taken.
			return fmt.Errorf("tenant %s is not in the current snapshot; its DB %d on %s cannot be emptied", in.Tenant, in.DB, in.Upstream)
		}
		// The upstream itself is gone from the configuration: nothing to empty.
	} else {
		if mt, ok := st.Snapshot.Tenant(in.Tenant); ok {
			for _, c := range mt.Credentials {
				if err := b.plane.RevokeCredential(ctx, in.Tenant, c.ID); err != nil && !errors.Is(err, model.ErrNotFound) {
					return fmt.Errorf("revoke credential %s: %w", c.ID, err)
				}
			}
		}
		if err := flushDB(ctx, t.Route.Target, t.Route.DB); err != nil {
			return err
		}
	}
	if err := b.plane.DeleteTenant(ctx, in.Tenant); err != nil && !errors.Is(err, model.ErrNotFound) {
		return fmt.Errorf("delete tenant: %w", err)
	}
	return b.state.Delete(in.ID)
}

// flushDB empties one DB index, logged in as redoubt logs in for tenants.
func flushDB(ctx context.Context, target *upstream.Target, db int) error {
	conn, err := upstream.Dial(ctx, target, upstream.LoginOptions{DB: db, ClientName: "redoubt-broker"})
	if err != nil {
		return fmt.Errorf("flush db %d: %w", db, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// SELECT again even for DB 0 (Dial skips it), so FLUSHDB cannot hit
	// another DB whatever the connection's default is.
	req := resp.AppendCommand(nil, "SELECT", fmt.Sprint(db))
	req = resp.AppendCommand(req, "FLUSHDB")
	if _, err := conn.Write(req); err != nil {
		return fmt.Errorf("flush db %d: %w", db, err)
	}
	r := bufio.NewReader(io.MultiReader(bytes.NewReader(conn.Rest), conn))
	for _, cmd := range []string{"SELECT", "FLUSHDB"} {
		line, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("flush db %d: %s: %w", db, cmd, err)
		}
		if !strings.HasPrefix(line, "+") { // both answer +OK or an error
			return fmt.Errorf("flush db %d: %s: upstream refused: %.200s", db, cmd, strings.TrimSpace(line))
		}
	}
	return nil
}
