package tasks

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
	"github.com/cognito-dr/cognito-dr/workflows/failover"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

// TestMainsStartTheirTask: each tasks/<dir>/main.go starts the typed task named <dir>, and every
// typed task has its main. A main names its task by a Go identifier, so a typo does not compile;
// this checks it is the right one: <Dir>Task of a workflow whose Tasks include <dir>
// (lambdamain.Start), or a trigger named <dir> (lambdamain.StartTrigger).
func TestMainsStartTheirTask(t *testing.T) {
	workflows := map[string][]boundary.Spec{
		"backup": boundary.Specs(backup.Tasks), "failback": boundary.Specs(failback.Tasks), "replication": boundary.Specs(replication.Tasks),
		"importjob": boundary.Specs(importjob.Tasks), "restore": boundary.Specs(restore.Tasks),
		"failover": append(boundary.Specs(failover.Tasks), failover.FailoverWatchTask.Spec()),
	}
	triggers := map[string]boundary.Trigger{
		"replication.PostConfirmationTrigger": replication.PostConfirmationTrigger, "replication.PreTokenGenerationTrigger": replication.PreTokenGenerationTrigger,
		"replication.PreSignUpTrigger": replication.PreSignUpTrigger, "replication.PreAuthenticationTrigger": replication.PreAuthenticationTrigger,
	}
	started := map[string]bool{}
	dirs, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "approval-page" { // an HTTP handler, not a task
			continue
		}
		dir := d.Name()
		t.Run(dir, func(t *testing.T) {
			fn, arg := startCall(t, filepath.Join(dir, "main.go"))
			pkg, ident, _ := strings.Cut(arg, ".")
			switch fn {
			case "lambdamain.Start":
				if want := camel(dir) + "Task"; ident != want {
					t.Errorf("starts %s, want %s.%s", arg, pkg, want)
				}
				if !slices.ContainsFunc(workflows[pkg], func(s boundary.Spec) bool { return s.Name == dir }) {
					t.Errorf("starts %s, but %s.Tasks has no task %s", arg, pkg, dir)
				}
			case "lambdamain.StartTrigger":
				if tr, ok := triggers[arg]; !ok || tr.Name != dir {
					t.Errorf("starts trigger %s, which is not the trigger named %s", arg, dir)
				}
			default:
				t.Errorf("main calls %s(%s), want lambdamain.Start or lambdamain.StartTrigger", fn, arg)
			}
			started[dir] = true
		})
	}
	for _, specs := range workflows {
		for _, s := range specs {
			if !started[s.Name] {
				t.Errorf("task %s has no main in tasks/%s", s.Name, s.Name)
			}
		}
	}
}

// startCall finds main's one call of the form a.B(c.D).
func startCall(t *testing.T, path string) (fn, arg string) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var found int
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) != 1 {
			return true
		}
		f, ok1 := call.Fun.(*ast.SelectorExpr)
		a, ok2 := call.Args[0].(*ast.SelectorExpr)
		if !ok1 || !ok2 {
			return true
		}
		fx, ok1 := f.X.(*ast.Ident)
		ax, ok2 := a.X.(*ast.Ident)
		if ok1 && ok2 {
			fn, arg = fx.Name+"."+f.Sel.Name, ax.Name+"."+a.Sel.Name
			found++
		}
		return true
	})
	if found != 1 {
		t.Fatalf("%s: %d start calls, want 1", path, found)
	}
	return fn, arg
}

// camel is export-users -> ExportUsers.
func camel(name string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(name, "-") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
