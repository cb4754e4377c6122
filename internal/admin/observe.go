package admin

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

// Buckets of the command latency histogram: a cache answers in tens of
// microseconds; seconds mean a blocked or overloaded upstream.
var commandBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}

// Buckets of the upstream dial histogram (TCP, TLS, login).
var dialBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// Metrics is the Prometheus side of the data path: the proxy reports dial
// times, command times and refusals through it (proxy.Observer). Make it
// before the proxy, hand it to proxy.Options.Observer and to Options.
type Metrics struct {
	reg       *prometheus.Registry
	tenants   *labelSlots
	upstreams *labelSlots
	cmd       *prometheus.HistogramVec
	denied    *prometheus.CounterVec
	dial      *prometheus.HistogramVec
	dialErr   *prometheus.CounterVec
	authFail  *prometheus.CounterVec
}

// MaxUpstreamLabels bounds the upstream label (ad-hoc token routes can
// name many addresses).
const MaxUpstreamLabels = 100

// NewMetrics makes the registry; maxTenants bounds the tenant label
// (config admin.metrics_tenants).
func NewMetrics(maxTenants int) *Metrics {
	m := &Metrics{
		reg:       prometheus.NewRegistry(),
		tenants:   newLabelSlots(maxTenants),
		upstreams: newLabelSlots(MaxUpstreamLabels),
		cmd: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "redoubt_command_duration_seconds", Buckets: commandBuckets,
			Help: "Inspected commands' time from being forwarded upstream to their reply (blocking commands excluded).",
		}, []string{"tenant"}),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "redoubt_commands_denied_total",
			Help: "Commands refused by the proxy, by reason (unknown_command, role, isolation, unsupported).",
		}, []string{"tenant", "reason"}),
		dial: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "redoubt_upstream_dial_duration_seconds", Buckets: dialBuckets,
			Help: "Upstream dials for new sessions: TCP connect, TLS and login, failed ones included.",
		}, []string{"upstream"}),
		dialErr: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "redoubt_upstream_dial_errors_total",
			Help: "Upstream dials or logins for new sessions that failed.",
		}, []string{"upstream"}),
	}
	m.authFail = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "redoubt_tenant_auth_failures_total",
		Help: `Failed logins that named a configured tenant (AUTH tenant password); tenant="" for those that named none.`,
	}, []string{"tenant"})
	m.reg.MustRegister(m.cmd, m.denied, m.dial, m.dialErr, m.authFail)
	return m
}

// UpstreamDial implements proxy.Observer.
func (m *Metrics) UpstreamDial(upstream string, d time.Duration, err error) {
	l := m.upstreams.label(upstream)
	m.dial.WithLabelValues(l).Observe(d.Seconds())
	if err != nil {
		m.dialErr.WithLabelValues(l).Inc()
	}
}

// AuthFailed implements proxy.Observer.
func (m *Metrics) AuthFailed(tenant string) {
	if tenant != "" {
		tenant = m.tenants.label(tenant)
	}
	m.authFail.WithLabelValues(tenant).Inc()
}

// Tenant implements proxy.Observer: the series are resolved once per
// session, so a command costs one histogram observation.
func (m *Metrics) Tenant(name string) proxy.TenantObserver {
	l := m.tenants.label(name)
	return &tenantMetrics{cmd: m.cmd.WithLabelValues(l), m: m, label: l}
}

type tenantMetrics struct {
	cmd   prometheus.Observer
	m     *Metrics
	label string
}

func (t *tenantMetrics) Command(d time.Duration) { t.cmd.Observe(d.Seconds()) }
func (t *tenantMetrics) Denied(reason string)    { t.m.denied.WithLabelValues(t.label, reason).Inc() }
