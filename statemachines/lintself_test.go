package statemachines_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

// recorder collects what lint reports; Fatalf stops the lint as it stops a test.
type recorder struct{ problems []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); panic(r) }

func lintProblems(def []byte, specs []boundary.Spec) (problems []string) {
	r := &recorder{}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
		problems = r.problems
	}()
	lint(r, def, specs)
	return r.problems
}

// The lint fails a task definition that disagrees with the ASL: a misspelt placeholder, an input
// type with a field the state does not pass, or without one it does.
func TestLintCatchesMistakes(t *testing.T) {
	def, err := statemachines.Definition(statemachines.Backup)
	if err != nil {
		t.Fatal(err)
	}
	if p := lintProblems(def, boundary.Specs(backup.Tasks)); len(p) != 0 {
		t.Fatalf("the backup machine has problems: %v", p)
	}
	for _, c := range []struct {
		name   string
		change func(*boundary.Spec)
		want   string
	}{
		{"placeholder typo", func(s *boundary.Spec) { s.Placeholder = "ExprotFunctionArn" }, "ExprotFunctionArn"},
		{"field the state does not pass", func(s *boundary.Spec) {
			s.Input = reflect.StructOf(append(fields(s.Input), reflect.StructField{Name: "Extra", Type: reflect.TypeFor[string](), Tag: `json:"extra"`}))
		}, `Parameters lack "extra"`},
		{"field the state passes missing", func(s *boundary.Spec) { s.Input = reflect.TypeFor[struct{}]() }, "is not a field of"},
	} {
		t.Run(c.name, func(t *testing.T) {
			specs := boundary.Specs(backup.Tasks)
			i := slices.IndexFunc(specs, func(s boundary.Spec) bool { return s.Name == backup.ExportTask.Name })
			c.change(&specs[i])
			p := lintProblems(def, specs)
			if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, c.want) }) {
				t.Errorf("lint problems %q, want one with %q", p, c.want)
			}
		})
	}
}

func fields(t reflect.Type) []reflect.StructField {
	var fs []reflect.StructField
	for i := range t.NumField() {
		fs = append(fs, t.Field(i))
	}
	return fs
}
