package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/resp"
)

// local is the laptop companion: it listens on a local port and logs every
// connection in to a remote redoubt with the developer's token, so plain
// `redis-cli -p 6379` works without a password on the command line.
func newLocalCmd(stderr io.Writer) *cobra.Command {
	var remote, tok, listen, caFile, serverName string
	var plain bool
	cmd := &cobra.Command{
		Use:   "local --remote HOST:PORT --token TOKEN [--listen ADDR] [--ca FILE]",
		Short: "Listen locally and log connections in to a remote redoubt with a token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tok == "" {
				tok = os.Getenv("REDOUBT_TOKEN")
			}
			if tok == "" {
				return configErr(errors.New("--token (or REDOUBT_TOKEN) is required"))
			}
			var tc *tls.Config
			if !plain {
				host, _, err := net.SplitHostPort(remote)
				if err != nil {
					return configErr(fmt.Errorf("--remote: %w", err))
				}
				tc = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
				if serverName != "" {
					tc.ServerName = serverName
				}
				if caFile != "" {
					pool, err := config.LoadCertPool(caFile)
					if err != nil {
						return configErr(fmt.Errorf("--ca: %w", err))
					}
					tc.RootCAs = pool
				}
			}
			l, err := net.Listen("tcp", listen)
			if err != nil {
				return runtimeErr(err)
			}
			log := slog.New(slog.NewTextHandler(stderr, nil))
			log.Info("redoubt local listening", "address", l.Addr().String(), "remote", remote, "tls", !plain)
			ctx := cmd.Context()
			go func() { <-ctx.Done(); l.Close() }()
			return localServe(ctx, l, remote, tok, tc, log)
		},
	}
	f := cmd.Flags()
	f.StringVar(&remote, "remote", "", "the redoubt listener HOST:PORT")
	f.StringVar(&tok, "token", "", "your token (or set REDOUBT_TOKEN)")
	f.StringVar(&listen, "listen", "127.0.0.1:6379", "local address to listen on")
	f.StringVar(&caFile, "ca", "", "CA file that signed the remote's certificate (default: system roots)")
	f.StringVar(&serverName, "server-name", "", "expected name in the remote's certificate (default: the remote host)")
	f.BoolVar(&plain, "plaintext", false, "connect without TLS (only for a remote on a trusted network)")
	_ = cmd.MarkFlagRequired("remote")
	return cmd
}

func localServe(ctx context.Context, l net.Listener, remote, tok string, tc *tls.Config, log *slog.Logger) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return runtimeErr(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			if err := localRelay(ctx, c, remote, tok, tc); err != nil {
				log.Warn("connection", "client", c.RemoteAddr().String(), "err", err)
			}
		}()
	}
}

func localRelay(ctx context.Context, c net.Conn, remote, tok string, tc *tls.Config) error {
	d := net.Dialer{Timeout: 10 * time.Second}
	var up net.Conn
	var err error
	if tc != nil {
		up, err = (&tls.Dialer{NetDialer: &d, Config: tc}).DialContext(ctx, "tcp", remote)
	} else {
		up, err = d.DialContext(ctx, "tcp", remote)
	}
	if err != nil {
		c.Write([]byte("-ERR redoubt local: cannot reach the remote gateway\r\n"))
		return fmt.Errorf("dial %s: %w", remote, err)
	}
	defer up.Close()
	if _, err := up.Write(resp.AppendCommand(nil, "AUTH", tok)); err != nil {
		return err
	}
	br := bufio.NewReader(up)
	_ = up.SetReadDeadline(time.Now().Add(15 * time.Second))
	line, err := br.ReadString('\n')
	if err != nil {
		return fmt.Errorf("login reply: %w", err)
	}
	_ = up.SetReadDeadline(time.Time{})
	if !strings.HasPrefix(line, "+OK") {
		c.Write([]byte(line))
		return fmt.Errorf("remote refused the token: %s", strings.TrimSpace(line))
	}
	done := make(chan struct{})
	go func() {
		io.Copy(c, br)
		c.Close()
		close(done)
	}()
	io.Copy(up, c)
	up.Close()
	<-done
	return nil
}
