package control

// Each calls f for every connection this replica holds, with its current
// channels and owner (presence counts them). f runs under the registry's
// read lock: it must not call back into the registry.
func (r *Registry) Each(f func(channels []string, owner Owner)) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, c := range r.conns {
		f(c.sub.Channels(), c.owner)
	}
}
