package broker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"

	"github.com/pivotal-cf/brokerapi/v12/domain/apiresponses"
)

// Params are the per-instance parameters a platform user may pass at
// provision or update (cf create-service -c '{...}').
type Params struct {
	MaxmemoryPolicy            string `json:"maxmemory_policy,omitempty"`
	PreferredMaintenanceWindow string `json:"preferred_maintenance_window,omitempty"`
	RestoreFromLatestSnapshot  string `json:"restore_from_latest_snapshot_of,omitempty"`
}

var maxmemoryPolicies = map[string]bool{
	"volatile-lru": true, "allkeys-lru": true, "volatile-lfu": true, "allkeys-lfu": true,
	"volatile-random": true, "allkeys-random": true, "volatile-ttl": true, "noeviction": true,
}

// ddd:hh24:mi-ddd:hh24:mi, as ElastiCache takes it.
var maintenanceWindow = regexp.MustCompile(`^(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):[0-5]\d-(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):[0-5]\d$`)

// paramError is a 400 naming the parameter.
func paramError(name, format string, args ...any) error {
	return apiresponses.NewFailureResponseBuilder(
		fmt.Errorf("parameter %q: %s", name, fmt.Sprintf(format, args...)),
		http.StatusBadRequest, "invalid-parameter").WithErrorKey("InvalidParameter").Build()
}

// parseParams decodes raw parameters for a plan kind. allowed lists the
// names the kind takes; anything else is refused by name. It returns the
// canonical form (sorted keys) kept to recognise a repeated request.
func parseParams(raw json.RawMessage, allowed ...string) (Params, json.RawMessage, error) {
	var p Params
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return p, nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return p, nil, apiresponses.NewFailureResponseBuilder(
			errors.New("parameters: want a JSON object"), http.StatusBadRequest, "invalid-parameters").Build()
	}
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for _, name := range sortedKeys(m) {
		if !ok[name] {
			return p, nil, paramError(name, "unknown parameter for this plan")
		}
		var s string
		if err := json.Unmarshal(m[name], &s); err != nil {
			return p, nil, paramError(name, "want a string")
		}
		switch name {
		case "maxmemory_policy":
			if !maxmemoryPolicies[s] {
				return p, nil, paramError(name, "want one of volatile-lru, allkeys-lru, volatile-lfu, allkeys-lfu, volatile-random, allkeys-random, volatile-ttl, noeviction")
			}
			p.MaxmemoryPolicy = s
		case "preferred_maintenance_window":
			if !maintenanceWindow.MatchString(s) {
				return p, nil, paramError(name, "want ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. sun:05:00-sun:06:00")
			}
			p.PreferredMaintenanceWindow = s
		case "restore_from_latest_snapshot_of":
			if !validID(s) {
				return p, nil, paramError(name, "want the ID of a service instance")
			}
			p.RestoreFromLatestSnapshot = s
		}
	}
	canon, err := json.Marshal(m) // map keys are sorted by encoding/json
	if err != nil {
		return p, nil, fmt.Errorf("parameters: %w", err)
	}
	return p, canon, nil
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
