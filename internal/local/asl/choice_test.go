package asl_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func choiceDef(rule string) string {
	return `{"StartAt":"C","States":{
		"C":{"Type":"Choice","Choices":[` + rule + `],"Default":"No"},
		"Yes":{"Type":"Succeed"},"No":{"Type":"Succeed"}}}`
}

func TestChoiceOperators(t *testing.T) {
	input := `{"s":"abc","s2":"abd","n":5,"m":5.0,"big":10,"t":true,"z":null,
		"ts":"2026-01-02T03:04:05Z","ts2":"2026-01-02T04:00:00+01:00","star":"a*b","arr":[1]}`
	tests := []struct {
		rule string
		want bool
	}{
		{`{"Variable":"$.s","StringEquals":"abc","Next":"Yes"}`, true},
		{`{"Variable":"$.s","StringEquals":"abd","Next":"Yes"}`, false},
		{`{"Variable":"$.n","StringEquals":"5","Next":"Yes"}`, false}, // type mismatch
		{`{"Variable":"$.s","StringEqualsPath":"$.s2","Next":"Yes"}`, false},
		{`{"Variable":"$.s","StringLessThanPath":"$.s2","Next":"Yes"}`, true},
		{`{"Variable":"$.s","StringGreaterThanEquals":"abc","Next":"Yes"}`, true},
		{`{"Variable":"$.s","StringMatches":"a*","Next":"Yes"}`, true},
		{`{"Variable":"$.s","StringMatches":"*c","Next":"Yes"}`, true},
		{`{"Variable":"$.s","StringMatches":"*d","Next":"Yes"}`, false},
		{`{"Variable":"$.star","StringMatches":"a\\*b","Next":"Yes"}`, true},
		{`{"Variable":"$.s","StringMatches":"a\\*c","Next":"Yes"}`, false},
		{`{"Variable":"$.n","NumericEquals":5,"Next":"Yes"}`, true},
		{`{"Variable":"$.m","NumericEquals":5,"Next":"Yes"}`, true},
		{`{"Variable":"$.n","NumericEqualsPath":"$.m","Next":"Yes"}`, true},
		{`{"Variable":"$.n","NumericGreaterThan":4.5,"Next":"Yes"}`, true},
		{`{"Variable":"$.n","NumericGreaterThanEquals":5,"Next":"Yes"}`, true},
		{`{"Variable":"$.n","NumericLessThan":5,"Next":"Yes"}`, false},
		{`{"Variable":"$.n","NumericLessThanEquals":5,"Next":"Yes"}`, true},
		{`{"Variable":"$.n","NumericLessThanPath":"$.big","Next":"Yes"}`, true},
		{`{"Variable":"$.n","NumericGreaterThanPath":"$.big","Next":"Yes"}`, false},
		{`{"Variable":"$.s","NumericEquals":5,"Next":"Yes"}`, false},
		{`{"Variable":"$.t","BooleanEquals":true,"Next":"Yes"}`, true},
		{`{"Variable":"$.t","BooleanEqualsPath":"$.t","Next":"Yes"}`, true},
		{`{"Variable":"$.ts","TimestampEquals":"2026-01-02T03:04:05Z","Next":"Yes"}`, true},
		{`{"Variable":"$.ts","TimestampLessThanPath":"$.ts2","Next":"Yes"}`, false}, // ts2 is 03:00Z
		{`{"Variable":"$.ts2","TimestampLessThanPath":"$.ts","Next":"Yes"}`, true},
		{`{"Variable":"$.ts2","TimestampEquals":"2026-01-02T03:00:00Z","Next":"Yes"}`, true},
		{`{"Variable":"$.ts2","TimestampGreaterThan":"2026-01-02T03:00:00Z","Next":"Yes"}`, false},
		{`{"Variable":"$.missing","IsPresent":false,"Next":"Yes"}`, true},
		{`{"Variable":"$.s","IsPresent":true,"Next":"Yes"}`, true},
		{`{"Variable":"$.z","IsNull":true,"Next":"Yes"}`, true},
		{`{"Variable":"$.n","IsNumeric":true,"Next":"Yes"}`, true},
		{`{"Variable":"$.s","IsString":true,"Next":"Yes"}`, true},
		{`{"Variable":"$.s","IsBoolean":true,"Next":"Yes"}`, false},
		{`{"Variable":"$.ts","IsTimestamp":true,"Next":"Yes"}`, true},
		{`{"And":[{"Variable":"$.n","NumericEquals":5},{"Variable":"$.t","BooleanEquals":true}],"Next":"Yes"}`, true},
		{`{"And":[{"Variable":"$.n","NumericEquals":5},{"Variable":"$.t","BooleanEquals":false}],"Next":"Yes"}`, false},
		{`{"Or":[{"Variable":"$.n","NumericEquals":4},{"Variable":"$.t","BooleanEquals":true}],"Next":"Yes"}`, true},
		{`{"Not":{"Variable":"$.s","StringEquals":"abc"},"Next":"Yes"}`, false},
		{`{"And":[{"Variable":"$.missing","IsPresent":true},{"Variable":"$.missing","StringEquals":"x"}],"Next":"Yes"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			x := runDef(t, choiceDef(tt.rule), nil, input)
			want := []string{"C", "No"}
			if tt.want {
				want = []string{"C", "Yes"}
			}
			if diff := cmp.Diff(want, x.Path()); diff != "" {
				t.Errorf("path (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChoiceFailures(t *testing.T) {
	tests := []struct {
		name string
		def  string
		want outcome
	}{{
		name: "no match and no Default",
		def: `{"StartAt":"C","States":{"C":{"Type":"Choice",
			"Choices":[{"Variable":"$.n","NumericEquals":1,"Next":"D"}]},"D":{"Type":"Succeed"}}}`,
		want: failed("States.NoChoiceMatched", ""),
	}, {
		name: "missing Variable",
		def:  choiceDef(`{"Variable":"$.missing","StringEquals":"x","Next":"Yes"}`),
		want: failed("States.Runtime", ""),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := outcomeOf(t, runDef(t, tt.def, nil, `{"n":2}`))
			if diff := cmp.Diff(tt.want, got, ignoreCause); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}
