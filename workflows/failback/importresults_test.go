package failback_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// collectPath is the import Map's states from the job's end to its results.
func collectPath(x *asl.Execution) []string {
	p := x.PathIn("ImportParts[0]")
	if i := slices.Index(p, "StartCollectingResults"); i >= 0 {
		return p[i:]
	}
	return p
}

// TestFailbackWaitsForLateImportResults: CloudWatch Logs shows the job's row lines only after the
// job ended (two more reads of the stream). The state machine waits and reads again until every
// row has its line, and the report is the same as with prompt logs.
func TestFailbackWaitsForLateImportResults(t *testing.T) {
	f := newFixture(t)
	f.stack.Logs.SetDeliveryLag(3)
	x := f.start("failback-late-logs", nil)
	f.decide(f.approvalLink(x), "approve")
	f.wait(x)
	out := f.checkFailedBack(x)
	want := []string{"StartCollectingResults", "CollectImportResults", "ImportResultsComplete", "WaitForImportResults",
		"CollectImportResults", "ImportResultsComplete", "WaitForImportResults", "CollectImportResults", "ImportResultsComplete", "ImportPartDone"}
	if diff := cmp.Diff(want, collectPath(x)); diff != "" {
		t.Errorf("import results path (-want +got):\n%s", diff)
	}
	if out.Outcomes["primary:imported"] != len(f.outage.New) || out.Outcomes["primary:result-unknown"] != 0 {
		t.Errorf("outcomes %v: want %d imported, none result-unknown", out.Outcomes, len(f.outage.New))
	}
}

// TestFailbackReportsResultUnknown: the job's row lines never show up. After the last read the
// users are result-unknown, neither imported nor failed; the disable step looks each one up in
// the primary, so the users the job did import are disabled in DR and nobody is counted lost.
func TestFailbackReportsResultUnknown(t *testing.T) {
	f := newFixture(t)
	f.stack.Logs.SetDeliveryLag(1 << 30)
	x := f.start("failback-no-logs", nil)
	f.decide(f.approvalLink(x), "approve")
	f.wait(x)
	out := f.checkFailedBack(x)
	reads := 0
	for _, s := range collectPath(x) {
		if s == "CollectImportResults" {
			reads++
		}
	}
	if reads != failback.ImportResultReads {
		t.Errorf("read the log %d times, want %d", reads, failback.ImportResultReads)
	}
	if out.Outcomes["primary:result-unknown"] != len(f.outage.New) || out.Outcomes["primary:imported"] != 0 || out.Outcomes["primary:import-failed"] != 0 {
		t.Errorf("outcomes %v: want %d result-unknown, none imported or failed", out.Outcomes, len(f.outage.New))
	}
	var imports struct {
		Imports []failback.ImportResults `json:"imports"`
	}
	for _, ev := range x.History() {
		if ev.State == "ImportParts" && len(ev.Output) > 0 {
			_ = json.Unmarshal(ev.Output, &imports)
		}
	}
	if len(imports.Imports) != 1 || imports.Imports[0].Unknown != len(f.outage.New) || !imports.Imports[0].Final {
		t.Errorf("import results %+v: want one final part with %d unknown", imports.Imports, len(f.outage.New))
	}
}
