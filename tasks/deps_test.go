// Package tasks holds one Lambda main per directory; this test guards what they link.
package tasks

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLambdasLinkNoLocalAWS: what ships is what the tree says ships. No task binary may link the local
// AWS (internal/local/...: emulators, the local Step Functions executor, the dev stack) or the CDK.
func TestLambdasLinkNoLocalAWS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps ./tasks/...: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 {
		t.Fatalf("go list -deps found only %d packages: %q", len(deps), deps)
	}
	for _, p := range deps {
		if strings.Contains(p, "/internal/local/") || strings.Contains(p, "aws-cdk-go") {
			t.Errorf("a task Lambda links %s", p)
		}
	}
}
