package asl

import "time"

// stateCtx is what the context object ($$) knows about the current state.
type stateCtx struct {
	name       string
	entered    time.Time
	retryCount int
	token      string
	mapItem    *mapItem
}

type mapItem struct {
	index int
	value any
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// contextObject builds $$ for the current state, with the fields Step
// Functions provides in the JSONPath query language.
func (r *run) contextObject(sc *stateCtx) map[string]any {
	smName := r.ex.arn[lastColon(r.ex.arn)+1:]
	obj := map[string]any{
		"Execution": map[string]any{
			"Id":        r.x.ARN,
			"Name":      r.x.Name,
			"Input":     r.input,
			"StartTime": isoTime(r.start),
			"RoleArn":   "arn:aws:iam::123456789012:role/StateMachineRole",
		},
		"StateMachine": map[string]any{"Id": r.ex.arn, "Name": smName},
		"State": map[string]any{
			"Name":        sc.name,
			"EnteredTime": isoTime(sc.entered),
			"RetryCount":  num(int64(sc.retryCount)),
		},
	}
	if sc.token != "" {
		obj["Task"] = map[string]any{"Token": sc.token}
	}
	if sc.mapItem != nil {
		obj["Map"] = map[string]any{"Item": map[string]any{"Index": num(int64(sc.mapItem.index)), "Value": sc.mapItem.value}}
	}
	return obj
}

func lastColon(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return i
		}
	}
	return -1
}
