package asl

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// run is the state of one execution while it runs.
type run struct {
	ex    *Executor
	x     *Execution
	input any
	start time.Time
}

func (r *run) record(ev Event) { r.x.record(r.ex, ev) }

// aborted is the error a state reports when the run is being stopped.
func aborted() *stateErr {
	return &stateErr{aborted: true, name: "States.Aborted", cause: "execution stopped"}
}

func (r *run) finish(ctx context.Context, out any, serr *stateErr) {
	ev := Event{}
	x := r.x
	x.mu.Lock()
	switch cause := context.Cause(ctx); {
	case serr == nil:
		x.status, x.output = StatusSucceeded, encodeJSON(out)
		ev = Event{Type: EventExecutionSucceeded, Output: x.output}
	case serr.aborted && errors.Is(cause, errExecutionTimeout):
		x.status, x.errName = StatusTimedOut, ErrorTimeout
		x.cause = fmt.Sprintf("Execution timed out after %d seconds", r.ex.m.TimeoutSeconds)
		ev = Event{Type: EventExecutionTimedOut}
	case serr.aborted:
		x.status = StatusAborted
		var sc *stopCause
		if errors.As(cause, &sc) {
			x.errName, x.cause = sc.name, sc.cause
		}
		ev = Event{Type: EventExecutionAborted}
	default:
		x.status, x.errName, x.cause = StatusFailed, serr.name, serr.cause
		ev = Event{Type: EventExecutionFailed}
	}
	ev.Error, ev.Cause = x.errName, x.cause
	x.mu.Unlock()
	r.record(ev)
	close(x.done)
}

// runGraph runs states from g.StartAt until one ends the graph.
func (r *run) runGraph(ctx context.Context, g *Graph, input any, scope string) (any, *stateErr) {
	name := g.StartAt
	for {
		if ctx.Err() != nil {
			return nil, aborted()
		}
		s := g.States[name]
		out, next, err := r.runState(ctx, s, input, scope)
		if err != nil {
			return nil, err
		}
		if next == "" {
			return out, nil
		}
		name, input = next, out
	}
}

func (r *run) runState(ctx context.Context, s *State, input any, scope string) (any, string, *stateErr) {
	sc := &stateCtx{name: s.Name, entered: r.ex.clock.Now()}
	in := encodeJSON(input)
	r.record(Event{Type: EventStateEntered, Scope: scope, State: s.Name, Input: in, Time: sc.entered})
	if len(in) > maxPayload {
		return nil, "", newErr(ErrorDataLimitExceeded, "The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", s.Name)
	}
	var (
		out  any
		next = s.Next
		err  *stateErr
	)
	switch s.Type {
	case TypePass:
		out, err = r.pass(s, input, sc)
	case TypeTask:
		out, next, err = r.task(ctx, s, input, sc, scope)
	case TypeChoice:
		out, next, err = r.choice(s, input, sc, scope)
	case TypeWait:
		out, err = r.wait(ctx, s, input, sc, scope)
	case TypeSucceed:
		out, err = r.succeed(s, input)
		next = ""
	case TypeFail:
		return nil, "", r.fail(s, input, sc)
	case TypeParallel:
		out, next, err = r.parallel(ctx, s, input, sc, scope)
	case TypeMap:
		out, next, err = r.mapState(ctx, s, input, sc, scope)
	}
	if err != nil {
		return nil, "", err
	}
	b := encodeJSON(out)
	if len(b) > maxPayload {
		return nil, "", newErr(ErrorDataLimitExceeded, "The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", s.Name)
	}
	r.record(Event{Type: EventStateExited, Scope: scope, State: s.Name, Output: b, Next: next})
	return out, next, nil
}

// inputPath applies InputPath: null gives {}.
func inputPath(s *State, input any) (any, *stateErr) {
	return selectIO(s.inputPath, input, "InputPath")
}

// outputPath applies OutputPath: null gives {}.
func outputPath(s *State, v any) (any, *stateErr) {
	return selectIO(s.outputPath, v, "OutputPath")
}

func selectIO(p ioPath, v any, field string) (any, *stateErr) {
	switch {
	case p.null:
		return map[string]any{}, nil
	case p.p == nil:
		return v, nil
	}
	out, ok := p.p.eval(v, nil)
	if !ok {
		return nil, newErr(ErrorRuntime, "Invalid path '%s' : No results for path: %s", p.p.src, field)
	}
	return out, nil
}

// resultPath combines the state's raw input with its result: null keeps the
// input, "$" (the default) keeps the result, a reference path inserts the
// result into a copy of the input.
func resultPath(p ioPath, rawInput, result any) (any, *stateErr) {
	switch {
	case p.null:
		return rawInput, nil
	case p.p == nil:
		return result, nil
	}
	out, err := p.p.set(rawInput, result)
	if err != nil {
		return nil, newErr(ErrorResultPathMatch, "Unable to apply ResultPath %s: %v", p.p.src, err)
	}
	return out, nil
}

// finishOutput applies ResultSelector, ResultPath and OutputPath to a result.
func finishOutput(s *State, rawInput, result, ctxObj any) (any, *stateErr) {
	if s.resultSelector != nil {
		v, err := s.resultSelector.eval(result, ctxObj)
		if err != nil {
			return nil, err
		}
		result = v
	}
	out, err := resultPath(s.resultPath, rawInput, result)
	if err != nil {
		return nil, err
	}
	return outputPath(s, out)
}

func (r *run) pass(s *State, input any, sc *stateCtx) (any, *stateErr) {
	eff, err := inputPath(s, input)
	if err != nil {
		return nil, err
	}
	if s.params != nil {
		if eff, err = s.params.eval(eff, r.contextObject(sc)); err != nil {
			return nil, err
		}
	}
	if s.hasResult {
		eff = s.result
	}
	out, err := resultPath(s.resultPath, input, eff)
	if err != nil {
		return nil, err
	}
	return outputPath(s, out)
}

func (r *run) succeed(s *State, input any) (any, *stateErr) {
	eff, err := inputPath(s, input)
	if err != nil {
		return nil, err
	}
	return outputPath(s, eff)
}

func (r *run) choice(s *State, input any, sc *stateCtx, scope string) (any, string, *stateErr) {
	eff, err := inputPath(s, input)
	if err != nil {
		return nil, "", err
	}
	ctxObj := r.contextObject(sc)
	next := ""
	for _, rule := range s.rules {
		ok, err := rule.eval(eff, ctxObj)
		if err != nil {
			return nil, "", err
		}
		if ok {
			next = rule.next
			break
		}
	}
	if next == "" {
		next = s.Default
	}
	if next == "" {
		return nil, "", newErr(ErrorNoChoiceMatched, "No Matches!")
	}
	r.record(Event{Type: EventChoice, Scope: scope, State: s.Name, Next: next})
	out, err := outputPath(s, eff)
	return out, next, err
}

func (r *run) wait(ctx context.Context, s *State, input any, sc *stateCtx, scope string) (any, *stateErr) {
	eff, err := inputPath(s, input)
	if err != nil {
		return nil, err
	}
	var d time.Duration
	switch {
	case s.hasSeconds:
		d = time.Duration(s.seconds) * time.Second
	case s.secondsPath != nil:
		v, ok := s.secondsPath.eval(eff, nil)
		n, isInt := toInt(v)
		if !ok || !isInt || n < 0 {
			return nil, newErr(ErrorRuntime, "The SecondsPath parameter does not reference a valid non-negative integer: %s", s.secondsPath.src)
		}
		d = time.Duration(n) * time.Second
	default:
		ts := s.timestamp
		if s.timestampPath != nil {
			v, ok := s.timestampPath.eval(eff, nil)
			str, isStr := v.(string)
			if !ok || !isStr {
				return nil, newErr(ErrorRuntime, "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s", s.timestampPath.src)
			}
			ts = str
		}
		t, ok := parseTimestamp(ts)
		if !ok {
			return nil, newErr(ErrorRuntime, "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %q", ts)
		}
		d = max(t.Sub(r.ex.clock.Now()), 0)
	}
	r.record(Event{Type: EventWait, Scope: scope, State: s.Name, Wait: d})
	if err := r.ex.clock.Sleep(ctx, d); err != nil {
		return nil, aborted()
	}
	return outputPath(s, eff)
}

func (r *run) fail(s *State, input any, sc *stateCtx) *stateErr {
	e := &stateErr{name: s.errorName, cause: s.cause}
	ctxObj := r.contextObject(sc)
	for _, f := range []struct {
		field string
		p     *path
		c     *intrinsic
		dst   *string
	}{{"ErrorPath", s.errorPath, s.errorCall, &e.name}, {"CausePath", s.causePath, s.causeCall, &e.cause}} {
		if f.p == nil && f.c == nil {
			continue
		}
		v, err := evalExpr(f.p, f.c, input, ctxObj, f.field)
		if err != nil {
			return err
		}
		str, ok := v.(string)
		if !ok {
			return newErr(ErrorRuntime, "The %s of state %q must resolve to a string, got %s", f.field, s.Name, typeName(v))
		}
		*f.dst = str
	}
	return e
}

// withRetry runs attempt, applying the state's Retriers and Catchers.
// Retriers keep separate attempt counts; the first Retrier whose
// ErrorEquals matches decides, and once it is exhausted the Catchers apply.
func (r *run) withRetry(ctx context.Context, s *State, rawInput any, sc *stateCtx, scope string,
	attempt func() (any, *stateErr)) (any, string, *stateErr) {
	counts := make([]int, len(s.Retry))
	for {
		out, err := attempt()
		if err == nil {
			return out, s.Next, nil
		}
		if err.terminal() {
			return nil, "", err
		}
		retry := -1
		for i, rt := range s.Retry {
			if err.matches(rt.ErrorEquals) {
				if counts[i] < rt.MaxAttempts {
					retry = i
				}
				break
			}
		}
		if retry >= 0 {
			delay := backoff(s.Retry[retry], counts[retry])
			counts[retry]++
			sc.retryCount++
			r.record(Event{Type: EventRetry, Scope: scope, State: s.Name, Error: err.name, Cause: err.cause,
				Wait: delay, Attempt: sc.retryCount})
			if r.ex.clock.Sleep(ctx, delay) != nil {
				return nil, "", aborted()
			}
			continue
		}
		for _, c := range s.Catch {
			if !err.matches(c.ErrorEquals) {
				continue
			}
			out, perr := resultPath(c.resultPath, rawInput, map[string]any{"Error": err.name, "Cause": err.cause})
			if perr != nil {
				return nil, "", perr
			}
			r.record(Event{Type: EventCaught, Scope: scope, State: s.Name, Error: err.name, Cause: err.cause, Next: c.Next})
			return out, c.Next, nil
		}
		return nil, "", err
	}
}

func (r *run) parallel(ctx context.Context, s *State, input any, sc *stateCtx, scope string) (any, string, *stateErr) {
	eff, err := inputPath(s, input)
	if err != nil {
		return nil, "", err
	}
	return r.withRetry(ctx, s, input, sc, scope, func() (any, *stateErr) {
		ctxObj := r.contextObject(sc)
		branchIn := eff
		if s.params != nil {
			v, err := s.params.eval(eff, ctxObj)
			if err != nil {
				return nil, err
			}
			branchIn = v
		}
		results, err := r.fanOut(ctx, len(s.Branches), 0, func(ctx context.Context, i int) (any, *stateErr) {
			return r.runGraph(ctx, s.Branches[i], branchIn, subScope(scope, s.Name, i))
		})
		if err != nil {
			return nil, err
		}
		return finishOutput(s, input, results, ctxObj)
	})
}

func (r *run) mapState(ctx context.Context, s *State, input any, sc *stateCtx, scope string) (any, string, *stateErr) {
	eff, err := inputPath(s, input)
	if err != nil {
		return nil, "", err
	}
	return r.withRetry(ctx, s, input, sc, scope, func() (any, *stateErr) {
		itemsV := eff
		if s.itemsPath != nil {
			v, ok := s.itemsPath.eval(eff, nil)
			if !ok {
				return nil, newErr(ErrorRuntime, "Invalid path '%s' : No results for path: ItemsPath", s.itemsPath.src)
			}
			itemsV = v
		}
		items, ok := itemsV.([]any)
		if !ok {
			return nil, newErr(ErrorRuntime, "Map state %q: ItemsPath must select an array, got %s", s.Name, typeName(itemsV))
		}
		inputs := make([]any, len(items))
		for i, item := range items {
			inputs[i] = item
			if s.params != nil {
				isc := *sc
				isc.mapItem = &mapItem{index: i, value: item}
				v, err := s.params.eval(eff, r.contextObject(&isc))
				if err != nil {
					return nil, err
				}
				inputs[i] = v
			}
		}
		results, err := r.fanOut(ctx, len(items), s.maxConcurrency, func(ctx context.Context, i int) (any, *stateErr) {
			return r.runGraph(ctx, s.Branches[0], inputs[i], subScope(scope, s.Name, i))
		})
		if err != nil {
			return nil, err
		}
		return finishOutput(s, input, results, r.contextObject(sc))
	})
}

func subScope(scope, name string, i int) string {
	s := name + "[" + strconv.Itoa(i) + "]"
	if scope == "" {
		return s
	}
	return scope + "/" + s
}

// fanOut runs fn for 0..n-1 with at most limit running at once (0: no
// limit) and returns the results in index order. The first failure stops
// the others and is returned.
func (r *run) fanOut(ctx context.Context, n, limit int, fn func(context.Context, int) (any, *stateErr)) ([]any, *stateErr) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if limit <= 0 || limit > n {
		limit = n
	}
	results := make([]any, n)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr *stateErr
	)
	sem := make(chan struct{}, max(limit, 1))
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			v, err := fn(ctx, i)
			if err != nil {
				mu.Lock()
				if firstErr == nil && !err.aborted {
					firstErr = err
				}
				mu.Unlock()
				cancel()
				return
			}
			results[i] = v
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if ctx.Err() != nil {
		return nil, aborted()
	}
	return results, nil
}
