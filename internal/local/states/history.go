package states

import (
	"encoding/json"
	"strings"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
)

// historyEvent is one event of GetExecutionHistory, in the API's shape: the details field named
// for the event type (executionStartedEventDetails, lambdaFunctionScheduledEventDetails, …).
type historyEvent struct {
	Timestamp       epoch  `json:"timestamp"`
	Type            string `json:"type"`
	ID              int    `json:"id"`
	PreviousEventID int    `json:"previousEventId"`
	details         map[string]any
	detailsField    string
}

func (h historyEvent) MarshalJSON() ([]byte, error) {
	m := map[string]any{"timestamp": h.Timestamp, "type": h.Type, "id": h.ID, "previousEventId": h.PreviousEventID}
	if h.detailsField != "" {
		m[h.detailsField] = h.details
	}
	return json.Marshal(m)
}

// apiEvents converts the executor's events to the API's. Events the API has no type for
// (retries scheduled, errors caught, choices made, waits started) are left out, as the service
// shows only their effects: a retry is another scheduled task, a catch the next state entered.
// A task that runs a Lambda function by ARN is LambdaFunctionScheduled / Started / Succeeded;
// one through a service integration (arn:aws:states:::lambda:invoke.waitForTaskToken) is
// TaskScheduled / TaskStarted / TaskSucceeded with resourceType and resource split from the ARN.
// withData false leaves out inputs, outputs and task parameters (includeExecutionData).
func apiEvents(m *machine, roleARN string, events []asl.Event, withData bool) []historyEvent {
	var out []historyEvent
	add := func(ev asl.Event, typ, field string, details map[string]any) {
		if !withData {
			for _, k := range []string{"input", "output", "parameters"} {
				delete(details, k)
			}
		}
		id := len(out) + 1
		out = append(out, historyEvent{Timestamp: epoch(ev.Time), Type: typ, ID: id, PreviousEventID: id - 1, details: details, detailsField: field})
	}
	data := func(k string, raw []byte) map[string]any {
		return map[string]any{k: string(raw), k + "Details": map[string]bool{"truncated": false}}
	}
	errDetails := func(ev asl.Event) map[string]any {
		d := map[string]any{}
		if ev.Error != "" {
			d["error"] = ev.Error
		}
		if ev.Cause != "" {
			d["cause"] = ev.Cause
		}
		return d
	}
	for _, ev := range events {
		service, resource, integrated := integration(ev.Resource)
		switch ev.Type {
		case asl.EventExecutionStarted:
			d := data("input", ev.Input)
			d["roleArn"] = roleARN
			add(ev, "ExecutionStarted", "executionStartedEventDetails", d)
		case asl.EventExecutionSucceeded:
			add(ev, "ExecutionSucceeded", "executionSucceededEventDetails", data("output", ev.Output))
		case asl.EventExecutionFailed:
			add(ev, "ExecutionFailed", "executionFailedEventDetails", errDetails(ev))
		case asl.EventExecutionAborted:
			add(ev, "ExecutionAborted", "executionAbortedEventDetails", errDetails(ev))
		case asl.EventExecutionTimedOut:
			add(ev, "ExecutionTimedOut", "executionTimedOutEventDetails", errDetails(ev))
		case asl.EventStateEntered:
			d := data("input", ev.Input)
			d["name"] = ev.State
			add(ev, m.types[ev.State]+"StateEntered", "stateEnteredEventDetails", d)
		case asl.EventStateExited:
			d := data("output", ev.Output)
			d["name"] = ev.State
			add(ev, m.types[ev.State]+"StateExited", "stateExitedEventDetails", d)
		case asl.EventTaskScheduled:
			if integrated {
				add(ev, "TaskScheduled", "taskScheduledEventDetails", map[string]any{
					"resourceType": service, "resource": resource, "region": region(m.ARN), "parameters": string(ev.Input),
				})
				add(ev, "TaskStarted", "taskStartedEventDetails", map[string]any{"resourceType": service, "resource": resource})
				continue
			}
			d := data("input", ev.Input)
			d["resource"] = ev.Resource
			add(ev, "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", d)
			add(ev, "LambdaFunctionStarted", "", nil)
		case asl.EventTaskSucceeded:
			if integrated {
				d := data("output", ev.Output)
				d["resourceType"], d["resource"] = service, resource
				add(ev, "TaskSucceeded", "taskSucceededEventDetails", d)
				continue
			}
			add(ev, "LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails", data("output", ev.Output))
		case asl.EventTaskFailed, asl.EventTaskTimedOut:
			kind := "Failed"
			if ev.Type == asl.EventTaskTimedOut {
				kind = "TimedOut"
			}
			d := errDetails(ev)
			if integrated {
				d["resourceType"], d["resource"] = service, resource
				add(ev, "Task"+kind, "task"+kind+"EventDetails", d)
				continue
			}
			add(ev, "LambdaFunction"+kind, "lambdaFunction"+kind+"EventDetails", d)
		}
	}
	return out
}

// integration splits a service integration's resource, arn:aws:states:::lambda:invoke.waitForTaskToken,
// into the history's resourceType ("lambda") and resource ("invoke.waitForTaskToken").
func integration(resource string) (service, action string, ok bool) {
	rest, ok := strings.CutPrefix(resource, "arn:aws:states:::")
	if !ok {
		return "", "", false
	}
	service, action, ok = strings.Cut(rest, ":")
	return service, action, ok
}

func region(arn string) string {
	p := strings.Split(arn, ":")
	if len(p) < 4 {
		return ""
	}
	return p[3]
}

type historyIn struct {
	ExecutionArn         string `json:"executionArn"`
	MaxResults           int    `json:"maxResults"`
	NextToken            string `json:"nextToken"`
	ReverseOrder         bool   `json:"reverseOrder"`
	IncludeExecutionData *bool  `json:"includeExecutionData"`
}

func (s *Server) getExecutionHistory(in historyIn) (any, error) {
	size, err := pageSize(in.MaxResults)
	if err != nil {
		return nil, err
	}
	e, err := s.execution(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	withData := in.IncludeExecutionData == nil || *in.IncludeExecutionData
	forReq := "GetExecutionHistory " + in.ExecutionArn
	if in.ReverseOrder {
		forReq += " reverse"
	}
	// The token holds the id of the next event, so pages stay put while a running execution adds events.
	next := 0
	if in.NextToken != "" {
		if next, err = decodeToken(in.NextToken, forReq); err != nil {
			return nil, err
		}
	}
	events := apiEvents(e.m, e.m.RoleARN, e.x.History(), withData)
	if in.ReverseOrder {
		events = reversed(events)
	}
	start := 0
	if next > 0 {
		start = len(events)
		for i, ev := range events {
			if ev.ID == next {
				start = i
				break
			}
		}
	}
	out := struct {
		Events    []historyEvent `json:"events"`
		NextToken *string        `json:"nextToken,omitempty"`
	}{Events: []historyEvent{}}
	end := min(start+size, len(events))
	out.Events = append(out.Events, events[start:end]...)
	if end < len(events) {
		out.NextToken = encodeToken(forReq, events[end].ID)
	}
	return out, nil
}

func reversed[T any](s []T) []T {
	out := make([]T, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}
