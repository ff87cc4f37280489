package boundary_test

import (
	"strings"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
)

// TestDecodeStrictRefusesKeysInAnotherCase: encoding/json alone matches keys case-insensitively,
// so {"MirrorDeletes": true} would turn on mirrored deletes and {"REGION": …} would pass for the
// region. Both are refused, naming the key, like any unknown key; the exact spelling works.
func TestDecodeStrictRefusesKeysInAnotherCase(t *testing.T) {
	const reconcile = `{"request":{"primaryUserPoolId":"ap-northeast-1_a","primaryRegion":"ap-northeast-1","drUserPoolId":"ap-northeast-3_b","drRegion":"ap-northeast-3","bucket":"b","bucketRegion":"ap-northeast-3",%s},"executionName":"x","startTime":"2026-12-02T00:00:00Z"}`
	const exportIn = `{"request":{"userPoolId":"ap-northeast-1_a",%s,"bucket":"b","bucketRegion":"ap-northeast-3"},"executionName":"x","startTime":"2026-12-02T00:00:00Z"}`

	var plan replication.PlanInput
	err := boundary.DecodeStrict([]byte(strings.Replace(reconcile, "%s", `"MirrorDeletes":true`, 1)), &plan)
	if err == nil || boundary.TypeName(err) != "InvalidInput" || !strings.Contains(err.Error(), `unknown field "MirrorDeletes" at request.MirrorDeletes`) {
		t.Errorf("MirrorDeletes: err = %v (mirrorDeletes decoded as %v), want InvalidInput naming request.MirrorDeletes", err, plan.Request.MirrorDeletes)
	}
	plan = replication.PlanInput{}
	if err := boundary.DecodeStrict([]byte(strings.Replace(reconcile, "%s", `"mirrorDeletes":true`, 1)), &plan); err != nil || !plan.Request.MirrorDeletes {
		t.Errorf("mirrorDeletes: err = %v, decoded %v; want accepted and true", err, plan.Request.MirrorDeletes)
	}

	var ex backup.ExportInput
	err = boundary.DecodeStrict([]byte(strings.Replace(exportIn, "%s", `"REGION":"ap-northeast-1"`, 1)), &ex)
	if err == nil || boundary.TypeName(err) != "InvalidInput" || !strings.Contains(err.Error(), `unknown field "REGION" at request.REGION`) {
		t.Errorf("REGION: err = %v, want InvalidInput naming request.REGION", err)
	}
	ex = backup.ExportInput{}
	if err := boundary.DecodeStrict([]byte(strings.Replace(exportIn, "%s", `"region":"ap-northeast-1"`, 1)), &ex); err != nil || ex.Request.Region != "ap-northeast-1" {
		t.Errorf("region: err = %v, region %q; want accepted", err, ex.Request.Region)
	}
}

// TestDecodeStrictLooksIntoNestedValues: the check follows slices, maps and pointers, and leaves
// alone what decodes itself (time.Time) or is free-form (any).
func TestDecodeStrictLooksIntoNestedValues(t *testing.T) {
	type inner struct {
		Name string `json:"name"`
	}
	type embedded struct {
		Kind string `json:"kind"`
	}
	type outer struct {
		embedded
		List  []inner          `json:"list"`
		ByKey map[string]inner `json:"byKey"`
		Ptr   *inner           `json:"ptr,omitempty"`
		Free  any              `json:"free"`
		Plain string
	}
	ok := `{"kind":"k","list":[{"name":"a"}],"byKey":{"X":{"name":"b"}},"ptr":{"name":"c"},"free":{"Any":1},"Plain":"p"}`
	var v outer
	if err := boundary.DecodeStrict([]byte(ok), &v); err != nil {
		t.Fatalf("exact spelling refused: %v", err)
	}
	for _, tt := range []struct{ in, key string }{
		{`{"Kind":"k"}`, `unknown field "Kind" at Kind`},
		{`{"list":[{"name":"a"},{"Name":"b"}]}`, `unknown field "Name" at list.Name`},
		{`{"byKey":{"X":{"NAME":"b"}}}`, `at byKey.X.NAME`},
		{`{"ptr":{"nAme":"c"}}`, `at ptr.nAme`},
		{`{"plain":"p"}`, `unknown field "plain"`},
	} {
		err := boundary.DecodeStrict([]byte(tt.in), &outer{})
		if err == nil || !strings.Contains(err.Error(), tt.key) {
			t.Errorf("%s: err = %v, want it to name %s", tt.in, err, tt.key)
		}
	}
}
