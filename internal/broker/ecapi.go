package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/smithy-go"

	"github.com/redoubt-proxy/redoubt/internal/config"
)

// ElastiCacheAPI is the part of the ElastiCache API the broker calls
// (*elasticache.Client).
type ElastiCacheAPI interface {
	CreateReplicationGroup(context.Context, *elasticache.CreateReplicationGroupInput, ...func(*elasticache.Options)) (*elasticache.CreateReplicationGroupOutput, error)
	DescribeReplicationGroups(context.Context, *elasticache.DescribeReplicationGroupsInput, ...func(*elasticache.Options)) (*elasticache.DescribeReplicationGroupsOutput, error)
	ModifyReplicationGroup(context.Context, *elasticache.ModifyReplicationGroupInput, ...func(*elasticache.Options)) (*elasticache.ModifyReplicationGroupOutput, error)
	IncreaseReplicaCount(context.Context, *elasticache.IncreaseReplicaCountInput, ...func(*elasticache.Options)) (*elasticache.IncreaseReplicaCountOutput, error)
	DecreaseReplicaCount(context.Context, *elasticache.DecreaseReplicaCountInput, ...func(*elasticache.Options)) (*elasticache.DecreaseReplicaCountOutput, error)
	DeleteReplicationGroup(context.Context, *elasticache.DeleteReplicationGroupInput, ...func(*elasticache.Options)) (*elasticache.DeleteReplicationGroupOutput, error)
	CreateCacheParameterGroup(context.Context, *elasticache.CreateCacheParameterGroupInput, ...func(*elasticache.Options)) (*elasticache.CreateCacheParameterGroupOutput, error)
	ModifyCacheParameterGroup(context.Context, *elasticache.ModifyCacheParameterGroupInput, ...func(*elasticache.Options)) (*elasticache.ModifyCacheParameterGroupOutput, error)
	DeleteCacheParameterGroup(context.Context, *elasticache.DeleteCacheParameterGroupInput, ...func(*elasticache.Options)) (*elasticache.DeleteCacheParameterGroupOutput, error)
	DescribeSnapshots(context.Context, *elasticache.DescribeSnapshotsInput, ...func(*elasticache.Options)) (*elasticache.DescribeSnapshotsOutput, error)
	ListTagsForResource(context.Context, *elasticache.ListTagsForResourceInput, ...func(*elasticache.Options)) (*elasticache.ListTagsForResourceOutput, error)
}

var _ ElastiCacheAPI = (*elasticache.Client)(nil)

// NewElastiCache is the SDK client for a plan: its region, the default
// credential chain, and aws_endpoint when set.
func NewElastiCache(ctx context.Context, p *config.BrokerPlan) (ElastiCacheAPI, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(p.Region))
	if err != nil {
		return nil, fmt.Errorf("aws config for plan %s: %w", p.Name, err)
	}
	return elasticache.NewFromConfig(cfg, func(o *elasticache.Options) {
		if p.AWSEndpoint != "" {
			o.BaseEndpoint = aws.String(p.AWSEndpoint)
		}
	}), nil
}

// client returns the plan's client, made once.
func (b *Broker) client(ctx context.Context, p *config.BrokerPlan) (ElastiCacheAPI, error) {
	b.ecMu.Lock()
	defer b.ecMu.Unlock()
	if c, ok := b.ecClients[p.ID]; ok {
		return c, nil
	}
	c, err := b.o.ElastiCache(ctx, p)
	if err != nil {
		return nil, err
	}
	b.ecClients[p.ID] = c
	return c, nil
}

// awsCode is the API error code of err ("" when it is not an API error).
func awsCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
