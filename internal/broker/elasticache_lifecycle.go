package broker

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/pivotal-cf/brokerapi/v12/domain"

	"github.com/redoubt-proxy/redoubt/internal/model"
)

// pollElastiCache advances an operation from the replication group's
// status. When a new group is available its upstream joins the snapshot
// (through the broker's source) and the instance's tenant is created.
func (b *Broker) pollElastiCache(ctx context.Context, in Instance) (domain.LastOperation, error) {
	plan, ok := b.planByID(in.PlanID)
	if !ok {
		return domain.LastOperation{}, badRequest("plan %s is no longer in the catalog", in.PlanID)
	}
	ec, err := b.client(ctx, plan)
	if err != nil {
		return domain.LastOperation{}, b.internal("last_operation", in.ID, err)
	}
	rg, err := describe(ctx, ec, in.GroupID)
	if err != nil {
		return domain.LastOperation{}, b.internal("last_operation", in.ID, err)
	}
	inProgress := func(desc string) (domain.LastOperation, error) {
		return domain.LastOperation{State: domain.InProgress, Description: desc}, nil
	}
	failed := func(desc string) (domain.LastOperation, error) {
		in.OpState, in.OpDesc = string(domain.Failed), desc
		if err := b.state.Put(in); err != nil {
			return domain.LastOperation{}, b.internal("last_operation", in.ID, err)
		}
		return domain.LastOperation{State: domain.Failed, Description: desc}, nil
	}
	if in.OpState == string(domain.Failed) {
		return domain.LastOperation{State: domain.Failed, Description: in.OpDesc}, nil
	}
	switch in.Op {
	case opDeprovision:
		if rg != nil {
			return inProgress("deleting replication group " + in.GroupID + " (" + aws.ToString(rg.Status) + ")")
		}
		if in.ParamGroup != "" {
			_, err := ec.DeleteCacheParameterGroup(ctx, &elasticache.DeleteCacheParameterGroupInput{CacheParameterGroupName: aws.String(in.ParamGroup)})
			if err != nil && awsCode(err) != "CacheParameterGroupNotFound" {
				return domain.LastOperation{}, b.internal("last_operation", in.ID, err)
			}
		}
		if err := b.state.Delete(in.ID); err != nil {
			return domain.LastOperation{}, b.internal("last_operation", in.ID, err)
		}
		b.log.Info("instance deprovisioned", "instance", in.ID, "group", in.GroupID)
		return domain.LastOperation{State: domain.Succeeded, Description: "replication group deleted"}, nil
	case opProvision, opUpdate:
		if rg == nil {
			return failed("replication group " + in.GroupID + " does not exist")
		}
		status := aws.ToString(rg.Status)
		switch status {
		case "available":
		case "create-failed":
			return failed("ElastiCache could not create replication group " + in.GroupID)
		default:
			return inProgress("replication group " + in.GroupID + " is " + status)
		}
		if in.Op == opUpdate && rg.PendingModifiedValues != nil && pending(rg.PendingModifiedValues) {
			return inProgress("replication group " + in.GroupID + " has changes pending")
		}
	}
	if !in.Ready {
		if err := b.becomeReady(ctx, &in, rg); err != nil {
			return domain.LastOperation{}, b.internal("last_operation", in.ID, err)
		}
		if !in.Ready {
			return inProgress("replication group available; waiting for redoubt's snapshot")
		}
	}
	in.Op, in.OpState, in.OpDesc = "", string(domain.Succeeded), ""
	if err := b.state.Put(in); err != nil {
		return domain.LastOperation{}, b.internal("last_operation", in.ID, err)
	}
	return domain.LastOperation{State: domain.Succeeded, Description: "replication group " + in.GroupID + " is available"}, nil
}

func pending(p *types.ReplicationGroupPendingModifiedValues) bool {
	return p.PrimaryClusterId != nil || p.Resharding != nil || p.UserGroups != nil || p.AutomaticFailoverStatus != "" ||
		p.AuthTokenStatus != "" || p.ClusterMode != "" || p.TransitEncryptionEnabled != nil
}

// becomeReady records the primary endpoint, has the source publish the
// upstream, and once the snapshot holds it creates the instance's tenant.
func (b *Broker) becomeReady(ctx context.Context, in *Instance, rg *types.ReplicationGroup) error {
	if in.Address == "" {
		var ep *types.Endpoint
		if len(rg.NodeGroups) > 0 {
			ep = rg.NodeGroups[0].PrimaryEndpoint
		}
		if ep == nil {
			ep = rg.ConfigurationEndpoint
		}
		if ep == nil || aws.ToString(ep.Address) == "" {
			return fmt.Errorf("replication group %s is available without an endpoint", in.GroupID)
		}
		in.Address = net.JoinHostPort(aws.ToString(ep.Address), strconv.Itoa(int(aws.ToInt32(ep.Port))))
		if err := b.state.Put(*in); err != nil {
			return err
		}
		b.src.notify.Signal()
	}
	// The plane reloads the source on its signal; wait briefly for that
	// here, else the next poll finds it done.
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, ok := b.plane.Current().Snapshot.Upstreams[in.Upstream]; ok {
			break
		}
		if time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	// The tenant owns the cache: role full, no DB, so its sessions may be
	// passed through untouched.
	if _, err := b.plane.PutTenant(ctx, model.Tenant{Name: in.Tenant, Upstream: in.Upstream, Role: model.RoleFull}); err != nil {
		return fmt.Errorf("tenant for %s: %w", in.GroupID, err)
	}
	in.Ready = true
	b.log.Info("instance ready", "instance", in.ID, "group", in.GroupID)
	return nil
}

func (b *Broker) deprovisionElastiCache(ctx context.Context, in Instance) (domain.DeprovisionServiceSpec, error) {
	var none domain.DeprovisionServiceSpec
	if in.Op == opDeprovision {
		return domain.DeprovisionServiceSpec{IsAsync: true, OperationData: opDeprovision}, nil
	}
	if in.Op != "" && in.OpState == string(domain.InProgress) {
		return none, concurrent("instance %s: %s in progress; deprovision when it has finished", in.ID, in.Op)
	}
	plan, ok := b.planByID(in.PlanID)
	if !ok {
		return none, badRequest("plan %s is no longer in the catalog", in.PlanID)
	}
	ec, err := b.client(ctx, plan)
	if err != nil {
		return none, b.internal("deprovision", in.ID, err)
	}
	// Sessions end first: the tenant goes, with every binding's credential.
	if err := b.plane.DeleteTenant(ctx, in.Tenant); err != nil && !controlplaneNotFound(err) {
		return none, b.internal("deprovision", in.ID, err)
	}
	if _, err := ec.DeleteReplicationGroup(ctx, &elasticache.DeleteReplicationGroupInput{
		ReplicationGroupId: aws.String(in.GroupID), RetainPrimaryCluster: aws.Bool(false),
	}); err != nil && awsCode(err) != "ReplicationGroupNotFoundFault" {
		return none, b.internal("deprovision", in.ID, fmt.Errorf("delete replication group %s: %w", in.GroupID, err))
	}
	in.Op, in.OpState, in.OpDesc = opDeprovision, string(domain.InProgress), "deleting replication group "+in.GroupID
	in.Ready, in.Address, in.Bindings = false, "", nil
	if err := b.state.Put(in); err != nil {
		return none, b.internal("deprovision", in.ID, err)
	}
	b.src.notify.Signal() // the upstream leaves the snapshot
	return domain.DeprovisionServiceSpec{IsAsync: true, OperationData: opDeprovision}, nil
}
