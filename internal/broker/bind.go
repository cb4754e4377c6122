package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/pivotal-cf/brokerapi/v12/domain"
	"github.com/pivotal-cf/brokerapi/v12/domain/apiresponses"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/model"
)

// Bind issues a new credential of the instance's tenant, with the binding
// ID as its ID. The secret is returned once and kept nowhere (the store
// has its SHA-256 only). A repeated bind of the same binding (a platform
// retrying after a lost answer) replaces the credential with a new one:
// the first answer's secret cannot be told again.
func (b *Broker) Bind(ctx context.Context, instanceID, bindingID string, d domain.BindDetails, _ bool) (domain.Binding, error) {
	var none domain.Binding
	if !validID(bindingID) {
		return none, badRequest("binding_id: may contain only letters, digits, '.', '_' and '-' (at most 100)")
	}
	_, canon, err := parseParams(d.RawParameters) // bindings take no parameters
	if err != nil {
		return none, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	in, ok := b.state.Get(instanceID)
	if !ok {
		return none, apiresponses.ErrInstanceDoesNotExist
	}
	if in.ServiceID != d.ServiceID || in.PlanID != d.PlanID {
		return none, badRequest("service_id/plan_id do not match instance %s", instanceID)
	}
	if !in.Ready && in.Kind == config.PlanElastiCache || in.Op == opDeprovision {
		return none, concurrent("instance %s is not ready (operation %s in progress)", instanceID, in.Op)
	}
	plan, ok := b.planByID(in.PlanID)
	if !ok {
		return none, badRequest("plan %s is no longer in the catalog", in.PlanID)
	}
	appGUID := d.AppGUID
	if appGUID == "" && d.BindResource != nil {
		appGUID = d.BindResource.AppGuid
	}
	existed := false
	if old, ok := in.Bindings[bindingID]; ok {
		if !bytes.Equal(old.Params, canon) || old.AppGUID != appGUID {
			return none, conflict("binding %s already exists with other parameters or another app", bindingID)
		}
		if err := b.plane.RevokeCredential(ctx, in.Tenant, bindingID); err != nil && !errors.Is(err, model.ErrNotFound) {
			return none, b.internal("bind", instanceID, err)
		}
		existed = true
	}
	issued, err := b.plane.IssueCredential(ctx, in.Tenant, bindingID, time.Duration(plan.CredentialTTL))
	if err != nil {
		return none, b.internal("bind", instanceID, err)
	}
	if in.Bindings == nil {
		in.Bindings = map[string]Binding{}
	}
	bd := Binding{ID: bindingID, Params: canon, AppGUID: appGUID, CreatedAt: issued.Credential.CreatedAt,
		ExpiresAt: issued.Credential.ExpiresAt}
	in.Bindings[bindingID] = bd
	if err := b.state.Put(in); err != nil {
		_ = b.plane.RevokeCredential(ctx, in.Tenant, bindingID)
		return none, b.internal("bind", instanceID, err)
	}
	b.log.Info("binding created", "instance", instanceID, "binding", bindingID, "replaced", existed)
	return domain.Binding{AlreadyExists: existed, Credentials: b.credentials(in, issued.Secret),
		Metadata: bindingMetadata(bd)}, nil
}

// Credentials are what a bound application receives (VCAP_SERVICES, a
// Kubernetes Secret).
type Credentials struct {
	Host       string `json:"host"`
	Port       int    `json:"port"`
	Username   string `json:"username"`
	Password   string `json:"password,omitempty"`
	URI        string `json:"uri,omitempty"`
	TLSEnabled bool   `json:"tls_enabled"`
}

func (b *Broker) credentials(in Instance, secret string) Credentials {
	e := b.cfg.Endpoint
	c := Credentials{Host: e.Host, Port: e.Port, Username: in.Tenant, Password: secret, TLSEnabled: e.TLS}
	if secret != "" {
		scheme := "redis"
		if e.TLS {
			scheme = "rediss"
		}
		u := url.URL{Scheme: scheme, User: url.UserPassword(in.Tenant, secret),
			Host: net.JoinHostPort(e.Host, strconv.Itoa(e.Port)), Path: "/0"}
		c.URI = u.String()
	}
	return c
}

func bindingMetadata(bd Binding) domain.BindingMetadata {
	if bd.ExpiresAt.IsZero() {
		return domain.BindingMetadata{}
	}
	return domain.BindingMetadata{ExpiresAt: bd.ExpiresAt.UTC().Format(time.RFC3339)}
}

// Unbind revokes the binding's credential: its live sessions end before
// this returns; other bindings of the instance keep working.
func (b *Broker) Unbind(ctx context.Context, instanceID, bindingID string, d domain.UnbindDetails, _ bool) (domain.UnbindSpec, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	in, ok := b.state.Get(instanceID)
	if !ok {
		return domain.UnbindSpec{}, apiresponses.ErrInstanceDoesNotExist
	}
	if _, ok := in.Bindings[bindingID]; !ok {
		return domain.UnbindSpec{}, apiresponses.ErrBindingDoesNotExist
	}
	if d.PlanID != "" && d.PlanID != in.PlanID || d.ServiceID != "" && d.ServiceID != in.ServiceID {
		return domain.UnbindSpec{}, badRequest("service_id/plan_id do not match instance %s", instanceID)
	}
	if err := b.plane.RevokeCredential(ctx, in.Tenant, bindingID); err != nil && !errors.Is(err, model.ErrNotFound) {
		return domain.UnbindSpec{}, b.internal("unbind", instanceID, err)
	}
	delete(in.Bindings, bindingID)
	if err := b.state.Put(in); err != nil {
		return domain.UnbindSpec{}, b.internal("unbind", instanceID, err)
	}
	b.log.Info("binding deleted", "instance", instanceID, "binding", bindingID)
	return domain.UnbindSpec{}, nil
}

// GetBinding shows a binding without its password, which only the bind's
// answer carried.
func (b *Broker) GetBinding(_ context.Context, instanceID, bindingID string, _ domain.FetchBindingDetails) (domain.GetBindingSpec, error) {
	in, ok := b.state.Get(instanceID)
	if !ok {
		return domain.GetBindingSpec{}, notFound("instance %s does not exist", instanceID)
	}
	bd, ok := in.Bindings[bindingID]
	if !ok {
		return domain.GetBindingSpec{}, notFound("binding %s does not exist", bindingID)
	}
	var params any
	if len(bd.Params) > 0 {
		_ = json.Unmarshal(bd.Params, &params)
	}
	return domain.GetBindingSpec{Credentials: b.credentials(in, ""), Parameters: params, Metadata: bindingMetadata(bd)}, nil
}

// LastBindingOperation: bindings are made synchronously, so there is never
// one in progress.
func (b *Broker) LastBindingOperation(_ context.Context, instanceID, bindingID string, _ domain.PollDetails) (domain.LastOperation, error) {
	in, ok := b.state.Get(instanceID)
	if !ok {
		return domain.LastOperation{}, apiresponses.ErrInstanceDoesNotExist
	}
	if _, ok := in.Bindings[bindingID]; !ok {
		return domain.LastOperation{}, apiresponses.ErrBindingDoesNotExist
	}
	return domain.LastOperation{State: domain.Succeeded, Description: fmt.Sprintf("binding %s is in force", bindingID)}, nil
}
