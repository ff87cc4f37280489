package devstack

import "sync"

// Killer kills a task invocation in the middle of its work, as Lambda does when it ends one:
// once armed, the k-th call of Count runs kill (which cancels the invocation's context). Tests
// wrap a client and Count each call of interest (a ListUsers page served, so a shard is listed
// and not yet written).
type Killer struct {
	mu   sync.Mutex
	n, k int
	kill func()
}

// Arm restarts the count: kill runs at the k-th call of Count from now. Arm(0, nil) disarms.
func (c *Killer) Arm(k int, kill func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n, c.k, c.kill = 0, k, kill
}

// Count counts one call, and kills at the armed one.
func (c *Killer) Count() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n++; c.kill != nil && c.n == c.k {
		c.kill()
	}
}
