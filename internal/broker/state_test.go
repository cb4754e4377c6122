package broker

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Records survive a restart; a second process cannot open the same file.
func TestStatePersistsAndLocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broker.db")
	s, err := OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	in := Instance{ID: "i", PlanID: "p", Kind: "shared", Tenant: "osb-i", Upstream: "main", DB: 4,
		Bindings: map[string]Binding{"b": {ID: "b", CreatedAt: time.Unix(1, 0).UTC()}}}
	if err := s.Put(in); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenState(path); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("second open: %v", err)
	}
	got, _ := s.Get("i")
	got.Bindings["x"] = Binding{ID: "x"} // a copy: the record is not changed
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	back, ok := s.Get("i")
	if !ok || back.DB != 4 || len(back.Bindings) != 1 || back.Bindings["b"].CreatedAt != time.Unix(1, 0).UTC() {
		t.Fatalf("after reopen: %+v", back)
	}
}
