package admin

import "sync"

// Other is the label value shared by every tenant (or upstream) past the
// cap: the number of series stays bounded however many tenants exist.
const Other = "_other"

// labelSlots hands out label values: the first max distinct names keep
// their own, later ones get Other. A slot is kept for the process's life,
// so a counter's series never changes label under a running rate().
type labelSlots struct {
	mu    sync.Mutex
	max   int
	names map[string]struct{}
}

func newLabelSlots(max int) *labelSlots {
	return &labelSlots{max: max, names: make(map[string]struct{})}
}

func (l *labelSlots) label(name string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.names[name]; ok {
		return name
	}
	if len(l.names) >= l.max {
		return Other
	}
	l.names[name] = struct{}{}
	return name
}
