package broker

import (
	"context"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/model"
)

// SourceName is the broker source's name in problems and logs.
const SourceName = "broker"

// Source publishes the upstreams of available ElastiCache instances; the
// instances' tenants and credentials live in the store, which comes
// earlier in precedence (Merge admits every source's upstreams before any
// tenant, so a store tenant may name a broker upstream).
type Source struct {
	b      *Broker
	notify model.Notify
}

var _ model.Source = (*Source)(nil)

// Name implements model.Source.
func (s *Source) Name() string { return SourceName }

// Changed implements model.Source.
func (s *Source) Changed() <-chan struct{} { return s.notify }

// Load implements model.Source: a new Part for every call.
func (s *Source) Load(context.Context) (model.Part, error) {
	part := model.Part{Upstreams: map[string]model.Upstream{}}
	for _, in := range s.b.state.All() {
		if in.Kind != config.PlanElastiCache || in.Address == "" || in.Op == opDeprovision {
			continue
		}
		plan, ok := s.b.planByID(in.PlanID)
		if !ok {
			part.Problems = append(part.Problems, model.Problem{Source: SourceName, Entry: "instance " + in.ID,
				Msg: "its plan " + in.PlanID + " is no longer in the catalog"})
			continue
		}
		part.Upstreams[in.Upstream] = model.Upstream{
			Name:    in.Upstream,
			Address: in.Address,
			TLS:     model.UpstreamTLS{Enabled: true, CAFile: plan.TLSCAFile},
			Auth: model.UpstreamAuth{Mode: model.AuthAWSIAM, Username: plan.IAMUser, CacheName: in.GroupID,
				Region: plan.Region},
		}
	}
	return part, nil
}
