package broker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/pivotal-cf/brokerapi/v12/domain"
	"github.com/pivotal-cf/brokerapi/v12/domain/apiresponses"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/model"
)

// Tags on every replication group the broker creates: they tie it to its
// instance (a retried provision adopts it) and to the platform space it
// belongs to (restore_from_latest_snapshot_of checks them).
const (
	tagInstance = "redoubt:instance-id"
	tagOrg      = "redoubt:organization-guid"
	tagSpace    = "redoubt:space-guid"
	tagService  = "redoubt:service-id"
	tagPlan     = "redoubt:plan-id"
)

// GroupID is the replication group of an instance: at most 40 characters,
// a letter first, lowercase, whatever the platform's instance ID looks like.
func GroupID(instanceID string) string {
	h := sha256.Sum256([]byte(instanceID))
	return "rdt-" + hex.EncodeToString(h[:])[:24]
}

func engine(p *config.BrokerPlan) string {
	if p.Engine == "" {
		return "redis"
	}
	return p.Engine
}

// parameterFamily is the cache parameter group family of the plan's engine
// version: redis7, redis6.x, valkey8 ...
func parameterFamily(p *config.BrokerPlan) string {
	if p.ParameterGroupFamily != "" {
		return p.ParameterGroupFamily
	}
	major, _, _ := strings.Cut(p.EngineVersion, ".")
	if engine(p) == "redis" && major == "6" {
		return "redis6.x"
	}
	return engine(p) + major
}

func (b *Broker) provisionElastiCache(ctx context.Context, in Instance, plan *config.BrokerPlan, params Params) (domain.ProvisionedServiceSpec, error) {
	var none domain.ProvisionedServiceSpec
	ec, err := b.client(ctx, plan)
	if err != nil {
		return none, b.internal("provision", in.ID, err)
	}
	in.GroupID, in.Upstream = GroupID(in.ID), in.Tenant
	tags := []types.Tag{
		{Key: aws.String(tagInstance), Value: aws.String(in.ID)},
		{Key: aws.String(tagOrg), Value: aws.String(in.Org)},
		{Key: aws.String(tagSpace), Value: aws.String(in.Space)},
		{Key: aws.String(tagService), Value: aws.String(in.ServiceID)},
		{Key: aws.String(tagPlan), Value: aws.String(in.PlanID)},
	}
	input := &elasticache.CreateReplicationGroupInput{
		ReplicationGroupId:          aws.String(in.GroupID),
		ReplicationGroupDescription: aws.String("redoubt broker instance " + in.ID),
		Engine:                      aws.String(engine(plan)),
		EngineVersion:               aws.String(plan.EngineVersion),
		CacheNodeType:               aws.String(plan.NodeType),
		NumNodeGroups:               aws.Int32(int32(plan.ShardTotal())),
		ReplicasPerNodeGroup:        aws.Int32(int32(plan.ReplicaTotal())),
		TransitEncryptionEnabled:    aws.Bool(true),
		AtRestEncryptionEnabled:     aws.Bool(true),
		UserGroupIds:                []string{plan.UserGroupID},
		SecurityGroupIds:            plan.SecurityGroupIDs,
		Tags:                        tags,
	}
	if plan.SubnetGroup != "" {
		input.CacheSubnetGroupName = aws.String(plan.SubnetGroup)
	}
	if plan.SnapshotRetentionLimit > 0 {
		input.SnapshotRetentionLimit = aws.Int32(int32(plan.SnapshotRetentionLimit))
	}
	input.AutomaticFailoverEnabled = plan.AutomaticFailoverEnabled
	input.MultiAZEnabled = plan.MultiAZEnabled
	if params.PreferredMaintenanceWindow != "" {
		input.PreferredMaintenanceWindow = aws.String(params.PreferredMaintenanceWindow)
	}
	if src := params.RestoreFromLatestSnapshot; src != "" {
		name, err := b.latestSnapshot(ctx, ec, in, src)
		if err != nil {
			return none, err
		}
		input.SnapshotName = aws.String(name)
	}
	if values := cacheParameters(plan, params); len(values) > 0 {
		in.ParamGroup = in.GroupID + "-params"
		if err := b.ensureParameterGroup(ctx, ec, in, plan, values); err != nil {
			return none, b.internal("provision", in.ID, err)
		}
		input.CacheParameterGroupName = aws.String(in.ParamGroup)
	}
	if _, err := ec.CreateReplicationGroup(ctx, input); err != nil {
		if awsCode(err) != "ReplicationGroupAlreadyExists" {
			return none, b.internal("provision", in.ID, fmt.Errorf("create replication group %s: %w", in.GroupID, err))
		}
		// A provision retried after its record was lost: adopt the group
		// only when its tags say it is this instance's.
		if err := b.checkOwnGroup(ctx, ec, in); err != nil {
			return none, b.internal("provision", in.ID, err)
		}
	}
	in.Op, in.OpState, in.OpDesc = opProvision, string(domain.InProgress), "creating replication group "+in.GroupID
	if err := b.state.Put(in); err != nil {
		return none, b.internal("provision", in.ID, err)
	}
	b.log.Info("replication group requested", "instance", in.ID, "group", in.GroupID, "plan", plan.Name)
	return domain.ProvisionedServiceSpec{IsAsync: true, OperationData: opProvision}, nil
}

// cacheParameters are the plan's parameters plus the instance's
// maxmemory_policy, in a stable order.
func cacheParameters(plan *config.BrokerPlan, params Params) []types.ParameterNameValue {
	m := map[string]string{}
	for k, v := range plan.Parameters {
		m[k] = v
	}
	if params.MaxmemoryPolicy != "" {
		m["maxmemory-policy"] = params.MaxmemoryPolicy
	}
	out := make([]types.ParameterNameValue, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, types.ParameterNameValue{ParameterName: aws.String(k), ParameterValue: aws.String(m[k])})
	}
	return out
}

func (b *Broker) ensureParameterGroup(ctx context.Context, ec ElastiCacheAPI, in Instance, plan *config.BrokerPlan, values []types.ParameterNameValue) error {
	_, err := ec.CreateCacheParameterGroup(ctx, &elasticache.CreateCacheParameterGroupInput{
		CacheParameterGroupName:   aws.String(in.ParamGroup),
		CacheParameterGroupFamily: aws.String(parameterFamily(plan)),
		Description:               aws.String("redoubt broker instance " + in.ID),
		Tags:                      []types.Tag{{Key: aws.String(tagInstance), Value: aws.String(in.ID)}},
	})
	if err != nil && awsCode(err) != "CacheParameterGroupAlreadyExists" {
		return fmt.Errorf("create cache parameter group %s: %w", in.ParamGroup, err)
	}
	if _, err := ec.ModifyCacheParameterGroup(ctx, &elasticache.ModifyCacheParameterGroupInput{
		CacheParameterGroupName: aws.String(in.ParamGroup), ParameterNameValues: values,
	}); err != nil {
		return fmt.Errorf("set cache parameters of %s: %w", in.ParamGroup, err)
	}
	return nil
}

// describe returns the instance's replication group (nil, nil when gone).
func describe(ctx context.Context, ec ElastiCacheAPI, id string) (*types.ReplicationGroup, error) {
	out, err := ec.DescribeReplicationGroups(ctx, &elasticache.DescribeReplicationGroupsInput{ReplicationGroupId: aws.String(id)})
	if awsCode(err) == "ReplicationGroupNotFoundFault" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe replication group %s: %w", id, err)
	}
	if len(out.ReplicationGroups) == 0 {
		return nil, nil
	}
	return &out.ReplicationGroups[0], nil
}

// groupTags returns the tags of a replication group.
func groupTags(ctx context.Context, ec ElastiCacheAPI, rg *types.ReplicationGroup) (map[string]string, error) {
	out, err := ec.ListTagsForResource(ctx, &elasticache.ListTagsForResourceInput{ResourceName: rg.ARN})
	if err != nil {
		return nil, fmt.Errorf("tags of replication group %s: %w", aws.ToString(rg.ReplicationGroupId), err)
	}
	m := map[string]string{}
	for _, t := range out.TagList {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m, nil
}

func (b *Broker) checkOwnGroup(ctx context.Context, ec ElastiCacheAPI, in Instance) error {
	rg, err := describe(ctx, ec, in.GroupID)
	if err != nil {
		return err
	}
	if rg == nil {
		return fmt.Errorf("replication group %s exists and does not", in.GroupID)
	}
	tags, err := groupTags(ctx, ec, rg)
	if err != nil {
		return err
	}
	if tags[tagInstance] != in.ID {
		return fmt.Errorf("replication group %s exists and is not tagged as instance %s", in.GroupID, in.ID)
	}
	return nil
}

// latestSnapshot finds the newest snapshot of another instance, which must
// carry the same organization and space tags as the new one.
func (b *Broker) latestSnapshot(ctx context.Context, ec ElastiCacheAPI, in Instance, srcID string) (string, error) {
	const param = "restore_from_latest_snapshot_of"
	src, ok := b.state.Get(srcID)
	if !ok || src.Kind != config.PlanElastiCache {
		return "", paramError(param, "no elasticache instance %s", srcID)
	}
	rg, err := describe(ctx, ec, src.GroupID)
	if err != nil {
		return "", b.internal("provision", in.ID, err)
	}
	if rg == nil {
		return "", paramError(param, "instance %s has no replication group", srcID)
	}
	tags, err := groupTags(ctx, ec, rg)
	if err != nil {
		return "", b.internal("provision", in.ID, err)
	}
	if in.Org == "" || in.Space == "" || tags[tagOrg] != in.Org || tags[tagSpace] != in.Space {
		return "", paramError(param, "instance %s is not in the same organization and space", srcID)
	}
	out, err := ec.DescribeSnapshots(ctx, &elasticache.DescribeSnapshotsInput{ReplicationGroupId: aws.String(src.GroupID)})
	if err != nil {
		return "", b.internal("provision", in.ID, fmt.Errorf("snapshots of %s: %w", src.GroupID, err))
	}
	var name string
	var newest time.Time
	for _, s := range out.Snapshots {
		for _, ns := range s.NodeSnapshots {
			if t := aws.ToTime(ns.SnapshotCreateTime); name == "" || t.After(newest) {
				name, newest = aws.ToString(s.SnapshotName), t
			}
		}
	}
	if name == "" {
		return "", paramError(param, "instance %s has no snapshot yet", srcID)
	}
	return name, nil
}

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

func controlplaneNotFound(err error) bool { return errors.Is(err, model.ErrNotFound) }
