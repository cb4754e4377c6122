package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/pivotal-cf/brokerapi/v12/domain"
	"github.com/pivotal-cf/brokerapi/v12/domain/apiresponses"

	"github.com/redoubt-proxy/redoubt/internal/config"
)

// updateElastiCache applies what ElastiCache changes in place: the node
// type, the number of replicas, the maintenance window and the cache
// parameters. A change of anything else is refused with its name.
func (b *Broker) updateElastiCache(ctx context.Context, in Instance, from, to *config.BrokerPlan, raw json.RawMessage) (domain.UpdateServiceSpec, error) {
	var none domain.UpdateServiceSpec
	if to.Kind != config.PlanElastiCache {
		return none, refusePlanChange(from, to, "kind")
	}
	if in.Op != "" && in.OpState == string(domain.InProgress) || !in.Ready {
		return none, concurrent("instance %s: %s in progress", in.ID, in.Op)
	}
	for _, f := range []struct {
		name     string
		from, to string
	}{
		{"engine", engine(from), engine(to)}, {"engine_version", from.EngineVersion, to.EngineVersion},
		{"region", from.Region, to.Region}, {"subnet_group", from.SubnetGroup, to.SubnetGroup},
		{"security_group_ids", strings.Join(from.SecurityGroupIDs, ","), strings.Join(to.SecurityGroupIDs, ",")},
		{"shard_count", fmt.Sprint(from.ShardTotal()), fmt.Sprint(to.ShardTotal())},
		{"iam_user", from.IAMUser, to.IAMUser}, {"user_group_id", from.UserGroupID, to.UserGroupID},
		{"aws_endpoint", from.AWSEndpoint, to.AWSEndpoint},
	} {
		if f.from != f.to {
			return none, refusePlanChange(from, to, f.name)
		}
	}
	params, canon, err := parseParams(raw, "maxmemory_policy", "preferred_maintenance_window")
	if err != nil {
		return none, err
	}
	nodeChange := from.NodeType != to.NodeType
	replicaChange := from.ReplicaTotal() != to.ReplicaTotal()
	if nodeChange && replicaChange {
		return none, unprocessable("PlanChangeNotSupported",
			"plan %s to %s changes node type and replicas: ElastiCache applies one at a time; change to a plan in between first", from.Name, to.Name)
	}
	mod := &elasticache.ModifyReplicationGroupInput{ReplicationGroupId: aws.String(in.GroupID), ApplyImmediately: aws.Bool(true)}
	changed := false
	if nodeChange {
		mod.CacheNodeType, changed = aws.String(to.NodeType), true
	}
	if params.PreferredMaintenanceWindow != "" {
		mod.PreferredMaintenanceWindow, changed = aws.String(params.PreferredMaintenanceWindow), true
	}
	if from.SnapshotRetentionLimit != to.SnapshotRetentionLimit {
		mod.SnapshotRetentionLimit, changed = aws.Int32(int32(to.SnapshotRetentionLimit)), true
	}
	values := cacheParameters(to, params)
	newParams := len(values) > 0 && (params.MaxmemoryPolicy != "" || !sameParameters(from, to))
	if newParams && in.ParamGroup == "" {
		mod.CacheParameterGroupName, changed = aws.String(in.GroupID+"-params"), true
	}
	if replicaChange && changed {
		// ElastiCache takes one change of a replication group at a time.
		return none, unprocessable("PlanChangeNotSupported",
			"plan %s to %s changes the replicas: change them alone, then the rest in a second update", from.Name, to.Name)
	}
	ec, err := b.client(ctx, to)
	if err != nil {
		return none, b.internal("update", in.ID, err)
	}
	if newParams {
		in.ParamGroup = in.GroupID + "-params"
		if err := b.ensureParameterGroup(ctx, ec, in, to, values); err != nil {
			return none, b.internal("update", in.ID, err)
		}
	}
	if changed {
		if _, err := ec.ModifyReplicationGroup(ctx, mod); err != nil {
			return none, b.internal("update", in.ID, fmt.Errorf("modify replication group %s: %w", in.GroupID, err))
		}
	}
	if replicaChange {
		n := aws.Int32(int32(to.ReplicaTotal()))
		if to.ReplicaTotal() > from.ReplicaTotal() {
			_, err = ec.IncreaseReplicaCount(ctx, &elasticache.IncreaseReplicaCountInput{
				ReplicationGroupId: aws.String(in.GroupID), NewReplicaCount: n, ApplyImmediately: aws.Bool(true)})
		} else {
			_, err = ec.DecreaseReplicaCount(ctx, &elasticache.DecreaseReplicaCountInput{
				ReplicationGroupId: aws.String(in.GroupID), NewReplicaCount: n, ApplyImmediately: aws.Bool(true)})
		}
		if err != nil {
			return none, b.internal("update", in.ID, fmt.Errorf("replica count of %s: %w", in.GroupID, err))
		}
	}
	in.PlanID = to.ID
	if canon != nil {
		in.Params = mergeParams(in.Params, canon)
	}
	in.Op, in.OpState, in.OpDesc = opUpdate, string(domain.InProgress), "updating replication group "+in.GroupID
	if err := b.state.Put(in); err != nil {
		return none, b.internal("update", in.ID, err)
	}
	return domain.UpdateServiceSpec{IsAsync: true, OperationData: opUpdate}, nil
}

func refusePlanChange(from, to *config.BrokerPlan, field string) error {
	return apiresponses.NewFailureResponseBuilder(
		fmt.Errorf("plan %s to %s changes %s, which ElastiCache cannot change in place; create a new instance instead", from.Name, to.Name, field),
		422, "plan-change-not-supported").WithErrorKey("PlanChangeNotSupported").Build()
}

func sameParameters(a, b *config.BrokerPlan) bool {
	if len(a.Parameters) != len(b.Parameters) {
		return false
	}
	for k, v := range a.Parameters {
		if b.Parameters[k] != v {
			return false
		}
	}
	return true
}

// mergeParams overlays an update's parameters on the instance's.
func mergeParams(old, upd json.RawMessage) json.RawMessage {
	m := map[string]json.RawMessage{}
	_ = json.Unmarshal(old, &m)
	var u map[string]json.RawMessage
	_ = json.Unmarshal(upd, &u)
	for k, v := range u {
		m[k] = v
	}
	out, err := json.Marshal(m)
	if err != nil {
		return old
	}
	return out
}
