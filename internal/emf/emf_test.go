package emf_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/emf"
)

// TestWriteFollowsTheSpecification: the document CloudWatch Logs turns into metrics — one JSON
// object on one line, _aws with a millisecond Timestamp and a directive naming the namespace, the
// dimension set and each metric, and every referenced member at the root.
func TestWriteFollowsTheSpecification(t *testing.T) {
	var buf bytes.Buffer
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	if err := emf.Write(&buf, "CognitoDR", map[string]string{"UserPoolId": "ap-northeast-1_abc"}, at,
		emf.Metric{Name: "DrillSeconds", Unit: "Seconds", Value: 42.5}, emf.Metric{Name: "DrillMismatches", Unit: "Count", Value: 0}); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 1 || !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
		t.Fatalf("want one line, got %d newlines: %q", n, buf.String())
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"UserPoolId": "ap-northeast-1_abc", "DrillSeconds": 42.5, "DrillMismatches": 0.0,
		"_aws": map[string]any{
			"Timestamp": float64(at.UnixMilli()),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  "CognitoDR",
				"Dimensions": []any{[]any{"UserPoolId"}},
				"Metrics":    []any{map[string]any{"Name": "DrillSeconds", "Unit": "Seconds"}, map[string]any{"Name": "DrillMismatches", "Unit": "Count"}},
			}},
		},
	}
	if diff := cmp.Diff(want, doc); diff != "" {
		t.Errorf("document (-want +got):\n%s", diff)
	}
}

func TestWriteRefusesWhatCloudWatchCannotRead(t *testing.T) {
	at := time.Now()
	for name, err := range map[string]error{
		"no metric":        emf.Write(&bytes.Buffer{}, "CognitoDR", nil, at),
		"no namespace":     emf.Write(&bytes.Buffer{}, "", nil, at, emf.Metric{Name: "X", Value: 1}),
		"metric dimension": emf.Write(&bytes.Buffer{}, "CognitoDR", map[string]string{"X": "a"}, at, emf.Metric{Name: "X", Value: 1}),
		"repeated metric":  emf.Write(&bytes.Buffer{}, "CognitoDR", nil, at, emf.Metric{Name: "X", Value: 1}, emf.Metric{Name: "X", Value: 2}),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
