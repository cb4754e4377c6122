package tenant

import (
	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/model"
)

// snapOf is the snapshot of a configuration file alone.
func snapOf(cfg *config.Config) *model.Snapshot {
	return model.Merge([]model.SourcePart{{Source: model.SourceFile, Part: cfg.Part()}}, model.Checks{})
}
