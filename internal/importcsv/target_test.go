package importcsv

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestNewTarget(t *testing.T) {
	zero, thousand := 0.0, 1000.0
	tests := []struct {
		name   string
		header []string
		pool   *types.UserPoolType
		want   *Target
	}{{
		name:   "tokyo: email username, MFA on, email auto-verified and required",
		header: tokyoHeader,
		pool:   tokyoPool(),
		want: &Target{
			Header:             tokyoHeader,
			AutoVerified:       []string{"email"},
			Required:           []string{"email"}, // sub is required too, but never in the header
			MFA:                types.UserPoolMfaTypeOn,
			UsernameAttributes: []string{"email"},
			CaseSensitive:      false,
			Attributes: map[string]Attribute{
				"name":           {Type: types.AttributeDataTypeString, MaxLength: 2048},
				"email":          {Type: types.AttributeDataTypeString, MaxLength: 2048},
				"email_verified": {Type: types.AttributeDataTypeBoolean, MaxLength: 2048},
				"phone_number":   {Type: types.AttributeDataTypeString, MaxLength: 2048},
				"updated_at":     {Type: types.AttributeDataTypeNumber, MaxLength: 2048, Min: &zero},
				"custom:tenant":  {Type: types.AttributeDataTypeString, MinLength: 1, MaxLength: 64},
			},
		},
	}, {
		name:   "classic: usernames, MFA optional, both contacts, custom names without prefix",
		header: classicHeader,
		pool:   classicPool(),
		want: &Target{
			Header:        classicHeader,
			AutoVerified:  []string{"email", "phone_number"},
			Required:      []string{"name"},
			MFA:           types.UserPoolMfaTypeOptional,
			CaseSensitive: true, // Cognito's default when the pool does not say
			Attributes: map[string]Attribute{
				"name":         {Type: types.AttributeDataTypeString, MaxLength: 2048},
				"custom:code":  {Type: types.AttributeDataTypeString, MinLength: 3, MaxLength: 8},
				"custom:seats": {Type: types.AttributeDataTypeNumber, MaxLength: 2048, Min: &zero, Max: &thousand},
			},
		},
	}, {
		name:   "no MFA configuration means OFF",
		header: standardHeader[:0:0],
		pool: &types.UserPoolType{AutoVerifiedAttributes: []types.VerifiedAttributeType{"phone_number"},
			UsernameConfiguration: &types.UsernameConfigurationType{CaseSensitive: aws.Bool(true)}},
		want: &Target{
			AutoVerified: []string{"phone_number"}, MFA: types.UserPoolMfaTypeOff, CaseSensitive: true,
			Attributes: map[string]Attribute{},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := tt.header
			if len(header) == 0 {
				header = headerWith()
				tt.want.Header = header
			}
			got, err := NewTarget(header, tt.pool)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreUnexported(Target{})); diff != "" {
				t.Errorf("NewTarget (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewTargetErrors(t *testing.T) {
	noAuto := tokyoPool()
	noAuto.AutoVerifiedAttributes = nil
	phone := tokyoPool()
	phone.AutoVerifiedAttributes = []types.VerifiedAttributeType{"phone_number"}
	badConstraint := tokyoPool()
	badConstraint.SchemaAttributes = append(badConstraint.SchemaAttributes, str("custom:tenant", false, "1", "lots"))
	tests := []struct {
		name   string
		header []string
		pool   *types.UserPoolType
		want   string
	}{
		{"nil pool", tokyoHeader, nil, "no user pool description"},
		{"no auto-verified attribute", tokyoHeader, noAuto, "no auto-verified attribute"},
		{"no username column", tokyoHeader[:len(tokyoHeader)-1], tokyoPool(), "no cognito:username column"},
		{"no mfa column", append(standardHeader[:0:0], "cognito:username"), tokyoPool(), "no cognito:mfa_enabled column"},
		{"auto-verified without its flag column", []string{"phone_number", "cognito:mfa_enabled", "cognito:username"}, phone, "no phone_number_verified column"},
		{"duplicate column", append(tokyoHeader[:0:0], append(tokyoHeader, "email")...), tokyoPool(), `"email" appears twice`},
		{"bad constraint", tokyoHeader, badConstraint, `bad MaxLength "lots"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewTarget(tt.header, tt.pool)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewTarget error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
