package replication_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

func TestPreTokenTrigger(t *testing.T) {
	const attrs = `"userAttributes": {"sub": "0a0b0c0d-1111-4222-8333-444455556666", "email": "a@example.jp", "custom:primary_sub": "` + tokyoSub + `"}`
	for _, tc := range []struct {
		name, event string
		want        map[string]any // the response object after the trigger
	}{
		{"v1", `{"version": "1", "triggerSource": "TokenGeneration_Authentication", "userPoolId": "` + osakaPool + `", "request": {` + attrs + `, "groupConfiguration": {}}, "response": {"claimsOverrideDetails": null}, "extra": 1}`,
			map[string]any{"claimsOverrideDetails": map[string]any{"claimsToAddOrOverride": map[string]any{"primary_sub": tokyoSub}}}},
		{"v2", `{"version": "2", "triggerSource": "TokenGeneration_Authentication", "userPoolId": "` + osakaPool + `", "request": {` + attrs + `, "scopes": []}, "response": {"claimsAndScopeOverrideDetails": null}}`,
			map[string]any{"claimsAndScopeOverrideDetails": map[string]any{"idTokenGeneration": map[string]any{"claimsToAddOrOverride": map[string]any{"primary_sub": tokyoSub}}}}},
		{"created in DR: no claim", `{"version": "1", "request": {"userAttributes": {"sub": "x"}}, "response": {"claimsOverrideDetails": null}}`,
			map[string]any{"claimsOverrideDetails": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			fn := replication.PreTokenTrigger(&replication.Steps{}, slog.New(slog.NewJSONHandler(&logs, nil)))
			out, err := fn(context.Background(), json.RawMessage(tc.event))
			if err != nil {
				t.Fatal(err)
			}
			var got, in map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("output %s: %v", out, err)
			}
			if diff := cmp.Diff(tc.want, got["response"]); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			// Everything else passes through as received.
			json.Unmarshal([]byte(tc.event), &in)
			delete(in, "response")
			delete(got, "response")
			if diff := cmp.Diff(in, got); diff != "" {
				t.Errorf("event outside the response changed (-in +out):\n%s", diff)
			}
			if bytes.Contains(logs.Bytes(), []byte(tokyoSub)) || bytes.Contains(logs.Bytes(), []byte("a@example.jp")) {
				t.Errorf("logs carry user data: %s", logs.String())
			}
		})
	}
}
