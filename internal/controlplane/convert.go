package controlplane

import (
	"errors"
	"fmt"
	"strings"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/policy"
	"github.com/redoubt-proxy/redoubt/internal/tenant"
)

// FilePart is the file source's part of the model (config.Config.Part).
func FilePart(cfg *config.Config) model.Part { return cfg.Part() }

// Checks are the validations the model package cannot run itself: the
// command table lives in policy.
func Checks() model.Checks {
	return model.Checks{Commands: func(rules string) error {
		_, err := policy.Compile(model.RoleFull, rules)
		return err
	}}
}

// CheckFile validates what only the merged view can tell (tenants sharing
// a DB, a tenant without db on a shared upstream) for a file alone, with
// the file's key paths: `redoubt check` and a reload refuse such a file as
// a whole, as they refuse any other mistake in it.
func CheckFile(cfg *config.Config) error {
	snap := model.Merge([]model.SourcePart{{Source: model.SourceFile, Part: FilePart(cfg)}}, Checks())
	index := make(map[string]int, len(cfg.Tenants))
	for i, t := range cfg.Tenants {
		if _, dup := index[t.Name]; !dup {
			index[t.Name] = i
		}
	}
	var errs []error
	for _, pr := range snap.Problems {
		path := pr.Entry
		if name, ok := strings.CutPrefix(pr.Entry, "tenant "); ok {
			if i, ok := index[name]; ok {
				path = fmt.Sprintf("tenants[%d]", i)
			}
		}
		if pr.Path != "" {
			path += "." + pr.Path
		}
		errs = append(errs, &config.FieldError{Path: path, Msg: pr.Msg})
	}
	return errors.Join(errs...)
}

// BuildFile builds a directory from a file alone (`redoubt check`: it
// reads the TLS files and compiles every policy, as serving would).
func BuildFile(cfg *config.Config) (*tenant.Directory, error) {
	snap := model.Merge([]model.SourcePart{{Source: model.SourceFile, Part: FilePart(cfg)}}, Checks())
	return tenant.Build(snap, nil, nil)
}
