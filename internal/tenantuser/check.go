package tenantuser

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// escapeProbes are commands a tenant's user must not be able to run, with
// %d standing for another DB than its own. Each is asked of the server
// with ACL DRYRUN, which answers exactly as the ACL check inside a script.
var escapeProbes = [][]string{
	{"SELECT", "%d"},
	{"SWAPDB", "0", "%d"},
	{"MOVE", "k", "%d"},
	{"COPY", "a", "b", "DB", "%d"},
	{"MIGRATE", "127.0.0.1", "1", "k", "%d", "1"},
	{"FLUSHALL"},
	{"CONFIG", "SET", "maxmemory", "0"},
	{"ACL", "SETUSER", "x"},
	{"MODULE", "LOAD", "x"},
	{"SHUTDOWN"},
	{"DEBUG", "SLEEP", "0"},
	{"REPLICAOF", "NO", "ONE"},
	{"SCRIPT", "FLUSH"},
	{"FUNCTION", "FLUSH"},
	{"FUNCTION", "LOAD", "x"},
	{"PUBLISH", "t:another-tenant:x", "m"},
}

// Escapes asks the upstream, through the admin login of admin, which of the
// escape probes user could run, pinned to db: the commands that would let
// a script of that user leave its DB or act on the whole server. An error
// means the answer is unknown (no ACL DRYRUN permission, no such user,
// unreachable).
func Escapes(ctx context.Context, admin *upstream.Target, user string, db int) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	a, err := dialAdmin(ctx, admin)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	other := strconv.Itoa(db + 1)
	if db > 0 {
		other = "0"
	}
	var open []string
	for _, probe := range escapeProbes {
		args := []string{"ACL", "DRYRUN", user}
		for _, p := range probe {
			args = append(args, strings.ReplaceAll(p, "%d", other))
		}
		v, err := a.do(args...)
		if err != nil {
			return nil, err
		}
		switch {
		case isError(v):
			return nil, fmt.Errorf("ACL DRYRUN %s: %s", user, v.Str)
		case string(v.Str) == "OK":
			open = append(open, strings.Join(args[3:], " "))
		}
	}
	return open, nil
}
