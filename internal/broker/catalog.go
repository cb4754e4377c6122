package broker

import (
	"context"

	"github.com/pivotal-cf/brokerapi/v12/domain"

	"github.com/redoubt-proxy/redoubt/internal/config"
)

// Services is the catalog, from the configuration.
func (b *Broker) Services(context.Context) ([]domain.Service, error) {
	out := make([]domain.Service, 0, len(b.cfg.Services))
	for _, s := range b.cfg.Services {
		svc := domain.Service{
			ID: s.ID, Name: s.Name, Description: s.Description, Tags: s.Tags,
			Bindable: true, InstancesRetrievable: true, BindingsRetrievable: true,
			PlanUpdatable: updatable(s),
		}
		if svc.Description == "" {
			svc.Description = "Redis through redoubt"
		}
		for _, p := range s.Plans {
			free := p.Kind == config.PlanShared
			if p.Free != nil {
				free = *p.Free
			}
			upd := p.Kind == config.PlanElastiCache
			desc := p.Description
			if desc == "" {
				desc = p.Name
			}
			svc.Plans = append(svc.Plans, domain.ServicePlan{
				ID: p.ID, Name: p.Name, Description: desc, Free: &free, PlanUpdatable: &upd,
				Schemas: schemas(p.Kind),
			})
		}
		out = append(out, svc)
	}
	return out, nil
}

// updatable: an elasticache instance can move to another elasticache plan
// (node type, replicas).
func updatable(s config.BrokerService) bool {
	n := 0
	for _, p := range s.Plans {
		if p.Kind == config.PlanElastiCache {
			n++
		}
	}
	return n > 1
}

// schemas publishes the parameters each kind takes (JSON Schema), so
// platforms can show and check them.
func schemas(kind string) *domain.ServiceSchemas {
	if kind != config.PlanElastiCache {
		return &domain.ServiceSchemas{Instance: domain.ServiceInstanceSchema{
			Create: domain.Schema{Parameters: objectSchema(nil)},
			Update: domain.Schema{Parameters: objectSchema(nil)},
		}}
	}
	props := map[string]any{
		"maxmemory_policy":             map[string]any{"type": "string", "enum": sortedKeys(maxmemoryPolicies)},
		"preferred_maintenance_window": map[string]any{"type": "string", "pattern": maintenanceWindow.String()},
	}
	create := map[string]any{"restore_from_latest_snapshot_of": map[string]any{"type": "string"}}
	for k, v := range props {
		create[k] = v
	}
	return &domain.ServiceSchemas{Instance: domain.ServiceInstanceSchema{
		Create: domain.Schema{Parameters: objectSchema(create)},
		Update: domain.Schema{Parameters: objectSchema(props)},
	}}
}

func objectSchema(props map[string]any) map[string]any {
	if props == nil {
		props = map[string]any{}
	}
	return map[string]any{
		"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
		"properties": props, "additionalProperties": false,
	}
}
