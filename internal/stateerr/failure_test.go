package stateerr

import (
	"strings"
	"testing"
)

func TestCaughtMessageUnwrapsTheLambdaCause(t *testing.T) {
	tests := []struct {
		caught *Caught
		want   string
	}{
		{&Caught{Error: "Transient", Cause: `{"errorMessage":"list users: throttled","errorType":"Transient"}`}, "list users: throttled"},
		{&Caught{Error: "States.Timeout", Cause: "Task timed out after 900 seconds"}, "Task timed out after 900 seconds"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := tt.caught.Message(); got != tt.want {
			t.Errorf("Message() = %q, want %q", got, tt.want)
		}
	}
}

func TestStorySaysWhetherAnythingChanged(t *testing.T) {
	clean := Story(nil, "the DR pool")
	if !strings.HasPrefix(clean, "Nothing was changed") || !strings.Contains(clean, "the DR pool") {
		t.Errorf("clean story %q", clean)
	}
	dirty := Story(&Changes{Bucket: "b", Region: "ap-northeast-3", Prefix: "cognito-dr/reconcile/p/run/"}, "the DR pool", "ledger/ (repairs)")
	for _, want := range []string{"Changes were made before the failure", "s3://b/cognito-dr/reconcile/p/run/", "ap-northeast-3", "ledger/ (repairs)"} {
		if !strings.Contains(dirty, want) {
			t.Errorf("dirty story %q does not say %q", dirty, want)
		}
	}
}
