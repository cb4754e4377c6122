package model

import "strings"

// validSecretName accepts "namespace/name", the name a Kubernetes Secret
// without a redoubt.io/tenant value gives its tenant: two valid names
// joined by one slash, from the Kubernetes source only.
func validSecretName(t *Tenant) bool {
	ns, name, ok := strings.Cut(t.Name, "/")
	return ok && t.Source == SourceKubernetes && ValidName(ns) && ValidName(name)
}

// conflictWith is the winner of a name two different sources define, or
// "" when both entries come from the same source (a plain duplicate).
func conflictWith(first, second string) string {
	if first == second {
		return ""
	}
	return first
}
