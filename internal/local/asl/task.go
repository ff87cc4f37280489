package asl

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"sync"
	"time"
)

// backoff returns the wait before retry number n+1 of rt:
// IntervalSeconds × BackoffRate^n, capped at MaxDelaySeconds, and with FULL
// jitter a uniformly random duration up to that.
func backoff(rt Retrier, n int) time.Duration {
	secs := float64(rt.IntervalSeconds) * math.Pow(rt.BackoffRate, float64(n))
	if rt.MaxDelaySeconds > 0 && secs > float64(rt.MaxDelaySeconds) {
		secs = float64(rt.MaxDelaySeconds)
	}
	if rt.JitterStrategy == "FULL" {
		secs *= mrand.Float64()
	}
	return time.Duration(secs * float64(time.Second))
}

func (r *run) task(ctx context.Context, s *State, input any, sc *stateCtx, scope string) (any, string, *stateErr) {
	eff, err := inputPath(s, input)
	if err != nil {
		return nil, "", err
	}
	return r.withRetry(ctx, s, input, sc, scope, func() (any, *stateErr) {
		sc.token = ""
		if s.waitForToken {
			sc.token = newToken()
		}
		ctxObj := r.contextObject(sc)
		params := eff
		if s.params != nil {
			v, err := s.params.eval(eff, ctxObj)
			if err != nil {
				return nil, err
			}
			params = v
		}
		result, err := r.invoke(ctx, s, eff, params, sc.token, scope)
		if err != nil {
			return nil, err
		}
		return finishOutput(s, input, result, ctxObj)
	})
}

// seconds resolves TimeoutSeconds/HeartbeatSeconds or their Path variant.
func seconds(fixed int, p *path, eff any, field string) (time.Duration, *stateErr) {
	if p == nil {
		return time.Duration(fixed) * time.Second, nil
	}
	v, ok := p.eval(eff, nil)
	n, isInt := toInt(v)
	if !ok || !isInt || n <= 0 {
		return 0, newErr(ErrorRuntime, "%s %s does not reference a positive integer", field, p.src)
	}
	return time.Duration(n) * time.Second, nil
}

type taskResult struct {
	out json.RawMessage
	err error
}

// invoke calls the task's function and, for .waitForTaskToken resources,
// waits for the callback, enforcing TimeoutSeconds and HeartbeatSeconds on
// the executor's clock.
func (r *run) invoke(ctx context.Context, s *State, eff, params any, token, scope string) (any, *stateErr) {
	timeout, err := seconds(s.timeoutSeconds, s.timeoutPath, eff, "TimeoutSecondsPath")
	if err != nil {
		return nil, err
	}
	heartbeat, err := seconds(s.heartbeatSeconds, s.heartbeatPath, eff, "HeartbeatSecondsPath")
	if err != nil {
		return nil, err
	}
	in := encodeJSON(params)
	if len(in) > maxPayload {
		return nil, newErr(ErrorDataLimitExceeded, "The state/task '%s' has an input with a size exceeding the maximum number of bytes service limit.", s.Name)
	}
	r.record(Event{Type: EventTaskScheduled, Scope: scope, State: s.Name, Resource: s.Resource, Input: in})
	fail := func(e *stateErr) (any, *stateErr) {
		typ := EventTaskFailed
		if e.name == ErrorTimeout {
			typ = EventTaskTimedOut
		}
		if !e.aborted {
			r.record(Event{Type: typ, Scope: scope, State: s.Name, Resource: s.Resource, Error: e.name, Cause: e.cause})
		}
		return nil, e
	}

	// Timers are armed before the function runs, so a test holding a fake
	// clock can advance it as soon as the function has been called.
	timedOut := make(chan bool, 2) // true: heartbeat
	signal := func(hb bool) func() {
		return func() {
			select {
			case timedOut <- hb:
			default:
			}
		}
	}
	clock := r.ex.clock
	if timeout > 0 {
		defer clock.AfterFunc(timeout, signal(false))()
	}
	hb := &heartbeatTimer{clock: clock, d: heartbeat, f: signal(true)}
	hb.reset()
	defer hb.cancel()

	var cb *callback
	if token != "" {
		cb = r.ex.register(token, hb)
		defer r.ex.release(token)
	}
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan taskResult, 1)
	fn := r.ex.tasks[s.Resource]
	go func() {
		defer func() {
			if p := recover(); p != nil {
				results <- taskResult{err: panicError{p}}
			}
		}()
		out, err := fn(tctx, in)
		results <- taskResult{out: out, err: err}
	}()

	var cbResults <-chan callbackResult
	if cb != nil {
		cbResults = cb.result
	}
	for {
		select {
		case res := <-results:
			results = nil
			if res.err != nil {
				if p, ok := res.err.(panicError); ok {
					return fail(lambdaErr(lambdaTypeName(p.v), fmt.Sprint(p.v)))
				}
				return fail(taskFailure(res.err))
			}
			if cb != nil {
				continue // the callback carries the result
			}
			return r.taskOutput(s, scope, res.out, fail)
		case res := <-cbResults:
			if res.failed {
				return fail(&stateErr{name: res.errName, cause: res.cause})
			}
			return r.taskOutput(s, scope, res.output, fail)
		case isHB := <-timedOut:
			r.ex.expire(token)
			e := &stateErr{name: ErrorTimeout, cause: "Task timed out", heartbeat: isHB}
			if isHB {
				e.cause = "Task heartbeat timed out"
			}
			return fail(e)
		case <-ctx.Done():
			return fail(aborted())
		}
	}
}

func (r *run) taskOutput(s *State, scope string, out json.RawMessage, fail func(*stateErr) (any, *stateErr)) (any, *stateErr) {
	if len(out) == 0 {
		out = json.RawMessage("null")
	}
	if len(out) > maxPayload {
		return fail(newErr(ErrorDataLimitExceeded, "The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", s.Name))
	}
	v, err := decodeJSON(out)
	if err != nil {
		return fail(newErr(ErrorRuntime, "The task %q returned invalid JSON: %v", s.Name, err))
	}
	r.record(Event{Type: EventTaskSucceeded, Scope: scope, State: s.Name, Resource: s.Resource, Output: encodeJSON(v)})
	return v, nil
}

// panicError carries a TaskFunc panic, reported like aws-lambda-go does.
type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprint(p.v) }

// heartbeatTimer is a task's HeartbeatSeconds timer. SendTaskHeartbeat
// resets it synchronously, so with a fake clock a heartbeat followed by an
// Advance is never raced by the old deadline.
type heartbeatTimer struct {
	clock Clock
	d     time.Duration
	f     func()

	mu   sync.Mutex
	stop func() bool
	done bool
}

func (h *heartbeatTimer) reset() {
	if h.d <= 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return
	}
	if h.stop != nil {
		h.stop()
	}
	h.stop = h.clock.AfterFunc(h.d, h.f)
}

func (h *heartbeatTimer) cancel() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.done = true
	if h.stop != nil {
		h.stop()
	}
}

// callback is a task waiting for SendTaskSuccess or SendTaskFailure.
type callback struct {
	result    chan callbackResult
	heartbeat *heartbeatTimer
}

type callbackResult struct {
	output         json.RawMessage
	failed         bool
	errName, cause string
}

const tokenBytes = 48

func newToken() string {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func validToken(t string) bool {
	b, err := base64.RawURLEncoding.DecodeString(t)
	return err == nil && len(b) == tokenBytes
}

func (e *Executor) register(token string, hb *heartbeatTimer) *callback {
	cb := &callback{result: make(chan callbackResult, 1), heartbeat: hb}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tokens[token] = cb
	return cb
}

// release forgets a token whose task has finished.
func (e *Executor) release(token string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.tokens[token]; ok {
		delete(e.tokens, token)
		e.spent[token] = ErrTaskDoesNotExist
	}
}

// expire forgets a token whose task timed out.
func (e *Executor) expire(token string) {
	if token == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.tokens, token)
	e.spent[token] = ErrTaskTimedOut
}

// take removes and returns the callback for token.
func (e *Executor) take(token string) (*callback, error) {
	if !validToken(token) {
		return nil, ErrInvalidToken
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cb, ok := e.tokens[token]
	if !ok {
		if err := e.spent[token]; err != nil {
			return nil, err
		}
		return nil, ErrTaskDoesNotExist
	}
	delete(e.tokens, token)
	e.spent[token] = ErrTaskDoesNotExist
	return cb, nil
}

// SendTaskSuccess completes the .waitForTaskToken task holding token with
// output as its result. It may be called from any goroutine, including from
// inside the TaskFunc.
func (e *Executor) SendTaskSuccess(token string, output json.RawMessage) error {
	if !json.Valid(output) {
		return ErrInvalidOutput
	}
	cb, err := e.take(token)
	if err != nil {
		return err
	}
	cb.result <- callbackResult{output: output}
	return nil
}

// SendTaskFailure fails the .waitForTaskToken task holding token with the
// given error name and cause.
func (e *Executor) SendTaskFailure(token, errName, cause string) error {
	cb, err := e.take(token)
	if err != nil {
		return err
	}
	cb.result <- callbackResult{failed: true, errName: errName, cause: cause}
	return nil
}

// SendTaskHeartbeat restarts the HeartbeatSeconds timer of the task holding
// token. TimeoutSeconds still bounds the task's total duration.
func (e *Executor) SendTaskHeartbeat(token string) error {
	if !validToken(token) {
		return ErrInvalidToken
	}
	e.mu.Lock()
	cb, ok := e.tokens[token]
	spent := e.spent[token]
	e.mu.Unlock()
	if !ok {
		if spent != nil {
			return spent
		}
		return ErrTaskDoesNotExist
	}
	cb.heartbeat.reset()
	return nil
}
