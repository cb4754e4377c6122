package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Instance is the broker's record of one service instance. Its tenant
// and the bindings' credentials live in the store; this record keeps what
// the store does not: the plan, the parameters, and the ElastiCache
// operation in flight.
type Instance struct {
	ID        string          `json:"id"`
	ServiceID string          `json:"service_id"`
	PlanID    string          `json:"plan_id"`
	Kind      string          `json:"kind"`
	Org       string          `json:"organization_guid,omitempty"`
	Space     string          `json:"space_guid,omitempty"`
	Params    json.RawMessage `json:"parameters,omitempty"` // canonical JSON (sorted keys)
	Tenant    string          `json:"tenant"`
	Upstream  string          `json:"upstream"`
	DB        int             `json:"db"`
	CreatedAt time.Time       `json:"created_at"`

	// elasticache
	GroupID    string `json:"replication_group_id,omitempty"`
	ParamGroup string `json:"cache_parameter_group,omitempty"`
	Address    string `json:"address,omitempty"` // primary endpoint once available
	Ready      bool   `json:"ready"`             // tenant created, bindable
	Op         string `json:"operation,omitempty"`
	OpState    string `json:"operation_state,omitempty"`
	OpDesc     string `json:"operation_description,omitempty"`

	Bindings map[string]Binding `json:"bindings,omitempty"`
}

// Binding is one binding: a credential of the instance's tenant whose ID
// is the binding ID. Its secret is not kept anywhere.
type Binding struct {
	ID        string          `json:"id"`
	Params    json.RawMessage `json:"parameters,omitempty"`
	AppGUID   string          `json:"app_guid,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	ExpiresAt time.Time       `json:"expires_at,omitzero"`
}

// State keeps instance records in a bbolt file, with a copy in memory for
// reads. Writers hold the broker's lock; State's own lock guards the map
// for the source's Load, which runs on the control plane's goroutine.
type State struct {
	db *bolt.DB
	mu sync.RWMutex
	m  map[string]Instance
}

var bucket = []byte("instances")

// OpenState opens (or creates) the state file.
func OpenState(path string) (*State, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("broker state %s: locked by another process", path)
		}
		return nil, fmt.Errorf("broker state %s: %w", path, err)
	}
	s := &State{db: db, m: map[string]Instance{}}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			var in Instance
			if err := json.Unmarshal(v, &in); err != nil {
				return fmt.Errorf("instance %q: %w", k, err)
			}
			s.m[string(k)] = in
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("broker state %s: %w", path, err)
	}
	return s, nil
}

// Close closes the file.
func (s *State) Close() error { return s.db.Close() }

// Get returns a copy of an instance record.
func (s *State) Get(id string) (Instance, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	in, ok := s.m[id]
	if ok {
		in.Bindings = cloneBindings(in.Bindings)
	}
	return in, ok
}

// All returns every record, sorted by ID.
func (s *State) All() []Instance {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Instance, 0, len(s.m))
	for _, in := range s.m {
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Put writes a record (file first, then memory).
func (s *State) Put(in Instance) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("broker state: %w", err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(in.ID), b) }); err != nil {
		return fmt.Errorf("broker state: write instance %s: %w", in.ID, err)
	}
	in.Bindings = cloneBindings(in.Bindings)
	s.mu.Lock()
	s.m[in.ID] = in
	s.mu.Unlock()
	return nil
}

// Delete removes a record.
func (s *State) Delete(id string) error {
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Delete([]byte(id)) }); err != nil {
		return fmt.Errorf("broker state: delete instance %s: %w", id, err)
	}
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
	return nil
}

func cloneBindings(m map[string]Binding) map[string]Binding {
	if m == nil {
		return nil
	}
	out := make(map[string]Binding, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
