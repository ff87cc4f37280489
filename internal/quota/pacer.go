package quota

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/time/rate"
)

// Rates override the default rate of some categories (requests per second). A category not in
// the map paces at its Limits default.
type Rates map[Category]float64

// FromEnv reads one override per category from its EnvName (USER_LIST_RPS, USER_READ_RPS, …).
// It refuses what AWS would not allow: a rate that is not a positive number, or one above the
// default of a category AWS does not raise. Lower a rate when other tools share the account.
func FromEnv(getenv func(string) string) (Rates, error) {
	r := Rates{}
	var errs []string
	for _, c := range Categories() {
		name := EnvName(c)
		v := getenv(name)
		if v == "" {
			continue
		}
		rps, err := strconv.ParseFloat(v, 64)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q is not a number", name, v))
			continue
		}
		if l := Limits[c]; !l.Adjustable && rps > l.RPS {
			errs = append(errs, fmt.Sprintf("%s=%v exceeds the %s quota of %v requests/s, which AWS does not raise", name, rps, c, l.RPS))
			continue
		}
		r[c] = rps
	}
	if err := r.Check(); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("quota settings: %s", strings.Join(errs, "; "))
	}
	return r, nil
}

// Check reports every rate that is not positive or names no category of the table.
func (r Rates) Check() error {
	var errs []string
	for c, rps := range r {
		l, ok := Limits[c]
		switch {
		case !ok:
			errs = append(errs, fmt.Sprintf("%q is not a quota category", c))
		case rps <= 0 || l.RPS <= 0:
			errs = append(errs, fmt.Sprintf("%s=%v must be positive", EnvName(c), rps))
		}
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// Registry hands out the pacers of one process: one limiter per category per Region (and per
// operation for the categories with a per-pool cap), shared by every pacer it gives, so workers
// and workflows running at once stay together under the account's quota.
type Registry struct {
	rates Rates

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// NewRegistry returns a Registry pacing at the defaults with rates' overrides. It panics on rates
// that Check refuses: load them with FromEnv, which reports them as an error.
func NewRegistry(rates Rates) *Registry {
	if err := rates.Check(); err != nil {
		panic(err)
	}
	return &Registry{rates: rates, limiters: map[string]*rate.Limiter{}}
}

var (
	defaultOnce sync.Once
	defaultReg  *Registry
)

// Default is the process's registry at AWS's default rates, for code given no registry.
func Default() *Registry {
	defaultOnce.Do(func() { defaultReg = NewRegistry(nil) })
	return defaultReg
}

// Rate is the rate a category is paced at. A nil Registry is Default().
func (r *Registry) Rate(c Category) float64 {
	if r == nil {
		return Default().Rate(c)
	}
	if v, ok := r.rates[c]; ok {
		return v
	}
	return Limits[c].RPS
}

// limiter spaces calls evenly at rps with no burst. Cognito's quota is a token bucket that starts
// full: by never spending its burst, a caller leaves it as slack that absorbs the jitter of calls
// arriving unevenly, so pacing at the full quota does not get throttled.
func (r *Registry) limiter(key string, rps float64) *rate.Limiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.limiters[key]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(rps), 1)
		r.limiters[key] = l
	}
	return l
}

// Ops is a set of operations checked against the table.
type Ops struct {
	cats map[string]Category
}

// CheckOps returns the set of ops, or an error naming every operation the table does not have.
func CheckOps(ops ...string) (Ops, error) {
	s := Ops{cats: make(map[string]Category, len(ops))}
	var errs []string
	for _, op := range ops {
		c, err := CategoryOf(op)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		s.cats[op] = c
	}
	if len(errs) > 0 {
		return Ops{}, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return s, nil
}

// MustOps is CheckOps for package-level declarations: an operation missing from the table
// panics when the program starts, so it fails loudly in every test rather than running unpaced.
func MustOps(ops ...string) Ops {
	s, err := CheckOps(ops...)
	if err != nil {
		panic(err)
	}
	return s
}

// Pacer waits for the quota of each call. Get one from Registry.Pacer.
type Pacer struct {
	reg    *Registry
	region string
	cats   map[string]Category
	// byOp are the limiters of each operation: its category's, then its per-pool cap's.
	byOp map[string][]*rate.Limiter
}

// Pacer returns the pacer of ops in region. The per-pool cap of the pool-resource categories is
// kept per operation per Region rather than per pool: across several pools that is slower than
// AWS allows, never faster. A nil Registry is Default(), so a component given no registry still
// shares the process's.
func (r *Registry) Pacer(region string, ops Ops) *Pacer {
	if r == nil {
		r = Default()
	}
	p := &Pacer{reg: r, region: region, cats: ops.cats, byOp: make(map[string][]*rate.Limiter, len(ops.cats))}
	for op, c := range ops.cats {
		rps := r.Rate(c)
		ls := []*rate.Limiter{r.limiter(region+"/"+string(c), rps)}
		if capRPS := r.perPoolCap(c); capRPS > 0 {
			ls = append(ls, r.limiter(region+"/"+string(c)+"/"+op, capRPS))
		}
		p.byOp[op] = ls
	}
	return p
}

// Wait blocks until op may be called, or ctx ends. An operation the pacer was not built for is
// an error, never an unpaced call.
func (p *Pacer) Wait(ctx context.Context, op string) error {
	ls, ok := p.byOp[op]
	if !ok {
		return fmt.Errorf("quota: %s was not declared to this pacer", op)
	}
	for _, l := range ls {
		if err := l.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Rate is the rate op is paced at in this pacer: its category's, or its per-pool cap if lower.
// Callers size their concurrency by it. An undeclared op has rate 0.
func (p *Pacer) Rate(op string) float64 {
	c, ok := p.cats[op]
	if !ok {
		return 0
	}
	if capRPS := p.reg.perPoolCap(c); capRPS > 0 {
		return capRPS
	}
	return p.reg.Rate(c)
}

// perPoolCap is the rate of one operation of category c, or 0 when c has no per-pool cap: the cap,
// or the category's rate if lower. A rate set above the default (only tests do: AWS raises none
// of these categories, and FromEnv refuses it) lifts the cap in proportion.
func (r *Registry) perPoolCap(c Category) float64 {
	l := Limits[c]
	if l.PerPoolOperationRPS <= 0 {
		return 0
	}
	rps := r.Rate(c)
	return min(l.PerPoolOperationRPS*max(1, rps/l.RPS), rps)
}
