package broker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/pivotal-cf/brokerapi/v12/domain"

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
			if in.ParamGroup != "" { // made for this group only: do not leave it behind
				if _, derr := ec.DeleteCacheParameterGroup(ctx, &elasticache.DeleteCacheParameterGroupInput{
					CacheParameterGroupName: aws.String(in.ParamGroup)}); derr != nil {
					b.log.Warn("cache parameter group left behind", "group", in.ParamGroup, "err", derr)
				}
			}
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

func controlplaneNotFound(err error) bool { return errors.Is(err, model.ErrNotFound) }
