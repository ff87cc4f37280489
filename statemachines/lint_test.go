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
	"github.com/cognito-dr/cognito-dr/workflows/failover"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

// machines are the typed task definitions of each state machine: the placeholders the CDK stack
// and the local executor bind, and the Go input type of each.
func machines() map[string][]boundary.Spec {
	return map[string][]boundary.Spec{
		statemachines.Backup:    boundary.Specs(backup.Tasks),
		statemachines.Failback:  boundary.Specs(failback.Tasks),
		statemachines.Failover:  boundary.Specs(failover.Tasks),
		statemachines.Reconcile: boundary.Specs(replication.Tasks),
		statemachines.Restore:   boundary.Specs(restore.Tasks),
	}
}

// poolWriters are, per machine, the top-level states from its first write to a user pool on: a
// failure there must end in FailureDirty, anywhere else in FailureClean.
var poolWriters = map[string][]string{
	// The failback's first change is the DR pool's fence (its mode), right after the approval.
	statemachines.Failback: {"FenceDr", "PrepareFinalPlan", "ExportFinalPools", "PlanFinalDelta", "ValidateFinalImport", "CompareFinalPlan", "RequestFinalApproval", "ReopenDrAfterRejection",
		"ReopenDrAfterTimeout", "ImportParts", "ApplyChanges", "ActivatePrimary", "DisableDrUsers", "WriteReport"},
	statemachines.Failover:  {"FencePrimary", "ActivateDr", "PauseReconcile", "FencePrimaryAgain", "Verify"},
	statemachines.Reconcile: {"RepairDrift", "ExportAfter", "DiffAfter", "ReportDrift"},
	statemachines.Restore:   {"CreateTargetPool", "AddCustomAttributes", "BuildImportCsvAfterChanges", "ImportParts", "CreateUsers", "RestoreGroups", "RestoreMemberships", "DisableUsers", "ExportTarget", "WriteReport", "VerifyDrill", "DeleteScratchPool"},
}

// transientRetry is the one retry policy of every Task state: the Lambda service's own transient
// errors and our Transient (throttling, 5xx, connection resets, timeouts — stateerr.Named), with
// backoff that waits 5+10+20+40+60+60 = 195 s before giving up, so a total Cognito outage of two
// minutes costs time, not the execution. No jitter: the window must not depend on a draw (FULL
// jitter can wait 0 s every time), and one execution per pool pair has no herd to spread.
var transientRetry = asl.Retrier{
	ErrorEquals:     []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException", "Transient"},
	IntervalSeconds: 5, MaxAttempts: 6, BackoffRate: 2, MaxDelaySeconds: 60, JitterStrategy: "NONE",
}

// TestTransientRetryRidesOutTwoMinutes: the policy's total backoff covers a two-minute outage.
func TestTransientRetryRidesOutTwoMinutes(t *testing.T) {
	total, wait := 0.0, float64(transientRetry.IntervalSeconds)
	for range transientRetry.MaxAttempts {
		total += min(wait, float64(transientRetry.MaxDelaySeconds))
		wait *= transientRetry.BackoffRate
	}
	if total < 120 {
		t.Errorf("the retries wait %.0f s in all, less than a two-minute outage", total)
	}
}

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
		if diff := cmp.Diff([]asl.Retrier{transientRetry}, s.Retry); diff != "" {
			t.Errorf("state %s: Retry must be exactly the transient policy (-want +got):\n%s", s.Name, diff)
		}
		// Tasks inside a Map rely on the Map's Catch.
		if _, top := parsed.States[s.Name]; top && len(s.Catch) == 0 {
			t.Errorf("state %s: a task without Catch fails the execution without telling anyone", s.Name)
		}
	})
}

// TestFailuresSayWhatTheyLeftBehind: every caught failure ends, through a notification, in
// FailureClean when it happens before the machine's first write to a user pool and in
// FailureDirty from then on (coinbase/step's FailureClean / FailureDirty), so the history and the
// notification tell an operator whether anything was changed.
func TestFailuresSayWhatTheyLeftBehind(t *testing.T) {
	for name := range machines() {
		t.Run(name, func(t *testing.T) {
			def, err := statemachines.Definition(name)
			if err != nil {
				t.Fatal(err)
			}
			vars := map[string]string{}
			for _, p := range asl.Placeholders(def) {
				vars[p] = "arn:aws:lambda:ap-northeast-3:000000000000:function:" + p
			}
			sub, err := asl.Substitute(def, vars)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := asl.Parse(sub)
			if err != nil {
				t.Fatal(err)
			}
			// end follows Next from a catch target to the Fail state it reaches.
			end := func(from string) string {
				for seen := 0; seen < len(parsed.States); seen++ {
					s := parsed.States[from]
					if s == nil || s.Type == asl.TypeFail || s.Next == "" {
						return from
					}
					from = s.Next
				}
				return from
			}
			writers := map[string]bool{}
			for _, w := range poolWriters[name] {
				writers[w] = true
			}
			ends := map[string]bool{}
			for sname, s := range parsed.States {
				for _, c := range s.Catch {
					if slices.ContainsFunc(c.ErrorEquals, func(e string) bool {
						return e == "ApprovalRejected" || e == "ApprovalTimedOut" || e == "States.Timeout"
					}) {
						continue // rejection and timeout have their own endings
					}
					if strings.HasPrefix(sname, "Notify") {
						continue
					}
					want := "FailureClean"
					if writers[sname] {
						want = "FailureDirty"
					}
					got := end(c.Next)
					ends[got] = true
					if got != want {
						t.Errorf("state %s: a failure ends in %s, want %s", sname, got, want)
					}
				}
			}
			if !ends["FailureClean"] {
				t.Errorf("no failure ends in FailureClean")
			}
			if len(poolWriters[name]) > 0 && !ends["FailureDirty"] {
				t.Errorf("no failure ends in FailureDirty")
			}
		})
	}
}

func checkErrorNames(t reporter, state string, names []string, known map[string]bool) {
	t.Helper()
	for _, n := range names {
		if strings.HasPrefix(n, "States.") || strings.HasPrefix(n, "Lambda.") {
			continue
		}
		if !known[n] {
			t.Errorf("state %s: ErrorEquals %q is not in the closed set of error names (stateerr.Names)", state, n)
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
