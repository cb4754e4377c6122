package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Target names, in the order every round visits them.
const (
	tDirect        = "direct"
	tRedoubtPT     = "redoubt-pt"
	tRedoubtInsp   = "redoubt-insp"
	tHAProxy       = "haproxy"
	tHAProxySplice = "haproxy-splice"
	tTwemproxy     = "twemproxy"
)

var allTargets = []string{tDirect, tRedoubtPT, tRedoubtInsp, tHAProxy, tHAProxySplice, tTwemproxy}

// target is one way for a client to reach the redis-server.
type target struct {
	Name string
	Addr string
	Auth string // password sent with AUTH, "" for none
	Proc *proc  // the proxy process (nil for direct)
}

// stack is one redis-server and the proxies in front of it.
type stack struct {
	dir        string
	redoubtBin string
	redis      *proc
	redisPort  int
	ptSecret   string
	inspSecret string
	tokenKey   string
	redoubtCfg string
	redoubt    *proc
	redoubtAdr string
	limits     string // extra redoubt `limits` keys, YAML flow style
	gctrace    bool   // run redoubt with GODEBUG=gctrace=1 (heap and stack sizes in its log)
	nofile     uint64
	targets    map[string]*target
	procs      []*proc
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// stackConfig says how to start a stack.
type stackConfig struct {
	dir        string
	redoubtBin string
	limits     string // extra redoubt `limits` keys, YAML flow style
	gctrace    bool   // run redoubt with GODEBUG=gctrace=1
	maxConns   int    // connections the stack must take
	nofile     uint64 // descriptor limit the processes inherit
}

// newStack starts a fresh redis-server and the proxies behind the named
// targets (direct needs none).
func newStack(c stackConfig, names []string) (*stack, error) {
	dir, redoubtBin, maxConns := c.dir, c.redoubtBin, c.maxConns
	s := &stack{
		dir: dir, redoubtBin: redoubtBin, limits: c.limits, gctrace: c.gctrace, nofile: c.nofile, targets: map[string]*target{},
		ptSecret: randHex(24), inspSecret: randHex(24), tokenKey: randHex(32),
	}
	if err := s.startRedis(maxConns); err != nil {
		s.stop()
		return nil, err
	}
	for _, n := range names {
		var err error
		switch n {
		case tDirect:
			s.targets[n] = &target{Name: n, Addr: fmt.Sprintf("127.0.0.1:%d", s.redisPort)}
		case tRedoubtPT, tRedoubtInsp:
			err = s.startRedoubt()
			if err == nil {
				sec := s.ptSecret
				if n == tRedoubtInsp {
					sec = s.inspSecret
				}
				s.targets[n] = &target{Name: n, Addr: s.redoubtAdr, Auth: sec, Proc: s.redoubt}
			}
		case tHAProxy, tHAProxySplice:
			err = s.startHAProxy(n, n == tHAProxySplice, maxConns)
		case tTwemproxy:
			err = s.startTwemproxy()
		default:
			err = fmt.Errorf("unknown target %q", n)
		}
		if err != nil {
			s.stop()
			return nil, err
		}
	}
	return s, nil
}

func (s *stack) stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop()
	}
	s.procs = nil
}

func (s *stack) startRedis(maxConns int) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	// Bound to 127.0.0.1 and 127.0.0.2: redoubt's pass-through tenant
	// reaches the same server as 127.0.0.2 (see docs/benchmarks.md).
	p, err := start(s.dir, fmt.Sprintf("redis-%d", port), nil, "redis-server",
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1 127.0.0.2",
		"--save", "", "--appendonly", "no", "--protected-mode", "no",
		"--maxclients", strconv.Itoa(maxConns+1000), "--dir", s.dir)
	if err != nil {
		return err
	}
	s.redis, s.redisPort = p, port
	s.procs = append(s.procs, p)
	return waitReady(p, fmt.Sprintf("127.0.0.1:%d", port), "", 10*time.Second)
}

func (s *stack) startRedoubt() error {
	if s.redoubt != nil {
		return nil
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	cfg := fmt.Sprintf(`# written by bench/cmd/benchrun
listen: [{address: 127.0.0.1:%[1]d}]
upstreams:
  # The same redis-server under two addresses: "own" gives the pt tenant a
  # pass-through upstream (config validation compares addresses as written).
  own: {address: 127.0.0.2:%[2]d}
  shared: {address: 127.0.0.1:%[2]d}
tenants:
  - {name: pt, secret_env: BENCH_PT_SECRET, upstream: own, role: full}
  - {name: insp, secret_env: BENCH_INSP_SECRET, upstream: shared, db: 3, role: readwrite}
  - {name: insp2, secret_env: BENCH_INSP_SECRET2, upstream: shared, db: 4, role: readwrite}
tokens:
  keys: [{id: k1, secret_env: BENCH_TOKEN_KEY}]
log: {level: warn}
`, port, s.redisPort)
	if s.limits != "" {
		cfg += "limits: {" + s.limits + "}\n"
	}
	s.redoubtCfg = filepath.Join(s.dir, fmt.Sprintf("redoubt-%d.yaml", port))
	if err := os.WriteFile(s.redoubtCfg, []byte(cfg), 0o600); err != nil {
		return err
	}
	env := s.redoubtEnv()
	if s.gctrace {
		env = append(env, "GODEBUG=gctrace=1")
	}
	p, err := start(s.dir, fmt.Sprintf("redoubt-%d", port), env, s.redoubtBin, "serve", "--config", s.redoubtCfg)
	if err != nil {
		return err
	}
	s.procs = append(s.procs, p)
	s.redoubt, s.redoubtAdr = p, fmt.Sprintf("127.0.0.1:%d", port)
	return waitReady(p, s.redoubtAdr, s.ptSecret, 15*time.Second)
}

func (s *stack) redoubtEnv() []string {
	return []string{
		"BENCH_PT_SECRET=" + s.ptSecret,
		"BENCH_INSP_SECRET=" + s.inspSecret,
		"BENCH_INSP_SECRET2=" + randHex(24),
		"BENCH_TOKEN_KEY=" + s.tokenKey,
	}
}

// issueToken runs `redoubt token issue` for a tenant of the running config.
func (s *stack) issueToken(tenant string) (string, error) {
	cmd := exec.Command(s.redoubtBin, "token", "issue", "--config", s.redoubtCfg, "--tenant", tenant, "--ttl", "2h")
	cmd.Env = append(os.Environ(), s.redoubtEnv()...)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("redoubt token issue: %v", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func (s *stack) startHAProxy(name string, splice bool, maxConns int) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	// HAProxy refuses to start when maxconn needs more descriptors than
	// it may have (two per connection): cap it to what fits.
	maxconn := maxConns + 1000
	if s.nofile > 0 {
		maxconn = min(maxconn, int(s.nofile-200)/2)
	}
	opt := ""
	if splice {
		opt = "  option splice-auto\n"
	}
	cfg := fmt.Sprintf(`global
  maxconn %d
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
%sfrontend fe
  bind 127.0.0.1:%d
  default_backend be
backend be
  server r1 127.0.0.1:%d
`, maxconn, opt, port, s.redisPort)
	path := filepath.Join(s.dir, fmt.Sprintf("%s-%d.cfg", name, port))
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return err
	}
	p, err := start(s.dir, fmt.Sprintf("%s-%d", name, port), nil, "haproxy", "-db", "-f", path)
	if err != nil {
		return err
	}
	s.procs = append(s.procs, p)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s.targets[name] = &target{Name: name, Addr: addr, Proc: p}
	return waitReady(p, addr, "", 10*time.Second)
}

func (s *stack) startTwemproxy() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	stats, err := freePort()
	if err != nil {
		return err
	}
	cfg := fmt.Sprintf(`bench:
  listen: 127.0.0.1:%d
  redis: true
  hash: fnv1a_64
  distribution: ketama
  auto_eject_hosts: false
  server_connections: 1
  servers:
   - 127.0.0.1:%d:1
`, port, s.redisPort)
	path := filepath.Join(s.dir, fmt.Sprintf("twemproxy-%d.yml", port))
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return err
	}
	p, err := start(s.dir, fmt.Sprintf("twemproxy-%d", port), nil, "nutcracker",
		"-c", path, "-s", strconv.Itoa(stats), "-a", "127.0.0.1", "-o", filepath.Join(s.dir, fmt.Sprintf("twemproxy-%d.nc.log", port)))
	if err != nil {
		return err
	}
	s.procs = append(s.procs, p)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s.targets[tTwemproxy] = &target{Name: tTwemproxy, Addr: addr, Proc: p}
	return waitReady(p, addr, "", 10*time.Second)
}
