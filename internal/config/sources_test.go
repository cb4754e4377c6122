package config

import (
	"strings"
	"testing"
	"time"
)

func TestSourcesValidation(t *testing.T) {
	const base = "listen: [{address: 127.0.0.1:6380}]\nupstreams: {main: {address: 127.0.0.1:6379}}\n"
	tests := []struct {
		desc, yaml string
		want       []string // each must appear; none = valid
	}{
		{desc: "namespaces", yaml: "sources: {kubernetes: {namespaces: [team-a, team-b]}}"},
		{desc: "prefix", yaml: "sources: {kubernetes: {namespace_prefix: team-}}"},
		{desc: "neither", yaml: "sources: {kubernetes: {label_selector: x}}", want: []string{"sources.kubernetes: set namespaces or namespace_prefix"}},
		{desc: "both", yaml: "sources: {kubernetes: {namespaces: [a], namespace_prefix: b}}", want: []string{"not both"}},
		{desc: "bad namespace", yaml: "sources: {kubernetes: {namespaces: [Team_A, a, a]}}", want: []string{`namespaces[0]: not a namespace name`, `namespaces[2]: listed twice`}},
		{desc: "missing kubeconfig", yaml: "sources: {kubernetes: {namespaces: [a], kubeconfig: /nonexistent/kubeconfig}}", want: []string{"sources.kubernetes.kubeconfig"}},
		{desc: "etcd", yaml: "sources: {etcd: {endpoints: [http://127.0.0.1:2379, https://etcd.example:2379]}}\nstore: {etcd: true}"},
		{desc: "etcd auth", yaml: "sources: {etcd: {endpoints: [http://127.0.0.1:2379], username: r, password_env: ETCD_PW}}"},
		{desc: "no endpoints", yaml: "sources: {etcd: {prefix: /x/}}", want: []string{"sources.etcd.endpoints: at least one"}},
		{desc: "bad endpoints", yaml: "sources: {etcd: {endpoints: [127.0.0.1:2379, \"http://\", \"http://h:99999\"]}}", want: []string{"[0]", "[1]", "[2]: invalid port"}},
		{desc: "bad prefix", yaml: "sources: {etcd: {endpoints: [http://h:1], prefix: redoubt}}", want: []string{`sources.etcd.prefix: must start and end with /`}},
		{desc: "user without password", yaml: "sources: {etcd: {endpoints: [http://h:1], username: r}}", want: []string{"sources.etcd.username: needs password_env"}},
		{desc: "password unset", yaml: "sources: {etcd: {endpoints: [http://h:1], username: r, password_env: UNSET_PW}}", want: []string{"sources.etcd.password_env: the environment variable this key names is not set"}},
		{desc: "store etcd without source", yaml: "store: {etcd: true}", want: []string{"store.etcd: needs sources.etcd"}},
		{desc: "two stores", yaml: "store: {etcd: true, path: /tmp/x.db}\nsources: {etcd: {endpoints: [http://h:1]}}", want: []string{"store: path and etcd: true"}},
	}
	env := fakeEnv{"ETCD_PW": "pw"}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := Parse([]byte(base+tc.yaml), env.lookup)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestSourcesDefaults(t *testing.T) {
	c, err := Parse([]byte("listen: [{address: 127.0.0.1:6380}]\nupstreams: {main: {address: 127.0.0.1:6379}}\nlimits: {dial_timeout: 2s}\nsources: {kubernetes: {namespaces: [a]}, etcd: {endpoints: [http://h:1], username: u, password_env: P}}\n"),
		fakeEnv{"P": "secret-pw"}.lookup)
	if err != nil {
		t.Fatal(err)
	}
	k, e := c.Sources.Kubernetes, c.Sources.Etcd
	if k.LabelSelector != "redoubt.io/tenant" || k.Debounce.D() != 100*time.Millisecond {
		t.Errorf("kubernetes defaults: %+v", k)
	}
	if e.Prefix != "/redoubt/" || e.DialTimeout.D() != 2*time.Second || e.StaleAfter.D() != 30*time.Second || e.Password != "secret-pw" {
		t.Errorf("etcd defaults: %+v", e)
	}
}
