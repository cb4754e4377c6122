// Package broker is redoubt's Open Service Broker (API v2.17): Cloud
// Foundry and Kubernetes service catalogs provision instances and bind
// applications through it. An instance is a tenant of the control plane's
// store (a DB index on a shared upstream, or an ElastiCache replication
// group of its own); every binding is a credential of that tenant with the
// binding ID as its ID, so an unbind revokes exactly that binding's
// credential and ends its live sessions, while other bindings go on.
package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/pivotal-cf/brokerapi/v12/domain"
	"github.com/pivotal-cf/brokerapi/v12/domain/apiresponses"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/controlplane"
	"github.com/redoubt-proxy/redoubt/internal/model"
)

// Plane is what the broker needs of the control plane
// (*controlplane.Plane): its operations return once the new snapshot is in
// force, so a revoked credential's sessions have ended when they return.
type Plane interface {
	Current() *controlplane.State
	PutTenant(ctx context.Context, t model.Tenant) (bool, error)
	DeleteTenant(ctx context.Context, name string) error
	IssueCredential(ctx context.Context, tenant, id string, ttl time.Duration) (controlplane.Issued, error)
	RevokeCredential(ctx context.Context, tenant, id string) error
}

// Options configure a Broker.
type Options struct {
	Config    *config.Broker
	StatePath string
	Log       *slog.Logger
	// ElastiCache makes the API client of an elasticache plan; nil = the
	// AWS SDK with the default credential chain (NewElastiCache).
	ElastiCache func(ctx context.Context, p *config.BrokerPlan) (ElastiCacheAPI, error)
	// RetryAfter is suggested to platforms polling an async operation
	// (default 15s).
	RetryAfter time.Duration
	Now        func() time.Time
}

// Broker implements domain.ServiceBroker on the control plane.
type Broker struct {
	o     Options
	cfg   *config.Broker
	log   *slog.Logger
	state *State
	src   *Source
	plane Plane

	// mu serialises the broker's operations: they are rare, and a
	// provision must see the DBs taken by the one before it.
	mu sync.Mutex

	ecMu      sync.Mutex
	ecClients map[string]ElastiCacheAPI // by plan ID
}

var _ domain.ServiceBroker = (*Broker)(nil)

// Open opens the broker's state. Add Source() to the control plane's
// sources (after the store), then call Attach with the plane.
func Open(o Options) (*Broker, error) {
	if o.Config == nil {
		return nil, errors.New("broker: no configuration")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 15 * time.Second
	}
	if o.ElastiCache == nil {
		o.ElastiCache = NewElastiCache
	}
	st, err := OpenState(o.StatePath)
	if err != nil {
		return nil, err
	}
	b := &Broker{o: o, cfg: o.Config, log: o.Log.With("component", "broker"), state: st,
		ecClients: map[string]ElastiCacheAPI{}}
	b.src = &Source{b: b, notify: model.NewNotify()}
	return b, nil
}

// Source is the broker's contribution to the snapshot: the upstreams of
// ElastiCache instances that are available.
func (b *Broker) Source() *Source { return b.src }

// Attach gives the broker the plane it provisions through.
func (b *Broker) Attach(p Plane) { b.plane = p }

// Close closes the state file.
func (b *Broker) Close() error { return b.state.Close() }

// plan finds a plan by ID within a service.
func (b *Broker) plan(serviceID, planID string) (*config.BrokerService, *config.BrokerPlan, bool) {
	for i := range b.cfg.Services {
		s := &b.cfg.Services[i]
		if s.ID != serviceID {
			continue
		}
		for j := range s.Plans {
			if s.Plans[j].ID == planID {
				return s, &s.Plans[j], true
			}
		}
	}
	return nil, nil, false
}

func (b *Broker) planByID(planID string) (*config.BrokerPlan, bool) {
	for i := range b.cfg.Services {
		for j := range b.cfg.Services[i].Plans {
			if p := &b.cfg.Services[i].Plans[j]; p.ID == planID {
				return p, true
			}
		}
	}
	return nil, false
}

// tenantName is the store tenant of an instance.
func tenantName(instanceID string) string { return "osb-" + instanceID }

// validID accepts the IDs platforms use (GUIDs, Kubernetes names) and
// nothing that could not be part of a tenant or credential name.
func validID(s string) bool { return len(s) <= 100 && model.ValidName(s) }

// Errors with the OSB status codes.
func badRequest(format string, args ...any) error {
	return apiresponses.NewFailureResponseBuilder(fmt.Errorf(format, args...), http.StatusBadRequest, "bad-request").Build()
}

// notFound is a 404 with a description (GET of an instance or binding
// the broker does not have).
func notFound(format string, args ...any) error {
	return apiresponses.NewFailureResponseBuilder(fmt.Errorf(format, args...), http.StatusNotFound, "not-found").Build()
}

// conflict is the 409 of a repeated request with other attributes.
func conflict(format string, args ...any) error {
	return apiresponses.NewFailureResponseBuilder(fmt.Errorf(format, args...), http.StatusConflict, "conflict").Build()
}

func unprocessable(key, format string, args ...any) error {
	return apiresponses.NewFailureResponseBuilder(fmt.Errorf(format, args...), http.StatusUnprocessableEntity, "unprocessable").
		WithErrorKey(key).Build()
}

func concurrent(format string, args ...any) error {
	return apiresponses.NewFailureResponseBuilder(fmt.Errorf(format, args...), http.StatusUnprocessableEntity, "concurrency").
		WithErrorKey("ConcurrencyError").Build()
}

// internal hides the cause from the platform (it may name addresses or
// AWS account details) and logs it.
func (b *Broker) internal(op, instanceID string, err error) error {
	b.log.Error("broker operation failed", "op", op, "instance", instanceID, "err", err)
	return apiresponses.NewFailureResponse(fmt.Errorf("%s failed; the broker's log has the cause", op),
		http.StatusInternalServerError, op+"-failed")
}

// platformContext is who asked: Cloud Foundry's organization and space,
// or a Kubernetes cluster and namespace.
func platformContext(org, space string, raw json.RawMessage) (string, string) {
	var c struct {
		Org       string `json:"organization_guid"`
		Space     string `json:"space_guid"`
		ClusterID string `json:"clusterid"`
		Namespace string `json:"namespace"`
	}
	_ = json.Unmarshal(raw, &c) // absent or odd context: fall back to the fields
	if org == "" {
		org = c.Org
	}
	if org == "" {
		org = c.ClusterID
	}
	if space == "" {
		space = c.Space
	}
	if space == "" {
		space = c.Namespace
	}
	return org, space
}
