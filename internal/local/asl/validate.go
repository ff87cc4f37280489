package asl

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// knownErrors are the States.* error names a Retrier or Catcher may list.
var knownErrors = []string{
	ErrorAll, ErrorTimeout, ErrorHeartbeatTimeout, ErrorTaskFailed, ErrorNoChoiceMatched,
	ErrorResultPathMatch, ErrorIntrinsicFailure, ErrorRuntime, ErrorDataLimitExceeded,
	ErrorBranchFailed, ErrorParameterPath, ErrorPermissions, "States.ExceedToleratedFailureThreshold",
	"States.ItemReaderFailed", "States.ResultWriterFailed", "States.QueryEvaluationError",
}

// Validate checks the structure of m: every Next, Default and Catch target
// exists in its own scope, every state is reachable from StartAt, states that
// continue have exactly one of Next and End, and States.ALL is alone and last.
// Parse calls it; it reports every problem found, joined.
func Validate(m *Machine) error {
	var errs []error
	validateGraph(&m.Graph, "state machine", &errs)
	return errors.Join(errs...)
}

func validateGraph(g *Graph, where string, errs *[]error) {
	add := func(format string, a ...any) { *errs = append(*errs, fmt.Errorf(format, a...)) }
	if _, ok := g.States[g.StartAt]; !ok {
		add("%s: StartAt %q is not a state", where, g.StartAt)
	}
	target := func(s *State, field, name string) {
		if _, ok := g.States[name]; !ok {
			add("state %q: %s %q is not a state in the same scope", s.Name, field, name)
		}
	}
	for _, name := range g.Order {
		s := g.States[name]
		switch s.Type {
		case TypeTask, TypePass, TypeWait, TypeMap, TypeParallel:
			switch {
			case s.Next == "" && !s.End:
				add("state %q: needs Next or \"End\": true", s.Name)
			case s.Next != "" && s.End:
				add("state %q: cannot have both Next and End", s.Name)
			case s.Next != "":
				target(s, "Next", s.Next)
			}
		case TypeChoice:
			for _, n := range s.Choices {
				target(s, "Choices Next", n)
			}
			if s.Default != "" {
				target(s, "Default", s.Default)
			}
		}
		for i, r := range s.Retry {
			checkErrorEquals(s.Name, fmt.Sprintf("Retry[%d]", i), r.ErrorEquals, i == len(s.Retry)-1, errs)
		}
		for i, c := range s.Catch {
			checkErrorEquals(s.Name, fmt.Sprintf("Catch[%d]", i), c.ErrorEquals, i == len(s.Catch)-1, errs)
			target(s, fmt.Sprintf("Catch[%d] Next", i), c.Next)
		}
		for i, b := range s.Branches {
			validateGraph(b, fmt.Sprintf("state %q branch %d", s.Name, i), errs)
		}
	}
	// Reachability from StartAt through Next, Choices, Default and Catch.
	seen := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		s, ok := g.States[name]
		if !ok || seen[name] {
			return
		}
		seen[name] = true
		visit(s.Next)
		visit(s.Default)
		for _, n := range s.Choices {
			visit(n)
		}
		for _, c := range s.Catch {
			visit(c.Next)
		}
	}
	visit(g.StartAt)
	for _, name := range g.Order {
		if !seen[name] {
			add("state %q: unreachable from StartAt %q", name, g.StartAt)
		}
	}
}

func checkErrorEquals(state, field string, names []string, last bool, errs *[]error) {
	for _, n := range names {
		if n == ErrorAll && (len(names) != 1 || !last) {
			*errs = append(*errs, fmt.Errorf("state %q: %s: States.ALL must appear alone and in the last element", state, field))
		}
		if strings.HasPrefix(n, "States.") && !slices.Contains(knownErrors, n) && !strings.HasPrefix(n, "States.Http.") {
			*errs = append(*errs, fmt.Errorf("state %q: %s: unknown error name %q", state, field, n))
		}
	}
}
