// Command memrepro runs the memory reproductions of the inspecting relay
// at full scale against a real redis-server and a redoubt binary, and
// prints redoubt's resident memory (RSS) through each, a neighbour
// tenant's slowest request meanwhile, and the RSS after the sessions end.
// scripts/memory-repro.sh builds and runs it.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	bin := flag.String("redoubt", "bin/redoubt", "redoubt binary")
	budget := flag.Int64("budget", 1<<30, "limits.request_memory_budget")
	scale := flag.Float64("scale", 1, "fraction of the issue's sizes to send")
	flag.Parse()
	if err := run(*bin, *budget, *scale); err != nil {
		fmt.Fprintln(os.Stderr, "memrepro:", err)
		os.Exit(1)
	}
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func run(bin string, budget int64, scale float64) error {
	dir, err := os.MkdirTemp("", "memrepro")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rport, gport := freePort(), freePort()
	redis := exec.Command("redis-server", "--port", strconv.Itoa(rport), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--requirepass", "repro-pass", "--dir", dir)
	if err := redis.Start(); err != nil {
		return fmt.Errorf("redis-server: %w", err)
	}
	defer redis.Process.Kill()
	cfg := fmt.Sprintf(`listen: [{address: 127.0.0.1:%d}]
limits: {request_memory_budget: %d, shutdown_grace: 1s}
upstreams:
  shared: {address: 127.0.0.1:%d, auth: {mode: password, password_env: REPRO_REDIS}}
tenants:
  - {name: alice, secret_env: REPRO_ALICE, upstream: shared, db: 3, role: readwrite}
  - {name: carol, secret_env: REPRO_CAROL, upstream: shared, db: 4, role: readwrite}
`, gport, budget, rport)
	path := filepath.Join(dir, "redoubt.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return err
	}
	gw := exec.Command(bin, "serve", "--config", path)
	gw.Env = append(os.Environ(), "REPRO_REDIS=repro-pass", "REPRO_ALICE=alice-repro-secret-0123456789",
		"REPRO_CAROL=carol-repro-secret-0123456789")
	if err := gw.Start(); err != nil {
		return fmt.Errorf("redoubt: %w", err)
	}
	defer gw.Process.Kill()
	addr := fmt.Sprintf("127.0.0.1:%d", gport)
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			return fmt.Errorf("redoubt does not listen: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pid := gw.Process.Pid
	fmt.Printf("redoubt pid %d, request_memory_budget %d MiB, RSS at start %d MiB\n", pid, budget>>20, rss(pid)>>20)
	mb := func(n float64) int { return int(n * scale * (1 << 20)) }
	scenarios := []struct {
		name string
		run  func() error
	}{
		{"200 MB of pipelined PING, never read", func() error {
			c, err := login(addr, "alice")
			if err != nil {
				return err
			}
			defer c.Close()
			n := flood(c, "PING\r\n", mb(200))
			fmt.Printf("  the gateway took %d MiB of %d\n", n>>20, mb(200)>>20)
			return nil
		}},
		{"BLPOP k 0, then 100 MB of refused SELECT 4", func() error {
			c, err := login(addr, "alice")
			if err != nil {
				return err
			}
			defer c.Close()
			c.Write([]byte("BLPOP nothing 0\r\n"))
			n := flood(c, "SELECT 4\r\n", mb(100))
			fmt.Printf("  the gateway took %d MiB of %d\n", n>>20, mb(100)>>20)
			return nil
		}},
		{"four connections, each a 400 MB partial bulk", func() error {
			var wg sync.WaitGroup
			var refused atomic.Int32
			var conns []net.Conn
			for range 4 {
				c, err := login(addr, "alice")
				if err != nil {
					return err
				}
				conns = append(conns, c)
				wg.Add(1)
				go func() {
					defer wg.Done()
					size := mb(400)
					c.Write([]byte(fmt.Sprintf("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n", size)))
					if n := flood(c, "xxxxxxxxxxxxxxxx", size-16); n < size-16 {
						refused.Add(1)
					}
				}()
			}
			wg.Wait()
			fmt.Printf("  %d of 4 stopped before the whole value (refused: budget)\n", refused.Load())
			for _, c := range conns {
				c.Close()
			}
			return nil
		}},
	}
	for _, sc := range scenarios {
		fmt.Printf("%s\n", sc.name)
		stop := make(chan struct{})
		var peak atomic.Int64
		var slowest atomic.Int64
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); sampleRSS(pid, &peak, stop) }()
		go func() { defer wg.Done(); neighbour(addr, &slowest, stop) }()
		if err := sc.run(); err != nil {
			return err
		}
		close(stop)
		wg.Wait()
		fmt.Printf("  peak RSS %d MiB; the neighbour's slowest SET+GET %v\n", peak.Load()>>20, time.Duration(slowest.Load()).Round(time.Millisecond))
		for _, after := range []time.Duration{0, 2 * time.Second, 8 * time.Second, 20 * time.Second} {
			time.Sleep(after)
			fmt.Printf("  RSS %v after the sessions ended: %d MiB\n", after, rss(pid)>>20)
		}
	}
	return nil
}

// login opens a session for a tenant.
func login(addr, tenant string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c, "AUTH %s %s-repro-secret-0123456789\r\n", tenant, tenant)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "+OK\r\n" {
		c.Close()
		return nil, fmt.Errorf("login %s: %q %v", tenant, line, err)
	}
	return c, nil
}

// flood writes unit repeatedly, reading nothing, until total bytes are
// written or the gateway takes nothing for 2 s; it returns what was taken.
func flood(c net.Conn, unit string, total int) int {
	chunk := []byte(strings.Repeat(unit, max(1, (64<<10)/len(unit))))
	n := 0
	for n < total {
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		m, err := c.Write(chunk[:min(len(chunk), total-n)])
		n += m
		if err != nil {
			break
		}
	}
	return n
}

// neighbour is another tenant doing SET and GET every 100 ms.
func neighbour(addr string, slowest *atomic.Int64, stop chan struct{}) {
	c, err := login(addr, "carol")
	if err != nil {
		fmt.Println("  neighbour:", err)
		return
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		select {
		case <-stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		start := time.Now()
		c.SetDeadline(start.Add(10 * time.Second))
		c.Write([]byte("SET k v\r\nGET k\r\n"))
		a, err1 := r.ReadString('\n')
		_, err2 := r.ReadString('\n')
		b, err3 := r.ReadString('\n')
		if err1 != nil || err2 != nil || err3 != nil || a != "+OK\r\n" || b != "v\r\n" {
			fmt.Println("  neighbour failed:", a, b, err1, err2, err3)
			return
		}
		if d := int64(time.Since(start)); d > slowest.Load() {
			slowest.Store(d)
		}
	}
}

func sampleRSS(pid int, peak *atomic.Int64, stop chan struct{}) {
	for {
		if r := rss(pid); r > peak.Load() {
			peak.Store(r)
		}
		select {
		case <-stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// rss reads VmRSS from /proc.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}
