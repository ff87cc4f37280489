package cognito

import (
	"sync"
	"sync/atomic"
)

// Stats is a snapshot of the emulator's counters, for tests and benchmarks.
type Stats struct {
	// Calls counts requests per operation, throttled and failed ones included.
	Calls map[string]int64
	// Throttled counts TooManyRequestsException answers per quota category.
	Throttled map[Category]int64
	// Failed counts injected InternalErrorException answers per operation.
	Failed map[string]int64
}

type stats struct {
	calls     sync.Map // string -> *atomic.Int64
	throttled sync.Map // Category -> *atomic.Int64
	failed    sync.Map // string -> *atomic.Int64
}

func incr(m *sync.Map, key any) {
	v, ok := m.Load(key)
	if !ok {
		v, _ = m.LoadOrStore(key, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

// Stats returns a snapshot of the counters.
func (e *Emulator) Stats() Stats {
	s := Stats{Calls: map[string]int64{}, Throttled: map[Category]int64{}, Failed: map[string]int64{}}
	e.stats.calls.Range(func(k, v any) bool { s.Calls[k.(string)] = v.(*atomic.Int64).Load(); return true })
	e.stats.throttled.Range(func(k, v any) bool { s.Throttled[k.(Category)] = v.(*atomic.Int64).Load(); return true })
	e.stats.failed.Range(func(k, v any) bool { s.Failed[k.(string)] = v.(*atomic.Int64).Load(); return true })
	return s
}

// ResetStats sets every counter back to zero.
func (e *Emulator) ResetStats() {
	e.stats.calls.Clear()
	e.stats.throttled.Clear()
	e.stats.failed.Clear()
}
