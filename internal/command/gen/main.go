// Command gen writes table_gen.go, the command table, from Redis's command
// metadata.
//
// Regenerate the table from the checked-in extract (what go generate does):
//
//	go run ./gen -in gen/commands.json -out table_gen.go
//
// Refresh the extract from a Redis source tree first (its src/commands
// directory of per-command JSON files), then regenerate:
//
//	go run ./gen -redis /path/to/redis/src/commands -extract gen/commands.json \
//	    -in gen/commands.json -out table_gen.go
//
// The extract keeps only the fields the table uses, one command per line,
// so a Redis upgrade shows up as a readable diff and no Redis source file
// is checked in.
package main

import (
	"flag"
	"fmt"
	"os"
)

// entry is one command in Redis's metadata format, reduced to what we use.
// The same struct reads Redis's files and our extract.
type entry struct {
	Name      string    `json:"name"` // lowercase full name: "client|list"
	Container string    `json:"container,omitempty"`
	Group     string    `json:"group"`
	Since     string    `json:"since"`
	Arity     int       `json:"arity"`
	Flags     []string  `json:"command_flags,omitempty"`
	ACL       []string  `json:"acl_categories,omitempty"`
	KeySpecs  []keySpec `json:"key_specs,omitempty"`
}

type keySpec struct {
	Flags       []string `json:"flags"`
	BeginSearch struct {
		Index *struct {
			Pos int `json:"pos"`
		} `json:"index,omitempty"`
		Keyword *struct {
			Keyword   string `json:"keyword"`
			StartFrom int    `json:"startfrom"`
		} `json:"keyword,omitempty"`
	} `json:"begin_search"`
	FindKeys struct {
		Range *struct {
			LastKey int `json:"lastkey"`
			Step    int `json:"step"`
			Limit   int `json:"limit"`
		} `json:"range,omitempty"`
		KeyNum *struct {
			KeyNumIdx int `json:"keynumidx"`
			FirstKey  int `json:"firstkey"`
			Step      int `json:"step"`
		} `json:"keynum,omitempty"`
	} `json:"find_keys"`
}

func main() {
	redisDir := flag.String("redis", "", "Redis src/commands directory to extract from (optional)")
	extract := flag.String("extract", "", "write the extract of -redis here")
	in := flag.String("in", "", "extract to generate the table from")
	out := flag.String("out", "", "Go file to write")
	flag.Parse()
	if err := run(*redisDir, *extract, *in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(redisDir, extract, in, out string) error {
	if redisDir != "" {
		if extract == "" {
			return fmt.Errorf("-redis needs -extract")
		}
		entries, err := readRedis(redisDir)
		if err != nil {
			return err
		}
		if err := writeExtract(extract, entries); err != nil {
			return err
		}
	}
	if in == "" || out == "" {
		if redisDir != "" {
			return nil
		}
		return fmt.Errorf("need -in and -out (and/or -redis with -extract)")
	}
	entries, err := readExtract(in)
	if err != nil {
		return err
	}
	src, err := render(entries)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
