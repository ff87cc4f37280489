package states

import (
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
)

// run is what the API reads of an execution: a live one (*asl.Execution) or one loaded from a
// saved state (savedRun).
type run interface {
	Status() asl.Status
	Output() json.RawMessage
	ErrorName() string
	Cause() string
	History() []asl.Event
	Done() <-chan struct{}
	Stop(errName, cause string)
}

// StoppedCause is the cause Save records for an execution still running when the state is saved.
const StoppedCause = "local stack stopped"

// savedExecution is one execution as Save writes it.
type savedExecution struct {
	StateMachineARN, ARN, Name, Input string
	Started                           time.Time
	Status                            asl.Status
	Output                            []byte
	Error, Cause                      string
	History                           []asl.Event
}

// savedRun is a finished execution loaded from a saved state.
type savedRun struct{ savedExecution }

var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (r *savedRun) Status() asl.Status         { return r.savedExecution.Status }
func (r *savedRun) Output() json.RawMessage    { return r.savedExecution.Output }
func (r *savedRun) ErrorName() string          { return r.Error }
func (r *savedRun) Cause() string              { return r.savedExecution.Cause }
func (r *savedRun) History() []asl.Event       { return r.savedExecution.History }
func (r *savedRun) Done() <-chan struct{}      { return closed }
func (r *savedRun) Stop(errName, cause string) {}

// Save writes every execution started through the API (status, input, output, error, cause and
// history) to w, in start order. An execution still running is saved as ABORTED with the cause
// StoppedCause and an ExecutionAborted event at the time of saving; it keeps running here.
func (s *Server) Save(w io.Writer) error {
	now := s.now()
	s.mu.Lock()
	var all []*execution
	for _, m := range s.machines {
		all = append(all, m.execs...)
	}
	s.mu.Unlock()
	enc := gob.NewEncoder(w)
	for _, e := range all {
		se := savedExecution{StateMachineARN: e.m.ARN, ARN: e.arn, Name: e.name, Input: e.input, Started: e.started,
			Status: e.x.Status(), Output: e.x.Output(), Error: e.x.ErrorName(), Cause: e.x.Cause(), History: e.x.History()}
		if se.Status == asl.StatusRunning {
			se.Status, se.Error, se.Cause, se.Output = asl.StatusAborted, "", StoppedCause, nil
			se.History = append(se.History, asl.Event{Type: asl.EventExecutionAborted, Time: now, Cause: StoppedCause})
		}
		if err := enc.Encode(se); err != nil {
			return err
		}
	}
	return nil
}

// Load adds the executions Save wrote to r, as finished executions of the registered state
// machines they belong to.
func (s *Server) Load(r io.Reader) error {
	dec := gob.NewDecoder(r)
	for {
		var se savedExecution
		if err := dec.Decode(&se); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("states state: %w", err)
		}
		if err := s.add(se); err != nil {
			return err
		}
	}
}

func (s *Server) add(se savedExecution) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.byARN[se.StateMachineARN]
	if m == nil {
		return fmt.Errorf("states state: execution %s: state machine %s is not registered", se.ARN, se.StateMachineARN)
	}
	if s.execs[se.ARN] != nil {
		return fmt.Errorf("states state: execution %s already exists", se.ARN)
	}
	s.seq++
	e := &execution{x: &savedRun{se}, arn: se.ARN, name: se.Name, m: m, input: se.Input, seq: s.seq, started: se.Started}
	s.execs[se.ARN] = e
	m.execs = append(m.execs, e)
	return nil
}
