package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// setupCase is one kind of session opened and closed in a loop.
type setupCase struct {
	Name   string // e.g. redoubt-pt/static
	Target *target
	Auth   string // "" for no AUTH
	Method string // none | static | token
}

// setupRun is one timed loop of a setupCase.
type setupRun struct {
	Round    int     `json:"round"`
	Case     string  `json:"case"`
	Target   string  `json:"target"`
	Method   string  `json:"method"`
	Sessions int64   `json:"sessions"`
	Errors   int64   `json:"errors"`
	FirstErr string  `json:"first_error,omitempty"`
	Seconds  float64 `json:"seconds"`
	PerSec   float64 `json:"per_second"`
	ProxyCPU float64 `json:"proxy_cpu_s"`
	RedisCPU float64 `json:"redis_cpu_s"`
}

// measureSetup runs workers that each loop: connect, AUTH, PING, close.
func measureSetup(c setupCase, redis *proc, workers int, d time.Duration) setupRun {
	r := setupRun{Case: c.Name, Target: c.Target.Name, Method: c.Method}
	var auth []byte
	if c.Auth != "" {
		auth = fmt.Appendf(nil, "*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n", len(c.Auth), c.Auth)
	}
	p0, r0 := int64(0), cpuTicks(redis.pid())
	if c.Target.Proc != nil {
		p0 = cpuTicks(c.Target.Proc.pid())
	}
	var ok, errs atomic.Int64
	var first sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256)
			for time.Now().Before(deadline) {
				if err := oneSession(c.Target.Addr, auth, buf); err != nil {
					errs.Add(1)
					first.Do(func() { r.FirstErr = err.Error() })
					time.Sleep(time.Millisecond)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	r.Seconds = time.Since(start).Seconds()
	if c.Target.Proc != nil {
		r.ProxyCPU = float64(cpuTicks(c.Target.Proc.pid())-p0) / userHZ
	}
	r.RedisCPU = float64(cpuTicks(redis.pid())-r0) / userHZ
	r.Sessions, r.Errors = ok.Load(), errs.Load()
	r.PerSec = float64(r.Sessions) / r.Seconds
	return r
}

var (
	pingCmd  = []byte("*1\r\n$4\r\nPING\r\n")
	okReply  = []byte("+OK\r\n")
	pongRepl = []byte("+PONG\r\n")
)

func oneSession(addr string, auth, buf []byte) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if auth != nil {
		if err := exchange(c, auth, okReply, buf); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := exchange(c, pingCmd, pongRepl, buf); err != nil {
		return fmt.Errorf("PING: %w", err)
	}
	return nil
}

// exchange writes req and reads exactly the expected reply.
func exchange(c net.Conn, req, want, buf []byte) error {
	if _, err := c.Write(req); err != nil {
		return err
	}
	n := 0
	for n < len(want) {
		m, err := c.Read(buf[n:])
		n += m
		if n > 0 && !bytes.HasPrefix(want, buf[:min(n, len(want))]) {
			return fmt.Errorf("reply %q", buf[:n])
		}
		if err != nil {
			return err
		}
	}
	if n != len(want) {
		return errors.New("trailing bytes in reply")
	}
	return nil
}
