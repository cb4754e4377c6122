package policy

// What a tenant on a shared upstream sees of each INFO field (redis-server
// 7.0.15, INFO everything). A field not listed here is dropped (deny by
// default): a newer server or Valkey adds fields nobody has looked at.
// docs/policy.md shows this table; a test keeps the two in step and
// another checks that a real redis-server sends no field the table lacks.

// infoTreatment is what happens to one INFO field.
type infoTreatment uint8

const (
	infoDrop  infoTreatment = iota // the line is removed
	infoKeep                       // the line is passed unchanged
	infoOwnDB                      // Keyspace: only the pinned DB's line
)

// infoField is one row of the table: a field name, or a prefix for the
// families of fields named after a command, error, replica or DB.
type infoField struct {
	name    string
	prefix  bool
	treat   infoTreatment
	section string
	why     string
}

const (
	whyInfoStartup  = "read by clients at start-up; the same for every tenant"
	whyInfoBuild    = "how the server was built; the same for every tenant"
	whyInfoConfig   = "server configuration a client may check; reveals no tenant"
	whyInfoHost     = "reveals the host or its file system"
	whyInfoOthers   = "counts other tenants' connections, memory, commands or data"
	whyInfoAddress  = "reveals the upstream's or its replicas' addresses"
	whyInfoOwnDB    = "only the tenant's own DB's line is kept"
	whyInfoClock    = "the server's clock and uptime; the same for every tenant"
	whyInfoPersist  = "persistence activity, driven by every tenant's writes"
	whyInfoReplicas = "replication state; changes with every tenant's writes"
)

var infoFields = []infoField{
	// Server
	{name: "redis_version", treat: infoKeep, section: "server", why: whyInfoStartup},
	{name: "redis_git_sha1", treat: infoKeep, section: "server", why: whyInfoBuild},
	{name: "redis_git_dirty", treat: infoKeep, section: "server", why: whyInfoBuild},
	{name: "redis_build_id", treat: infoKeep, section: "server", why: whyInfoBuild},
	{name: "redis_mode", treat: infoKeep, section: "server", why: whyInfoStartup},
	{name: "os", section: "server", why: whyInfoHost},
	{name: "arch_bits", treat: infoKeep, section: "server", why: whyInfoBuild},
	{name: "monotonic_clock", treat: infoKeep, section: "server", why: whyInfoBuild},
	{name: "multiplexing_api", treat: infoKeep, section: "server", why: whyInfoBuild},
	{name: "atomicvar_api", treat: infoKeep, section: "server", why: whyInfoBuild},
	{name: "gcc_version", treat: infoKeep, section: "server", why: whyInfoBuild},
	{name: "process_id", section: "server", why: whyInfoHost},
	{name: "process_supervised", section: "server", why: whyInfoHost},
	{name: "run_id", treat: infoKeep, section: "server", why: "identifies the server instance (clients detect restarts with it)"},
	{name: "tcp_port", section: "server", why: whyInfoAddress},
	{name: "server_time_usec", treat: infoKeep, section: "server", why: whyInfoClock},
	{name: "uptime_in_seconds", treat: infoKeep, section: "server", why: whyInfoClock},
	{name: "uptime_in_days", treat: infoKeep, section: "server", why: whyInfoClock},
	{name: "hz", treat: infoKeep, section: "server", why: whyInfoConfig},
	{name: "configured_hz", treat: infoKeep, section: "server", why: whyInfoConfig},
	{name: "lru_clock", treat: infoKeep, section: "server", why: whyInfoClock},
	{name: "executable", section: "server", why: whyInfoHost},
	{name: "config_file", section: "server", why: whyInfoHost},
	{name: "io_threads_active", treat: infoKeep, section: "server", why: whyInfoConfig},

	// Clients
	{name: "connected_clients", section: "clients", why: whyInfoOthers},
	{name: "cluster_connections", section: "clients", why: whyInfoOthers},
	{name: "maxclients", treat: infoKeep, section: "clients", why: whyInfoConfig},
	{name: "client_recent_max_input_buffer", section: "clients", why: whyInfoOthers},
	{name: "client_recent_max_output_buffer", section: "clients", why: whyInfoOthers},
	{name: "blocked_clients", section: "clients", why: whyInfoOthers},
	{name: "tracking_clients", section: "clients", why: whyInfoOthers},
	{name: "clients_in_timeout_table", section: "clients", why: whyInfoOthers},

	// Memory: every figure but the limits adds up all tenants' data.
	{name: "used_memory", prefix: true, section: "memory", why: whyInfoOthers},
	{name: "allocator_", prefix: true, section: "memory", why: whyInfoOthers},
	{name: "total_system_memory", prefix: true, section: "memory", why: whyInfoHost},
	{name: "number_of_cached_scripts", section: "memory", why: whyInfoOthers},
	{name: "number_of_functions", section: "memory", why: whyInfoOthers},
	{name: "number_of_libraries", section: "memory", why: whyInfoOthers},
	{name: "maxmemory", treat: infoKeep, section: "memory", why: whyInfoConfig},
	{name: "maxmemory_human", treat: infoKeep, section: "memory", why: whyInfoConfig},
	{name: "maxmemory_policy", treat: infoKeep, section: "memory", why: "checked by queue libraries (BullMQ wants noeviction)"},
	{name: "rss_overhead_", prefix: true, section: "memory", why: whyInfoOthers},
	{name: "mem_fragmentation_", prefix: true, section: "memory", why: whyInfoOthers},
	{name: "mem_not_counted_for_evict", section: "memory", why: whyInfoOthers},
	{name: "mem_replication_backlog", section: "memory", why: whyInfoOthers},
	{name: "mem_total_replication_buffers", section: "memory", why: whyInfoOthers},
	{name: "mem_clients_slaves", section: "memory", why: whyInfoOthers},
	{name: "mem_clients_normal", section: "memory", why: whyInfoOthers},
	{name: "mem_cluster_links", section: "memory", why: whyInfoOthers},
	{name: "mem_aof_buffer", section: "memory", why: whyInfoOthers},
	{name: "mem_allocator", treat: infoKeep, section: "memory", why: whyInfoBuild},
	{name: "active_defrag_running", section: "memory", why: whyInfoOthers},
	{name: "lazyfree_pending_objects", section: "memory", why: whyInfoOthers},
	{name: "lazyfreed_objects", section: "memory", why: whyInfoOthers},

	// Persistence
	{name: "loading", treat: infoKeep, section: "persistence", why: "clients (ioredis) wait while the server loads"},
	{name: "loading_", prefix: true, treat: infoKeep, section: "persistence", why: "progress of a load clients wait for (present only while loading)"},
	{name: "async_loading", treat: infoKeep, section: "persistence", why: whyInfoStartup},
	{name: "current_", prefix: true, section: "persistence", why: whyInfoPersist},
	{name: "rdb_", prefix: true, section: "persistence", why: whyInfoPersist},
	{name: "aof_enabled", treat: infoKeep, section: "persistence", why: whyInfoConfig},
	{name: "aof_", prefix: true, section: "persistence", why: whyInfoPersist},
	{name: "module_fork_", prefix: true, section: "persistence", why: whyInfoPersist},

	// Stats: every counter adds up all tenants' traffic.
	{name: "total_", prefix: true, section: "stats", why: whyInfoOthers},
	{name: "instantaneous_", prefix: true, section: "stats", why: whyInfoOthers},
	{name: "rejected_connections", section: "stats", why: whyInfoOthers},
	{name: "sync_", prefix: true, section: "stats", why: whyInfoReplicas},
	{name: "expired_", prefix: true, section: "stats", why: whyInfoOthers},
	{name: "expire_cycle_cpu_milliseconds", section: "stats", why: whyInfoOthers},
	{name: "evicted_", prefix: true, section: "stats", why: whyInfoOthers},
	{name: "current_eviction_exceeded_time", section: "stats", why: whyInfoOthers},
	{name: "keyspace_", prefix: true, section: "stats", why: whyInfoOthers},
	{name: "pubsub_", prefix: true, section: "stats", why: whyInfoOthers},
	{name: "pubsubshard_channels", section: "stats", why: whyInfoOthers},
	{name: "latest_fork_usec", section: "stats", why: whyInfoPersist},
	{name: "migrate_cached_sockets", section: "stats", why: whyInfoOthers},
	{name: "slave_expires_tracked_keys", section: "stats", why: whyInfoOthers},
	{name: "active_defrag_", prefix: true, section: "stats", why: whyInfoOthers},
	{name: "tracking_", prefix: true, section: "stats", why: whyInfoOthers},
	{name: "unexpected_error_replies", section: "stats", why: whyInfoOthers},
	{name: "dump_payload_sanitizations", section: "stats", why: whyInfoOthers},
	{name: "io_threaded_", prefix: true, section: "stats", why: whyInfoOthers},
	{name: "reply_buffer_", prefix: true, section: "stats", why: whyInfoOthers},

	// Replication
	{name: "role", treat: infoKeep, section: "replication", why: "clients check they talk to a master"},
	{name: "connected_slaves", section: "replication", why: whyInfoReplicas},
	{name: "slave", prefix: true, section: "replication", why: whyInfoAddress},
	{name: "master_", prefix: true, section: "replication", why: whyInfoAddress},
	{name: "second_repl_offset", section: "replication", why: whyInfoReplicas},
	{name: "repl_backlog_", prefix: true, section: "replication", why: whyInfoReplicas},
	{name: "min_slaves_good_slaves", section: "replication", why: whyInfoReplicas},
	{name: "replica_announced", section: "replication", why: whyInfoReplicas},

	// CPU: the server's CPU time, spent on every tenant.
	{name: "used_cpu_", prefix: true, section: "cpu", why: whyInfoOthers},

	// Modules
	{name: "module", treat: infoKeep, section: "modules", why: "which modules (JSON, search) clients may use"},

	// Commandstats, Errorstats, Latencystats: per command, all tenants.
	{name: "cmdstat_", prefix: true, section: "commandstats", why: whyInfoOthers},
	{name: "errorstat_", prefix: true, section: "errorstats", why: whyInfoOthers},
	{name: "latency_percentiles_usec_", prefix: true, section: "latencystats", why: whyInfoOthers},

	// Cluster
	{name: "cluster_enabled", treat: infoKeep, section: "cluster", why: "clients check for cluster mode at start-up"},

	// Keyspace
	{name: "db", prefix: true, treat: infoOwnDB, section: "keyspace", why: whyInfoOwnDB},
}

// infoExact and infoPrefixes index infoFields; the longest matching prefix
// wins, and an exact name wins over any prefix (aof_enabled over aof_).
var infoExact, infoPrefixes = func() (map[string]infoTreatment, []infoField) {
	exact := map[string]infoTreatment{}
	var prefixes []infoField
	for _, f := range infoFields {
		if f.prefix {
			prefixes = append(prefixes, f)
		} else {
			exact[f.name] = f.treat
		}
	}
	return exact, prefixes
}()

// infoTreatmentOf looks a field name up in the table.
func infoTreatmentOf(name string) infoTreatment {
	if t, ok := infoExact[name]; ok {
		return t
	}
	best, treat := 0, infoDrop
	for _, f := range infoPrefixes {
		if len(f.name) > best && len(name) >= len(f.name) && name[:len(f.name)] == f.name {
			best, treat = len(f.name), f.treat
		}
	}
	return treat
}
