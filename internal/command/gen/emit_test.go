package main

import (
	"bytes"
	"os"
	"testing"
)

// TestTableUpToDate fails when table_gen.go was edited by hand or the
// extract changed without regenerating.
func TestTableUpToDate(t *testing.T) {
	entries, err := readExtract("commands.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := render(entries)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../table_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("table_gen.go is stale: run go generate ./internal/command")
	}
}

func TestLegacyRange(t *testing.T) {
	rng := func(pos, last, step int, flags ...string) keySpec {
		var ks keySpec
		ks.Flags = flags
		ks.BeginSearch.Index = &struct {
			Pos int `json:"pos"`
		}{pos}
		ks.FindKeys.Range = &struct {
			LastKey int `json:"lastkey"`
			Step    int `json:"step"`
			Limit   int `json:"limit"`
		}{last, step, 0}
		return ks
	}
	var unknown keySpec
	tests := []struct {
		desc              string
		specs             []keySpec
		first, last, step int
		movable           bool
	}{
		{desc: "no keys", specs: nil},
		{desc: "one key", specs: []keySpec{rng(1, 0, 1)}, first: 1, last: 1, step: 1},
		{desc: "mset pairs", specs: []keySpec{rng(1, -1, 2)}, first: 1, last: -1, step: 2},
		{desc: "consecutive specs merge", specs: []keySpec{rng(1, 0, 1), rng(2, 0, 1)}, first: 1, last: 2, step: 1},
		{desc: "negative last wins unsigned", specs: []keySpec{rng(1, 0, 1), rng(2, -1, 1)}, first: 1, last: -1, step: 1},
		{desc: "unknown spec is movable", specs: []keySpec{rng(1, 0, 1), unknown}, first: 1, last: 1, step: 1, movable: true},
		{desc: "only unknown", specs: []keySpec{unknown}, movable: true},
		{desc: "incomplete single", specs: []keySpec{rng(3, 0, 1, "INCOMPLETE")}, first: 3, last: 3, step: 1, movable: true},
		{desc: "gap is movable", specs: []keySpec{rng(1, 0, 1), rng(3, 0, 1)}, first: 1, last: 1, step: 1, movable: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			f, l, s, m := legacyRange(tc.specs)
			if f != tc.first || l != tc.last || s != tc.step || m != tc.movable {
				t.Errorf("got %d %d %d %v, want %d %d %d %v", f, l, s, m, tc.first, tc.last, tc.step, tc.movable)
			}
		})
	}
}
