package statemachines_test

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/approval"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// machines are the typed task definitions of each state machine: the placeholders the CDK stack
// and the local executor bind, and the Go input type of each.
func machines() map[string][]boundary.Spec {
	return map[string][]boundary.Spec{
		statemachines.Backup:    boundary.Specs(backup.Tasks),
		statemachines.Failback:  boundary.Specs(failback.Tasks),
		statemachines.Reconcile: boundary.Specs(replication.Tasks),
	}
}

// lambdaRetryable are the transient Lambda service errors every task must retry.
var lambdaRetryable = []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"}

func TestEveryMachineIsLinted(t *testing.T) {
	if diff := cmp.Diff(slices.Sorted(maps.Keys(machines())), slices.Sorted(slices.Values(statemachines.Names()))); diff != "" {
		t.Errorf("embedded machines vs linted machines (-linted +embedded):\n%s", diff)
	}
}

func TestLint(t *testing.T) {
	for name, specs := range machines() {
		t.Run(name, func(t *testing.T) {
			def, err := statemachines.Definition(name)
			if err != nil {
				t.Fatal(err)
			}
			lint(t, def, specs)
		})
	}
}

// reporter is what lint reports to: a *testing.T, or a recorder in the test of the lint itself.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// lint checks one state machine's ASL against its typed tasks.
func lint(t reporter, def []byte, specs []boundary.Spec) {
	t.Helper()
	inputs := map[string]reflect.Type{}
	for _, sp := range specs {
		if _, dup := inputs[sp.Placeholder]; dup || sp.Placeholder == "" {
			t.Errorf("task %s: placeholder %q is empty or bound twice", sp.Name, sp.Placeholder)
		}
		inputs[sp.Placeholder] = sp.Input
	}
	var top struct {
		Comment string `json:"Comment"`
	}
	if err := json.Unmarshal(def, &top); err != nil || top.Comment == "" {
		t.Errorf("definition must be JSON with a top-level Comment (err %v)", err)
	}

	placeholders := asl.Placeholders(def)
	if diff := cmp.Diff(slices.Sorted(maps.Keys(inputs)), slices.Sorted(slices.Values(placeholders))); diff != "" {
		t.Errorf("placeholders vs the workflow's Tasks (-tasks +placeholders):\n%s", diff)
	}

	vars := map[string]string{}
	for _, p := range placeholders {
		vars[p] = "arn:aws:lambda:ap-northeast-3:000000000000:function:" + p
	}
	sub, err := asl.Substitute(def, vars)
	if err != nil {
		t.Fatalf("substitute: %v", err)
	}
	// Parse checks that every Next, Default and Catch target exists and every state is reachable.
	parsed, err := asl.Parse(sub)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}

	known := map[string]bool{}
	for _, n := range append(stateerr.Names(), approval.RejectedError) {
		known[n] = true
	}
	parsed.Walk(func(s *asl.State) {
		for _, c := range s.Catch {
			checkErrorNames(t, s.Name, c.ErrorEquals, known)
		}
		for _, r := range s.Retry {
			checkErrorNames(t, s.Name, r.ErrorEquals, known)
		}
		if s.Type != asl.TypeTask {
			return
		}
		const functionPrefix = "arn:aws:lambda:ap-northeast-3:000000000000:function:"
		params := s.Parameters
		resource := s.Resource
		if strings.HasPrefix(s.Resource, asl.LambdaInvokeResource) {
			// The lambda:invoke integration names the function in Parameters and
			// passes Payload to it.
			var invoke struct {
				FunctionName string
				Payload      json.RawMessage
			}
			if err := json.Unmarshal(s.Parameters, &invoke); err != nil {
				t.Errorf("state %s: lambda:invoke Parameters: %v", s.Name, err)
				return
			}
			resource, params = invoke.FunctionName, invoke.Payload
		}
		in, ok := inputs[strings.TrimPrefix(resource, functionPrefix)]
		if !ok {
			t.Errorf("state %s: resource %s is not a bound function", s.Name, resource)
			return
		}
		checkParameters(t, s.Name, params, in)
		if len(s.Retry) == 0 || !slices.Equal(s.Retry[0].ErrorEquals, lambdaRetryable) {
			t.Errorf("state %s: first Retry must cover %v", s.Name, lambdaRetryable)
		}
		// Tasks inside a Map rely on the Map's Catch.
		if _, top := parsed.States[s.Name]; top && len(s.Catch) == 0 {
			t.Errorf("state %s: a task without Catch fails the execution without telling anyone", s.Name)
		}
	})
}

func checkErrorNames(t reporter, state string, names []string, known map[string]bool) {
	t.Helper()
	for _, n := range names {
		if strings.HasPrefix(n, "States.") || strings.HasPrefix(n, "Lambda.") {
			continue
		}
		if !known[n] {
			t.Errorf("state %s: ErrorEquals %q is not an error any step returns (stateerr.Names)", state, n)
		}
	}
}

// checkParameters compares the task's Parameters keys with the json fields of its Go input:
// every key must be a field, and every field without omitempty must be passed.
func checkParameters(t reporter, state string, raw json.RawMessage, typ reflect.Type) {
	t.Helper()
	var params map[string]json.RawMessage
	if err := json.Unmarshal(raw, &params); err != nil {
		t.Errorf("state %s: Parameters must be an object: %v", state, err)
		return
	}
	got := map[string]bool{}
	for k := range params {
		got[strings.TrimSuffix(k, ".$")] = true
	}
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			t.Errorf("%s.%s has no json name", typ.Name(), f.Name)
			continue
		}
		if !got[name] && !strings.Contains(opts, "omitempty") {
			t.Errorf("state %s: Parameters lack %q, required by %s", state, name, typ.Name())
		}
		delete(got, name)
	}
	for k := range got {
		t.Errorf("state %s: Parameters key %q is not a field of %s (the task would refuse it)", state, k, typ.Name())
	}
}
