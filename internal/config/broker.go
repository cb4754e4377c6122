package config

import (
	"fmt"
	"net"
	"strings"
)

// Broker is the Open Service Broker endpoint (API v2.17): platforms such as
// Cloud Foundry and Kubernetes service catalogs provision instances (a
// tenant each) and bind them (a credential each) through it.
type Broker struct {
	Address  string `yaml:"address"`
	Username string `yaml:"username"`
	// PasswordEnv names the variable holding the basic-auth password the
	// platform presents.
	PasswordEnv string     `yaml:"password_env"`
	TLS         *ServerTLS `yaml:"tls"`
	// StatePath keeps the broker's instance records (plan, parameters,
	// bindings); default: store.path + ".broker".
	StatePath string          `yaml:"state_path"`
	Endpoint  BrokerEndpoint  `yaml:"endpoint"`
	Services  []BrokerService `yaml:"services"`

	// Password is resolved from PasswordEnv by Resolve.
	Password string `yaml:"-"`
}

// BrokerEndpoint is what bound applications are told to connect to: a
// redoubt listener, as the applications reach it.
type BrokerEndpoint struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	TLS  bool   `yaml:"tls"`
}

// BrokerService is one service offering of the catalog.
type BrokerService struct {
	Name        string       `yaml:"name"`
	ID          string       `yaml:"id"`
	Description string       `yaml:"description"`
	Tags        []string     `yaml:"tags"`
	Plans       []BrokerPlan `yaml:"plans"`
}

// Broker plan kinds.
const (
	PlanShared      = "shared"      // a DB index on a configured upstream
	PlanElastiCache = "elasticache" // a replication group of its own
)

// BrokerPlan is one plan of a service.
type BrokerPlan struct {
	Name        string `yaml:"name"`
	ID          string `yaml:"id"`
	Description string `yaml:"description"`
	Kind        string `yaml:"kind"` // shared | elasticache
	Free        *bool  `yaml:"free"` // default: true for shared, false for elasticache
	// CredentialTTL makes every binding's credential expire after it
	// (returned as metadata.expires_at); 0 = never.
	CredentialTTL Duration `yaml:"credential_ttl"`

	// shared
	Upstreams []string `yaml:"upstreams"`

	// elasticache
	NodeType                 string            `yaml:"node_type"`
	Engine                   string            `yaml:"engine"` // redis (default) | valkey
	EngineVersion            string            `yaml:"engine_version"`
	Shards                   int               `yaml:"shards"`                  // = shard_count
	ShardCount               int               `yaml:"shard_count"`             // node groups; 1 (cluster mode is not supported yet)
	Replicas                 *int              `yaml:"replicas"`                // = replicas_per_node_group
	ReplicasPerNodeGroup     *int              `yaml:"replicas_per_node_group"` // read replicas per shard
	Region                   string            `yaml:"region"`
	SubnetGroup              string            `yaml:"subnet_group"`
	SecurityGroupIDs         []string          `yaml:"security_group_ids"`
	SnapshotRetentionLimit   int               `yaml:"snapshot_retention_limit"`
	AutomaticFailoverEnabled *bool             `yaml:"automatic_failover_enabled"`
	MultiAZEnabled           *bool             `yaml:"multi_az_enabled"`
	Parameters               map[string]string `yaml:"parameters"`             // a cache parameter group per instance
	ParameterGroupFamily     string            `yaml:"parameter_group_family"` // default from engine and version, e.g. redis7
	// IAMUser is redoubt's ElastiCache user (IAM authentication, user ID =
	// user name), a member of UserGroupID; redoubt logs in as it with
	// auth mode aws-iam.
	IAMUser     string `yaml:"iam_user"`
	UserGroupID string `yaml:"user_group_id"`
	// TLSCAFile verifies the caches' TLS certificates with this CA instead
	// of the system roots (a private CA, a local stand-in).
	TLSCAFile string `yaml:"tls_ca_file"`
	// AWSEndpoint overrides the ElastiCache API endpoint (a VPC endpoint,
	// or a local stand-in in tests).
	AWSEndpoint string `yaml:"aws_endpoint"`
}

// ShardTotal is the plan's number of shards (shards or shard_count; 1 when unset).
func (p *BrokerPlan) ShardTotal() int {
	if p.ShardCount > 0 {
		return p.ShardCount
	}
	if p.Shards > 0 {
		return p.Shards
	}
	return 1
}

// ReplicaTotal is the plan's replicas per shard (replicas or replicas_per_node_group).
func (p *BrokerPlan) ReplicaTotal() int {
	switch {
	case p.ReplicasPerNodeGroup != nil:
		return *p.ReplicasPerNodeGroup
	case p.Replicas != nil:
		return *p.Replicas
	}
	return 0
}

// BrokerStatePath is where the broker keeps its instance records.
func (c *Config) BrokerStatePath() string {
	if c.Broker == nil {
		return ""
	}
	if c.Broker.StatePath != "" {
		return c.Broker.StatePath
	}
	if c.Store.Path == "" {
		return ""
	}
	return c.Store.Path + ".broker"
}

func (c *Config) resolveBroker(p *problems, lookupEnv func(string) (string, bool)) {
	if c.Broker == nil || c.Broker.PasswordEnv == "" {
		return
	}
	if v, ok := lookupSecret(p, "broker.password_env", c.Broker.PasswordEnv, lookupEnv); ok {
		c.Broker.Password = v
	}
}

func (c *Config) validateBroker(p *problems) {
	b := c.Broker
	if b == nil {
		return
	}
	if err := checkHostPort(b.Address, true); err != nil {
		p.add("broker.address", "%v", err)
	}
	if b.Username == "" {
		p.add("broker.username", "required")
	}
	if b.PasswordEnv == "" {
		p.add("broker.password_env", "required: the platform's basic-auth password")
	} else if b.Password == "" {
		p.add("broker.password_env", "variable %s is empty", b.PasswordEnv)
	}
	if c.Store.Path == "" && b.StatePath == "" {
		p.add("broker", "needs store.path: instances' tenants and bindings' credentials are kept in the store")
	} else if c.Store.Path == "" {
		p.add("broker", "needs store.path: bindings' credentials are kept in the store")
	}
	if b.StatePath != "" && b.StatePath == c.Store.Path {
		p.add("broker.state_path", "must differ from store.path (each file is locked by its owner)")
	}
	if b.TLS != nil {
		checkKeyPair(p, "broker.tls", b.TLS.CertFile, b.TLS.KeyFile)
		if b.TLS.ClientCAFile != "" {
			checkCAFile(p, "broker.tls.client_ca_file", b.TLS.ClientCAFile)
		}
	}
	if b.Endpoint.Host == "" {
		p.add("broker.endpoint.host", "required: the host bound applications connect to")
	} else if strings.ContainsAny(b.Endpoint.Host, "/@: ") && net.ParseIP(b.Endpoint.Host) == nil {
		p.add("broker.endpoint.host", "want a host name or IP address")
	}
	if b.Endpoint.Port < 1 || b.Endpoint.Port > 65535 {
		p.add("broker.endpoint.port", "want 1-65535")
	}
	if len(b.Services) == 0 {
		p.add("broker.services", "at least one service is required")
	}
	ids := map[string]string{}
	seenID := func(path, id string) {
		if id == "" {
			p.add(path, "required (a stable UUID)")
			return
		}
		if first, dup := ids[id]; dup {
			p.add(path, "duplicate of %s", first)
			return
		}
		ids[id] = path
	}
	for i, s := range b.Services {
		path := fmt.Sprintf("broker.services[%d]", i)
		if s.Name == "" {
			p.add(path+".name", "required")
		}
		seenID(path+".id", s.ID)
		if len(s.Plans) == 0 {
			p.add(path+".plans", "at least one plan is required")
		}
		names := map[string]bool{}
		for j := range s.Plans {
			pl := &s.Plans[j]
			ppath := fmt.Sprintf("%s.plans[%d]", path, j)
			if pl.Name == "" {
				p.add(ppath+".name", "required")
			} else if names[pl.Name] {
				p.add(ppath+".name", "duplicate plan name %q", pl.Name)
			}
			names[pl.Name] = true
			seenID(ppath+".id", pl.ID)
			if pl.CredentialTTL < 0 {
				p.add(ppath+".credential_ttl", "must not be negative")
			}
			switch pl.Kind {
			case PlanShared:
				c.validateSharedPlan(p, ppath, pl)
			case PlanElastiCache:
				validateElastiCachePlan(p, ppath, pl)
			default:
				p.add(ppath+".kind", "want shared or elasticache")
			}
		}
	}
}

func (c *Config) validateSharedPlan(p *problems, path string, pl *BrokerPlan) {
	if len(pl.Upstreams) == 0 {
		p.add(path+".upstreams", "at least one upstream is required")
	}
	for k, u := range pl.Upstreams {
		if _, ok := c.Upstreams[u]; !ok {
			p.add(fmt.Sprintf("%s.upstreams[%d]", path, k), "unknown upstream %q", u)
		}
	}
}

func validateElastiCachePlan(p *problems, path string, pl *BrokerPlan) {
	for _, req := range []struct{ key, v string }{
		{"node_type", pl.NodeType}, {"engine_version", pl.EngineVersion}, {"region", pl.Region},
		{"iam_user", pl.IAMUser}, {"user_group_id", pl.UserGroupID},
	} {
		if req.v == "" {
			p.add(path+"."+req.key, "required for kind elasticache")
		}
	}
	if pl.Engine != "" && pl.Engine != "redis" && pl.Engine != "valkey" {
		p.add(path+".engine", "want redis or valkey")
	}
	if pl.Shards != 0 && pl.ShardCount != 0 {
		p.add(path+".shards", "set shards or shard_count, not both")
	}
	if pl.ShardTotal() != 1 {
		p.add(path+".shard_count", "must be 1: redoubt does not route cluster-mode caches yet")
	}
	if pl.Replicas != nil && pl.ReplicasPerNodeGroup != nil {
		p.add(path+".replicas", "set replicas or replicas_per_node_group, not both")
	}
	if r := pl.ReplicaTotal(); r < 0 || r > 5 {
		p.add(path+".replicas_per_node_group", "want 0-5")
	}
	if pl.SnapshotRetentionLimit < 0 || pl.SnapshotRetentionLimit > 35 {
		p.add(path+".snapshot_retention_limit", "want 0-35 (days)")
	}
	if pl.AutomaticFailoverEnabled != nil && *pl.AutomaticFailoverEnabled && pl.ReplicaTotal() == 0 {
		p.add(path+".automatic_failover_enabled", "needs at least one replica")
	}
	if pl.MultiAZEnabled != nil && *pl.MultiAZEnabled && (pl.AutomaticFailoverEnabled == nil || !*pl.AutomaticFailoverEnabled) {
		p.add(path+".multi_az_enabled", "needs automatic_failover_enabled")
	}
	if len(pl.Upstreams) > 0 {
		p.add(path+".upstreams", "only for kind shared")
	}
	if pl.TLSCAFile != "" {
		checkCAFile(p, path+".tls_ca_file", pl.TLSCAFile)
	}
}
