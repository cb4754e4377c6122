package kubernetes

import (
	"context"
	"errors"

	"github.com/redoubt-proxy/redoubt/internal/model"
)

// The Source is a model.Source: the control plane merges its view after
// the file's and the store's (lowest precedence).

// Name is the source's name in listings, logs and metrics.
func (s *Source) Name() string { return model.SourceKubernetes }

// Changed fires after each new view.
func (s *Source) Changed() <-chan struct{} { return s.changed }

// Load returns the current view; an error before the first list, so the
// control plane never serves a view it never had.
func (s *Source) Load(context.Context) (model.Part, error) {
	if s.stats.Read().Generation == 0 {
		return model.Part{}, errors.New("kubernetes Secrets not listed yet (API server unreachable, or RBAC refuses list/watch on secrets?)")
	}
	return s.View().Part(model.SourceKubernetes, "Secret"), nil
}
