package readiness

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
)

func TestConstraints(t *testing.T) {
	num := func(lo, hi *string) types.SchemaAttributeType {
		return types.SchemaAttributeType{AttributeDataType: types.AttributeDataTypeNumber, NumberAttributeConstraints: &types.NumberAttributeConstraintsType{MinValue: lo, MaxValue: hi}}
	}
	str := func(c *types.StringAttributeConstraintsType) types.SchemaAttributeType {
		return types.SchemaAttributeType{AttributeDataType: types.AttributeDataTypeString, StringAttributeConstraints: c}
	}
	tests := []struct {
		name        string
		primary, dr types.SchemaAttributeType
		fail, warn  []string
	}{
		{"same", num(aws.String("0"), aws.String("10")), num(aws.String("0"), aws.String("10")), nil, nil},
		{"DR bounds a number the primary does not", num(nil, nil), num(nil, aws.String("100")), []string{"a: DR maximum value 100 is stricter than the primary's none: values the primary accepts would be refused"}, nil},
		{"DR looser", num(aws.String("1"), aws.String("10")), num(aws.String("0"), nil), nil, []string{"a: DR minimum value 0 is looser than the primary's 1", "a: DR maximum value none is looser than the primary's 10"}},
		{"default string bounds", str(nil), str(&types.StringAttributeConstraintsType{MinLength: aws.String("0"), MaxLength: aws.String("2048")}), nil, nil},
		{"DR minimum length", str(nil), str(&types.StringAttributeConstraintsType{MinLength: aws.String("3")}), []string{"a: DR minimum length 3 is stricter than the primary's 0: values the primary accepts would be refused"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f findings
			constraints(&f, "a", tt.primary, tt.dr)
			if diff := cmp.Diff(tt.fail, f.fail); diff != "" {
				t.Errorf("fail (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.warn, f.warn); diff != "" {
				t.Errorf("warn (-want +got):\n%s", diff)
			}
		})
	}
}
