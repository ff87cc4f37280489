package asl_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/google/go-cmp/cmp"
)

// passWith returns a machine whose only state outputs {"r": <expr>}.
func passWith(expr string) string {
	expr = strings.ReplaceAll(expr, `\`, `\\`)
	expr = strings.ReplaceAll(expr, `"`, `\"`)
	return `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true,"Parameters":{"r.$":"` + expr + `"}}}}`
}

func TestIntrinsics(t *testing.T) {
	input := `{"name":"Ada","n":3,"list":[1,2,3],"obj":{"a":1,"b":{"c":2}},"other":{"b":3,"d":4},
		"json":"{\"k\":[true,null]}","csv":"a,b;c","ok":true}`
	tests := []struct {
		expr string
		want string
	}{
		{`States.Format('Hello, {}!', $.name)`, `"Hello, Ada!"`},
		{`States.Format('{} + {} = {}', 1, $.n, $.ok)`, `"1 + 3 = true"`},
		{`States.Format('escaped \{\} and \'quotes\' and \\ {}', null)`, `"escaped {} and 'quotes' and \\ null"`},
		{`States.Format('{}', States.Format('{}{}', 'a', 'b'))`, `"ab"`},
		{`States.StringToJson($.json)`, `{"k":[true,null]}`},
		{`States.JsonToString($.obj)`, `"{\"a\":1,\"b\":{\"c\":2}}"`},
		{`States.Array('a', 1, $.ok, $.list)`, `["a",1,true,[1,2,3]]`},
		{`States.Array()`, `[]`},
		{`States.ArrayLength($.list)`, `3`},
		{`States.ArrayGetItem($.list, 1)`, `2`},
		{`States.ArrayGetItem(States.Array('x','y'), $.list[0])`, `"y"`},
		{`States.ArrayContains($.list, 2)`, `true`},
		{`States.ArrayRange(1, 9, 3)`, `[1,4,7]`},
		{`States.ArrayPartition($.list, 2)`, `[[1,2],[3]]`},
		{`States.ArrayUnique(States.Array(1, 1, 'a', 'a'))`, `[1,"a"]`},
		{`States.MathAdd($.n, -5)`, `-2`},
		{`States.MathAdd($$.State.RetryCount, 1)`, `1`},
		{`States.JsonMerge($.obj, $.other, false)`, `{"a":1,"b":3,"d":4}`},
		{`States.StringSplit($.csv, ',;')`, `["a","b","c"]`},
		{`States.StringSplit('1,2,3,4,5', ',')`, `["1","2","3","4","5"]`},
		{`States.Base64Encode('Data to encode')`, `"RGF0YSB0byBlbmNvZGU="`},
		{`States.Base64Decode('RGF0YSB0byBlbmNvZGU=')`, `"Data to encode"`},
		{`States.Hash('input data', 'SHA-1')`, `"aaff4a450a104cd177d28d18d74485e8cae074b7"`},
		{`$.list[?@ > 1]`, `[2,3]`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got := outcomeOf(t, runDef(t, passWith(tt.expr), nil, input))
			if diff := cmp.Diff(succeeded(t, `{"r":`+tt.want+`}`), got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIntrinsicUUID(t *testing.T) {
	x := runDef(t, passWith(`States.UUID()`), nil, `{}`)
	out, _ := outcomeOf(t, x).Output.(map[string]any)
	s, _ := out["r"].(string)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(s) {
		t.Errorf("States.UUID() = %q, want a version 4 UUID", s)
	}
}

func TestIntrinsicRuntimeErrors(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{`States.ArrayGetItem($.list, 5)`, "States.IntrinsicFailure"},
		{`States.StringToJson('{bad')`, "States.IntrinsicFailure"},
		{`States.MathAdd($.list, 1)`, "States.IntrinsicFailure"},
		{`States.Format('{} {}', 'one')`, "States.IntrinsicFailure"},
		{`States.Format('{}', $.list)`, "States.IntrinsicFailure"},
		{`States.ArrayLength($.missing)`, "States.Runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got := outcomeOf(t, runDef(t, passWith(tt.expr), nil, `{"list":[1]}`))
			if diff := cmp.Diff(failed(tt.want, ""), got, ignoreCause); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIntrinsicParseErrors(t *testing.T) {
	for _, expr := range []string{
		`States.MathRandom(1, 10)`,     // not implemented
		`States.Nope()`,                // unknown
		`States.ArrayLength()`,         // arity
		`States.UUID(1)`,               // arity
		`States.Format('unterminated)`, // string literal
		`States.Format('x', )`,         // missing argument
		`States.JsonMerge($.a, $.b, true)`,
		`States.Array(1 2)`,
		`States.Array(1`,
		`not a path`,
	} {
		t.Run(expr, func(t *testing.T) {
			if _, err := asl.Parse([]byte(passWith(expr))); err == nil {
				t.Errorf("Parse accepted %s", expr)
			} else if !strings.Contains(err.Error(), `state "P"`) {
				t.Errorf("error %q does not name the state", err)
			}
		})
	}
}
