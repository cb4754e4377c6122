package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// readRedis reads every *.json file of a Redis src/commands directory. Each
// holds one object {"NAME": {...}}; subcommands name their "container".
// Sentinel-only commands are dropped: redis-server does not register them.
func readRedis(dir string) ([]entry, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.json files in %s", dir)
	}
	var out []entry
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var doc map[string]entry
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for name, e := range doc {
			if slices.Contains(e.Flags, "ONLY_SENTINEL") {
				continue
			}
			e.Name = strings.ToLower(name)
			if e.Container != "" {
				e.Container = strings.ToLower(e.Container)
				e.Name = e.Container + "|" + e.Name
			}
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.Name, b.Name) })
	return out, check(out)
}

// check rejects metadata the table cannot represent faithfully.
func check(entries []entry) error {
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.Name] {
			return fmt.Errorf("%s: duplicate command", e.Name)
		}
		seen[e.Name] = true
	}
	for _, e := range entries {
		if e.Container != "" && !seen[e.Container] {
			return fmt.Errorf("%s: unknown container %q", e.Name, e.Container)
		}
		for _, ks := range e.KeySpecs {
			bs, fk := ks.BeginSearch, ks.FindKeys
			if bs.Index != nil && bs.Keyword != nil || fk.Range != nil && fk.KeyNum != nil {
				return fmt.Errorf("%s: key spec with two kinds", e.Name)
			}
		}
	}
	return nil
}

// writeExtract writes entries as a JSON array, one command per line.
func writeExtract(path string, entries []entry) error {
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, e := range entries {
		line, err := json.Marshal(e)
		if err != nil {
			return err
		}
		b.Write(line)
		if i < len(entries)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func readExtract(path string) ([]entry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var entries []entry
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return entries, check(entries)
}
