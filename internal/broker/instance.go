package broker

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pivotal-cf/brokerapi/v12/domain"
	"github.com/pivotal-cf/brokerapi/v12/domain/apiresponses"

	"github.com/redoubt-proxy/redoubt/internal/config"
)

// Deprovision removes an instance: a shared one at once (sessions ended,
// DB emptied), an ElastiCache one asynchronously.
func (b *Broker) Deprovision(ctx context.Context, id string, d domain.DeprovisionDetails, async bool) (domain.DeprovisionServiceSpec, error) {
	var none domain.DeprovisionServiceSpec
	b.mu.Lock()
	defer b.mu.Unlock()
	in, ok := b.state.Get(id)
	if !ok {
		return none, apiresponses.ErrInstanceDoesNotExist
	}
	if d.PlanID != "" && d.PlanID != in.PlanID || d.ServiceID != "" && d.ServiceID != in.ServiceID {
		return none, badRequest("service_id/plan_id do not match instance %s", id)
	}
	if in.Kind == config.PlanElastiCache {
		if !async {
			return none, apiresponses.ErrAsyncRequired
		}
		return b.deprovisionElastiCache(ctx, in)
	}
	if err := b.deprovisionShared(ctx, in); err != nil {
		return none, b.internal("deprovision", id, err)
	}
	b.log.Info("instance deprovisioned", "instance", id, "upstream", in.Upstream, "db", in.DB)
	return none, nil
}

// GetInstance shows an instance's plan and parameters.
func (b *Broker) GetInstance(_ context.Context, id string, _ domain.FetchInstanceDetails) (domain.GetInstanceDetailsSpec, error) {
	in, ok := b.state.Get(id)
	if !ok {
		return domain.GetInstanceDetailsSpec{}, notFound("instance %s does not exist", id)
	}
	// As the spec says: 404 while being created, 422 while being updated.
	if in.Op == opProvision && !in.Ready {
		return domain.GetInstanceDetailsSpec{}, notFound("instance %s is still being created", id)
	}
	if in.Op == opUpdate && in.OpState == string(domain.InProgress) {
		return domain.GetInstanceDetailsSpec{}, apiresponses.ErrConcurrentInstanceAccess
	}
	var params any = map[string]any{}
	if len(in.Params) > 0 {
		_ = json.Unmarshal(in.Params, &params)
	}
	return domain.GetInstanceDetailsSpec{ServiceID: in.ServiceID, PlanID: in.PlanID, Parameters: params,
		Metadata: domain.InstanceMetadata{Labels: map[string]any{"tenant": in.Tenant}}}, nil
}

// Update changes an ElastiCache instance's plan (node type, replicas) or
// parameters; everything else is refused with the reason.
func (b *Broker) Update(ctx context.Context, id string, d domain.UpdateDetails, async bool) (domain.UpdateServiceSpec, error) {
	var none domain.UpdateServiceSpec
	b.mu.Lock()
	defer b.mu.Unlock()
	in, ok := b.state.Get(id)
	if !ok {
		return none, notFound("instance %s does not exist", id)
	}
	if d.ServiceID != in.ServiceID {
		return none, badRequest("service_id %q does not match instance %s", d.ServiceID, id)
	}
	planID := d.PlanID
	if planID == "" {
		planID = in.PlanID
	}
	_, to, ok := b.plan(in.ServiceID, planID)
	if !ok {
		return none, badRequest("plan_id %q is not a plan of service_id %q", planID, in.ServiceID)
	}
	from, ok := b.planByID(in.PlanID)
	if !ok {
		return none, badRequest("plan %s is no longer in the catalog", in.PlanID)
	}
	if in.Kind != config.PlanElastiCache {
		if to.ID != from.ID {
			return none, apiresponses.NewFailureResponseBuilder(
				fmt.Errorf("plan %s cannot change plan: a shared instance keeps its database", from.Name),
				422, "plan-change-not-supported").WithErrorKey("PlanChangeNotSupported").Build()
		}
		if _, _, err := parseParams(d.RawParameters); err != nil {
			return none, err
		}
		return none, nil // nothing to change
	}
	if !async {
		return none, apiresponses.ErrAsyncRequired
	}
	return b.updateElastiCache(ctx, in, from, to, d.RawParameters)
}

// LastOperation reports an asynchronous operation, from ElastiCache's own
// status when one is in flight.
func (b *Broker) LastOperation(ctx context.Context, id string, d domain.PollDetails) (domain.LastOperation, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	in, ok := b.state.Get(id)
	if !ok {
		return domain.LastOperation{}, apiresponses.ErrInstanceDoesNotExist
	}
	if in.Kind != config.PlanElastiCache || in.Op == "" {
		return domain.LastOperation{State: domain.Succeeded, Description: "instance is ready"}, nil
	}
	return b.pollElastiCache(ctx, in)
}
