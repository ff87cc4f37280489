package asl

import (
	"encoding/json"
	"time"
)

// EventType names a history event.
type EventType string

// History event types.
const (
	EventExecutionStarted   EventType = "ExecutionStarted"
	EventExecutionSucceeded EventType = "ExecutionSucceeded"
	EventExecutionFailed    EventType = "ExecutionFailed"
	EventExecutionTimedOut  EventType = "ExecutionTimedOut"
	EventExecutionAborted   EventType = "ExecutionAborted"
	EventStateEntered       EventType = "StateEntered"
	EventStateExited        EventType = "StateExited"
	EventTaskScheduled      EventType = "TaskScheduled"
	EventTaskSucceeded      EventType = "TaskSucceeded"
	EventTaskFailed         EventType = "TaskFailed"
	EventTaskTimedOut       EventType = "TaskTimedOut"
	// EventRetry: a Retrier matched; Wait is the backoff before the next attempt.
	EventRetry EventType = "RetryScheduled"
	// EventCaught: a Catcher matched; Next is its target.
	EventCaught EventType = "ErrorCaught"
	// EventChoice: a Choice state chose Next.
	EventChoice EventType = "ChoiceMade"
	// EventWait: a Wait state starts waiting for Wait.
	EventWait EventType = "WaitStarted"
)

// Event is one entry of an execution's history.
type Event struct {
	Type EventType
	Time time.Time
	// Scope is "" at the top level, "Map[i]" inside iteration i of Map state
	// "Map", "Par[i]" inside branch i of Parallel state "Par"; nested scopes
	// are joined with "/".
	Scope    string
	State    string
	Resource string          // task events
	Input    json.RawMessage // state input, task parameters, execution input
	Output   json.RawMessage // state output, task result, execution output
	Error    string
	Cause    string
	Next     string        // ChoiceMade, ErrorCaught, StateExited
	Wait     time.Duration // RetryScheduled, WaitStarted
	Attempt  int           // RetryScheduled: the retry number, from 1
}
