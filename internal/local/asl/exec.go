package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// TaskFunc implements a Task resource. It receives the state's effective
// parameters and returns the task result; a returned error is named like a Go
// Lambda's error (see TaskError for other names).
type TaskFunc func(ctx context.Context, input json.RawMessage) (json.RawMessage, error)

// Status is an execution's status, as in the Step Functions API.
type Status string

// Execution statuses.
const (
	StatusRunning   Status = "RUNNING"
	StatusSucceeded Status = "SUCCEEDED"
	StatusFailed    Status = "FAILED"
	StatusTimedOut  Status = "TIMED_OUT"
	StatusAborted   Status = "ABORTED"
)

// Option configures an Executor.
type Option func(*Executor)

// WithClock sets the clock; the default is RealClock.
func WithClock(c Clock) Option { return func(e *Executor) { e.clock = c } }

// WithObserver registers fn to receive every history event as it happens.
// Calls are serialized and in history order; fn must not block for long.
func WithObserver(fn func(Event)) Option { return func(e *Executor) { e.observer = fn } }

// WithStateMachineARN sets $$.StateMachine.Id; the name is its last part and
// execution ARNs are derived from it.
func WithStateMachineARN(arn string) Option { return func(e *Executor) { e.arn = arn } }

// Executor runs executions of one Machine with Task resources bound to Go
// functions. It is safe for concurrent use.
type Executor struct {
	m        *Machine
	tasks    map[string]TaskFunc
	clock    Clock
	observer func(Event)
	arn      string

	mu     sync.Mutex
	names  map[string]bool
	tokens map[string]*callback
	spent  map[string]error // tokens no longer waiting → error for late calls
}

// NewExecutor returns an Executor for m. tasks maps each Resource, exactly as
// written in the definition after substitution, to its implementation; a
// Task state whose resource has no binding is an error naming both.
func NewExecutor(m *Machine, tasks map[string]TaskFunc, opts ...Option) (*Executor, error) {
	e := &Executor{
		m: m, tasks: tasks, clock: RealClock{},
		arn:   "arn:aws:states:us-east-1:123456789012:stateMachine:StateMachine",
		names: map[string]bool{}, tokens: map[string]*callback{}, spent: map[string]error{},
	}
	for _, o := range opts {
		o(e)
	}
	var errs []error
	m.Walk(func(s *State) {
		if s.Type == TypeTask && tasks[s.Resource] == nil {
			errs = append(errs, fmt.Errorf("state %q: no TaskFunc bound for resource %q", s.Name, s.Resource))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return e, nil
}

// Execution is one run of a state machine.
type Execution struct {
	// Name is the execution name and ARN its $$.Execution.Id.
	Name string
	ARN  string

	done   chan struct{}
	cancel context.CancelCauseFunc

	obsMu   sync.Mutex // serializes observer calls in history order
	mu      sync.Mutex
	status  Status
	output  json.RawMessage
	errName string
	cause   string
	history []Event
}

var errExecutionTimeout = errors.New("execution timed out")

// stopCause is the cancellation cause of Execution.Stop.
type stopCause struct{ name, cause string }

func (s *stopCause) Error() string { return "execution stopped: " + s.name }

// Start validates input and starts an execution in a new goroutine. An
// empty name gets a random UUID; names must be unique per Executor, as in
// Step Functions. Cancelling ctx aborts the execution.
func (e *Executor) Start(ctx context.Context, name string, input json.RawMessage) (*Execution, error) {
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	in, err := decodeJSON(input)
	if err != nil {
		return nil, fmt.Errorf("start execution %q: InvalidExecutionInput: %w", name, err)
	}
	if len(input) > maxPayload {
		return nil, fmt.Errorf("start execution %q: InvalidExecutionInput: input is larger than %d bytes", name, maxPayload)
	}
	if name == "" {
		name = uuid.NewString()
	}
	e.mu.Lock()
	if e.names[name] {
		e.mu.Unlock()
		return nil, fmt.Errorf("start execution %q: ExecutionAlreadyExists", name)
	}
	e.names[name] = true
	e.mu.Unlock()

	runCtx, cancel := context.WithCancelCause(ctx)
	x := &Execution{
		Name:   name,
		ARN:    strings.Replace(e.arn, ":stateMachine:", ":execution:", 1) + ":" + name,
		done:   make(chan struct{}),
		cancel: cancel,
		status: StatusRunning,
	}
	r := &run{ex: e, x: x, input: in, start: e.clock.Now()}
	x.record(e, Event{Type: EventExecutionStarted, Input: encodeJSON(in), Time: r.start})
	var stopTimer func() bool
	if e.m.TimeoutSeconds > 0 {
		stopTimer = e.clock.AfterFunc(time.Duration(e.m.TimeoutSeconds)*time.Second, func() { cancel(errExecutionTimeout) })
	}
	go func() {
		defer cancel(nil)
		out, serr := r.runGraph(runCtx, &e.m.Graph, in, "")
		if stopTimer != nil {
			stopTimer()
		}
		r.finish(runCtx, out, serr)
	}()
	return x, nil
}

// Run starts an execution and waits for it. It returns a *Failure error
// when the execution does not succeed.
func (e *Executor) Run(ctx context.Context, name string, input json.RawMessage) (*Execution, error) {
	x, err := e.Start(ctx, name, input)
	if err != nil {
		return nil, err
	}
	if err := x.Wait(ctx); err != nil {
		return x, err
	}
	if st := x.Status(); st != StatusSucceeded {
		return x, &Failure{Status: st, Name: x.ErrorName(), Cause: x.Cause()}
	}
	return x, nil
}

// Failure is the error Run returns for an execution that did not succeed.
type Failure struct {
	Status Status
	Name   string // error name, e.g. "States.Timeout"
	Cause  string
}

func (f *Failure) Error() string {
	return fmt.Sprintf("execution %s: %s: %s", f.Status, f.Name, f.Cause)
}

// Wait blocks until the execution finishes or ctx is done.
func (x *Execution) Wait(ctx context.Context) error {
	select {
	case <-x.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed when the execution finishes.
func (x *Execution) Done() <-chan struct{} { return x.done }

// Stop aborts a running execution with an optional error name and cause, like
// the StopExecution API.
func (x *Execution) Stop(errName, cause string) {
	x.cancel(&stopCause{name: errName, cause: cause})
}

// Status returns the current status.
func (x *Execution) Status() Status {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.status
}

// Output returns the output of a SUCCEEDED execution.
func (x *Execution) Output() json.RawMessage {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.output
}

// ErrorName returns the error name of a failed, timed out or aborted execution.
func (x *Execution) ErrorName() string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.errName
}

// Cause returns the error cause of a failed, timed out or aborted execution.
func (x *Execution) Cause() string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.cause
}

// History returns a copy of the events so far.
func (x *Execution) History() []Event {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.history)
}

// Path returns the names of the top-level states entered, in order. States
// run inside Map iterations and Parallel branches are not included; see
// PathIn.
func (x *Execution) Path() []string { return x.PathIn("") }

// PathIn returns the names of the states entered in one scope, in order. The
// top level is ""; iteration i of Map state M is "M[i]", branch i of Parallel
// state P is "P[i]", and nested scopes are joined with "/" ("M[0]/P[1]").
func (x *Execution) PathIn(scope string) []string {
	var out []string
	for _, ev := range x.History() {
		if ev.Type == EventStateEntered && ev.Scope == scope {
			out = append(out, ev.State)
		}
	}
	return out
}

func (x *Execution) record(e *Executor, ev Event) {
	if ev.Time.IsZero() {
		ev.Time = e.clock.Now()
	}
	x.obsMu.Lock()
	defer x.obsMu.Unlock()
	x.mu.Lock()
	x.history = append(x.history, ev)
	x.mu.Unlock()
	if e.observer != nil {
		e.observer(ev)
	}
}
