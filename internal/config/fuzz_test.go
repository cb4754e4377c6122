package config

import "testing"

// FuzzParse: no configuration file, however broken, panics the loader.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"listen: [{address: 127.0.0.1:6380}]\nupstreams: {main: {address: 127.0.0.1:6379}}\ntenants: [{name: a, secret_sha256: " +
			"\"0000000000000000000000000000000000000000000000000000000000000000\", upstream: main}]\n",
		"tenants: [{name: a, db: 99999999999999999999}]\n",
		"upstreams: {x: {auth: {mode: aws-iam, token_lifetime: 1h}}}\n",
		"listen: &a [*a]\n",
		"limits: {auth_timeout: -5s}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse(data, func(string) (string, bool) { return "", false })
	})
}
