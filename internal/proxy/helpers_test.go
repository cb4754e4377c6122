package proxy

// count is the number of connections logging in (tests, metrics).
func (a *admission) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.total
}

// len is the number of keys held (for tests of the memory bound).
func (t *throttle) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.hits)
}
