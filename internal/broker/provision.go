package broker

import (
	"bytes"
	"context"

	"github.com/pivotal-cf/brokerapi/v12/domain"
	"github.com/pivotal-cf/brokerapi/v12/domain/apiresponses"

	"github.com/redoubt-proxy/redoubt/internal/config"
)

// Provision creates an instance: synchronously a DB on a shared upstream,
// asynchronously an ElastiCache replication group. A repeated request
// with the same plan and parameters is answered as the first was; with
// different ones it is a conflict and changes nothing.
func (b *Broker) Provision(ctx context.Context, id string, d domain.ProvisionDetails, async bool) (domain.ProvisionedServiceSpec, error) {
	var none domain.ProvisionedServiceSpec
	if !validID(id) {
		return none, badRequest("instance_id: may contain only letters, digits, '.', '_' and '-' (at most 100)")
	}
	_, plan, ok := b.plan(d.ServiceID, d.PlanID)
	if !ok {
		return none, badRequest("plan_id %q is not a plan of service_id %q", d.PlanID, d.ServiceID)
	}
	var allowed []string
	if plan.Kind == config.PlanElastiCache {
		allowed = []string{"maxmemory_policy", "preferred_maintenance_window", "restore_from_latest_snapshot_of"}
		if !async {
			return none, apiresponses.ErrAsyncRequired
		}
	}
	params, canon, err := parseParams(d.RawParameters, allowed...)
	if err != nil {
		return none, err
	}
	org, space := platformContext(d.OrganizationGUID, d.SpaceGUID, d.RawContext)

	b.mu.Lock()
	defer b.mu.Unlock()
	if in, ok := b.state.Get(id); ok {
		if in.ServiceID != d.ServiceID || in.PlanID != d.PlanID || !bytes.Equal(in.Params, canon) {
			return none, conflict("instance %s already exists with another service, plan or parameters", id)
		}
		if in.Op == opDeprovision {
			return none, concurrent("instance %s is being deleted", id)
		}
		if in.Kind == config.PlanElastiCache && !in.Ready {
			return domain.ProvisionedServiceSpec{IsAsync: true, OperationData: opProvision}, nil
		}
		return domain.ProvisionedServiceSpec{AlreadyExists: true}, nil
	}
	in := Instance{ID: id, ServiceID: d.ServiceID, PlanID: d.PlanID, Kind: plan.Kind, Org: org, Space: space,
		Params: canon, Tenant: tenantName(id), CreatedAt: b.o.Now().UTC()}
	if plan.Kind == config.PlanElastiCache {
		return b.provisionElastiCache(ctx, in, plan, params)
	}
	if err := b.provisionShared(ctx, &in, plan); err != nil {
		return none, err
	}
	b.log.Info("instance provisioned", "instance", id, "plan", plan.Name, "upstream", in.Upstream, "db", in.DB)
	return domain.ProvisionedServiceSpec{}, nil
}

// Operations kept in Instance.Op and handed to platforms as operation data.
const (
	opProvision   = "provision"
	opDeprovision = "deprovision"
	opUpdate      = "update"
)
