package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"
)

// TestSchema pins the field names: they are the audit log's contract
// (docs/audit.md). Renaming one breaks every consumer.
func TestSchema(t *testing.T) {
	want := []string{"bytes_in", "bytes_out", "code", "command", "credential_id", "duration_seconds", "event",
		"method", "reason", "session_id", "source", "subject", "success", "tenant", "time", "upstream"}
	var got []string
	rt := reflect.TypeOf(Event{})
	for i := range rt.NumField() {
		name, _, _ := bytesCut(rt.Field(i).Tag.Get("json"))
		got = append(got, name)
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	for ev, code := range Codes {
		if ev == "" || code == "" {
			t.Errorf("empty event or code: %q %q", ev, code)
		}
	}
}

func bytesCut(tag string) (string, string, bool) {
	for i := range len(tag) {
		if tag[i] == ',' {
			return tag[:i], tag[i+1:], true
		}
	}
	return tag, "", false
}

func TestWriterLines(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, nil)
	at := time.Date(2026, 11, 30, 6, 0, 0, 0, time.FixedZone("x", 3600))
	w.Write(Event{Time: at, Event: "auth_fail", SessionID: 3, Source: "10.0.0.1:5000", Reason: "unknown credential"})
	w.Write(Event{Event: "command_denied", Tenant: "alice", Command: "flushall", Reason: "isolation"})
	var lines []map[string]any
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	first := lines[0]
	if first["code"] != "AUTH_FAILED" || first["time"] != "2026-11-30T05:00:00Z" || first["success"] != false || first["session_id"] != 3.0 {
		t.Errorf("first line %v", first)
	}
	if _, ok := first["tenant"]; ok {
		t.Errorf("empty tenant written: %v", first)
	}
	if lines[1]["code"] != "COMMAND_DENIED" || lines[1]["command"] != "flushall" || lines[1]["time"] == "" {
		t.Errorf("second line %v", lines[1])
	}
}

// TestConcurrentWritesStayWholeLines: sessions write at once; no line may
// interleave with another.
func TestConcurrentWritesStayWholeLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	w, err := Open(path, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				w.Write(Event{Event: "session_end", SessionID: uint64(g*1000 + i), Tenant: "tenant-with-a-longish-name", Success: true})
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("audit file mode %v, want 0600", fi.Mode().Perm())
	}
	f, _ := os.Open(path)
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d %q: %v", n, sc.Text(), err)
		}
		n++
	}
	if n != 1600 {
		t.Errorf("%d lines, want 1600", n)
	}
}
