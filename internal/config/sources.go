package config

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Sources are the watched credential sources besides the file and the
// store: Kubernetes Secrets and etcd. Each is off unless its block is set.
type Sources struct {
	Kubernetes *KubernetesSource `yaml:"kubernetes"`
	Etcd       *EtcdSource       `yaml:"etcd"`
}

// KubernetesSource reads tenants from labelled Secrets.
type KubernetesSource struct {
	// Kubeconfig is a kubeconfig file; empty means the in-cluster service
	// account.
	Kubeconfig string `yaml:"kubeconfig"`
	// Namespaces lists the namespaces to watch (one informer each, a Role
	// in each is enough); NamespacePrefix instead watches every namespace
	// whose name starts with it (one cluster-wide informer, needs a
	// ClusterRole). Exactly one of the two.
	Namespaces      []string `yaml:"namespaces"`
	NamespacePrefix string   `yaml:"namespace_prefix"`
	// LabelSelector picks the Secrets that describe tenants; the API
	// server filters with it, so other Secrets are never cached.
	LabelSelector string `yaml:"label_selector"` // default "redoubt.io/tenant"
	// Debounce gathers changes that arrive together into one rebuild.
	Debounce Duration `yaml:"debounce"` // default 100ms
}

// EtcdSource reads tenants from keys <prefix>tenants/<name>.
type EtcdSource struct {
	Endpoints   []string `yaml:"endpoints"`
	Prefix      string   `yaml:"prefix"` // default "/redoubt/"
	TLS         *EtcdTLS `yaml:"tls"`
	Username    string   `yaml:"username"`
	PasswordEnv string   `yaml:"password_env"`
	DialTimeout Duration `yaml:"dial_timeout"` // default 5s
	// StaleAfter is how long etcd may be unreachable before /readyz
	// reports the source stale (the last good view keeps serving).
	StaleAfter Duration `yaml:"stale_after"` // default 30s

	// Password is resolved from PasswordEnv by Resolve.
	Password string `yaml:"-"`
}

// EtcdTLS configures TLS (and client certificates) towards etcd.
type EtcdTLS struct {
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	ServerName string `yaml:"server_name"`
}

// Defaults of the sources block.
const (
	DefaultK8sLabelSelector = "redoubt.io/tenant"
	DefaultK8sDebounce      = 100 * time.Millisecond
	DefaultEtcdPrefix       = "/redoubt/"
	DefaultEtcdStaleAfter   = 30 * time.Second
)

func (s *Sources) applyDefaults(dialTimeout time.Duration) {
	if k := s.Kubernetes; k != nil {
		if k.LabelSelector == "" {
			k.LabelSelector = DefaultK8sLabelSelector
		}
		setDur(&k.Debounce, DefaultK8sDebounce)
	}
	if e := s.Etcd; e != nil {
		if e.Prefix == "" {
			e.Prefix = DefaultEtcdPrefix
		}
		setDur(&e.DialTimeout, dialTimeout)
		setDur(&e.StaleAfter, DefaultEtcdStaleAfter)
	}
}

func (s *Sources) resolve(p *problems, lookupEnv func(string) (string, bool)) {
	if e := s.Etcd; e != nil && e.PasswordEnv != "" {
		if v, ok := lookupSecret(p, "sources.etcd.password_env", e.PasswordEnv, lookupEnv); ok {
			e.Password = v
		}
	}
}

func (s *Sources) validate(p *problems, st Store) {
	if st.Etcd {
		if s.Etcd == nil {
			p.add("store.etcd", "needs sources.etcd (the endpoints to write to)")
		}
		if st.Path != "" {
			p.add("store", "path and etcd: true are two different stores; choose one")
		}
	}
	if k := s.Kubernetes; k != nil {
		const path = "sources.kubernetes"
		switch {
		case len(k.Namespaces) == 0 && k.NamespacePrefix == "":
			p.add(path, "set namespaces or namespace_prefix (redoubt never reads every Secret of a cluster by default)")
		case len(k.Namespaces) > 0 && k.NamespacePrefix != "":
			p.add(path, "set namespaces or namespace_prefix, not both")
		}
		seen := map[string]bool{}
		for i, ns := range k.Namespaces {
			if !validDNSLabel(ns) {
				p.add(fmt.Sprintf("%s.namespaces[%d]", path, i), "not a namespace name")
			} else if seen[ns] {
				p.add(fmt.Sprintf("%s.namespaces[%d]", path, i), "listed twice")
			}
			seen[ns] = true
		}
		if strings.TrimSpace(k.LabelSelector) == "" {
			p.add(path+".label_selector", "must select something (default %q)", DefaultK8sLabelSelector)
		}
		if k.Kubeconfig != "" {
			checkReadable(p, path+".kubeconfig", k.Kubeconfig)
		}
	}
	if e := s.Etcd; e != nil {
		const path = "sources.etcd"
		if len(e.Endpoints) == 0 {
			p.add(path+".endpoints", "at least one endpoint is required")
		}
		for i, ep := range e.Endpoints {
			u, err := url.Parse(ep)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.add(fmt.Sprintf("%s.endpoints[%d]", path, i), "want http://HOST:PORT or https://HOST:PORT")
			} else if err := checkHostPort(u.Host, false); err != nil {
				p.add(path+".endpoints", "[%d]: %v", i, err)
			}
		}
		if !strings.HasPrefix(e.Prefix, "/") || !strings.HasSuffix(e.Prefix, "/") {
			p.add(path+".prefix", "must start and end with /")
		}
		if e.PasswordEnv != "" && e.Username == "" {
			p.add(path+".password_env", "needs username")
		}
		if e.Username != "" && e.PasswordEnv == "" {
			p.add(path+".username", "needs password_env")
		}
		if t := e.TLS; t != nil {
			if t.CAFile != "" {
				checkCAFile(p, path+".tls.ca_file", t.CAFile)
			}
			if t.CertFile != "" || t.KeyFile != "" {
				checkKeyPair(p, path+".tls", t.CertFile, t.KeyFile)
			}
		}
	}
}

// validDNSLabel is Kubernetes' rule for namespace names (RFC 1123 label).
func validDNSLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func checkReadable(p *problems, path, file string) {
	if _, err := os.Stat(file); err != nil {
		p.add(path, "%v", err)
	}
}
