package poolpair_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

func emailPool(caseSensitive *bool) *types.UserPoolType {
	p := &types.UserPoolType{
		UsernameAttributes: []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		SchemaAttributes: []types.SchemaAttributeType{
			{Name: aws.String("email"), Mutable: aws.Bool(true)},
			{Name: aws.String("tenant")},                                 // Mutable omitted: the default, mutable
			{Name: aws.String("custom:badge"), Mutable: aws.Bool(false)}, // set once
			{Name: aws.String("secret"), DeveloperOnlyAttribute: aws.Bool(true)},
		},
	}
	if caseSensitive != nil {
		p.UsernameConfiguration = &types.UsernameConfigurationType{CaseSensitive: caseSensitive}
	}
	return p
}

func TestDescribeReadsSchemaOneWay(t *testing.T) {
	got := poolpair.Describe(emailPool(nil))
	want := poolpair.Pool{
		UsernameAttributes: []string{"email"}, CaseSensitive: true,
		Defined:            map[string]bool{"email": true, "custom:tenant": true, "custom:badge": true},
		Writable:           map[string]bool{"email": true, "custom:tenant": true},
		KeepsUntilVerified: map[string]bool{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}
}

// TestDescribeReadsKeepsUntilVerified: an address is kept until verified only when the pool
// lists it in AttributesRequireVerificationBeforeUpdate and auto-verifies it.
func TestDescribeReadsKeepsUntilVerified(t *testing.T) {
	p := emailPool(nil)
	p.AutoVerifiedAttributes = []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}
	p.UserAttributeUpdateSettings = &types.UserAttributeUpdateSettingsType{AttributesRequireVerificationBeforeUpdate: []types.VerifiedAttributeType{
		types.VerifiedAttributeTypeEmail, types.VerifiedAttributeTypePhoneNumber}}
	if diff := cmp.Diff(map[string]bool{"email": true}, poolpair.Describe(p).KeepsUntilVerified); diff != "" {
		t.Errorf("KeepsUntilVerified (-want +got):\n%s", diff)
	}
}

func TestMatcherFoldsOnlyWhenBothPoolsAreCaseInsensitive(t *testing.T) {
	alice := snapshot.User{Username: "0b1c-uuid", Attributes: map[string]string{"email": "Alice@Example.com"}}
	for _, tc := range []struct {
		name        string
		primary, dr *bool
		wantKey     string
	}{
		{"default (case sensitive)", nil, nil, "Alice@Example.com"},
		{"both insensitive", aws.Bool(false), aws.Bool(false), "alice@example.com"},
		{"primary sensitive", aws.Bool(true), aws.Bool(false), "Alice@Example.com"},
		{"DR sensitive", aws.Bool(false), nil, "Alice@Example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := poolpair.NewMatcher(poolpair.Describe(emailPool(tc.primary)), poolpair.Describe(emailPool(tc.dr)))
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Key(alice); got != tc.wantKey {
				t.Errorf("Key = %q, want %q", got, tc.wantKey)
			}
			if got := m.Name(alice); got != "Alice@Example.com" {
				t.Errorf("Name = %q, want the exact value the pool holds", got)
			}
		})
	}
}

func TestMatcherRefusesPoolsThatSignInDifferently(t *testing.T) {
	byUsername := &types.UserPoolType{}
	if _, err := poolpair.NewMatcher(poolpair.Describe(emailPool(nil)), poolpair.Describe(byUsername)); err == nil {
		t.Error("email pool and username pool matched")
	}
}

func TestEligible(t *testing.T) {
	m := poolpair.Matcher{Attribute: "email"}
	for _, tc := range []struct {
		status, verified string
		want             bool
	}{
		{"CONFIRMED", "true", true},
		{"CONFIRMED", "TRUE", true},
		{"CONFIRMED", "false", false},
		{"CONFIRMED", "", false},
		{"UNCONFIRMED", "true", false},
		{"FORCE_CHANGE_PASSWORD", "True", true},
	} {
		u := snapshot.User{Status: tc.status, Attributes: map[string]string{"email": "a@example.com", "email_verified": tc.verified}}
		if got, why := m.Eligible(u); got != tc.want || got == (why != "") {
			t.Errorf("%s verified=%q: eligible %v (%q), want %v", tc.status, tc.verified, got, why, tc.want)
		}
	}
	// Matching by username: no contact to verify, UNCONFIRMED still refused.
	if ok, _ := (poolpair.Matcher{}).Eligible(snapshot.User{Status: "CONFIRMED"}); !ok {
		t.Error("a confirmed user of a username pool is not eligible")
	}
}

func TestNormalizeVerified(t *testing.T) {
	got := poolpair.NormalizeVerified(map[string]string{"email": "a@example.com", "email_verified": "TRUE", "phone_number_verified": "false"})
	want := map[string]string{"email": "a@example.com", "email_verified": "true"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got = poolpair.NormalizeVerified(map[string]string{"phone_number": "+81900000000"})
	if got["phone_number_verified"] != "false" {
		t.Errorf("missing flag of a present phone: %q, want false", got["phone_number_verified"])
	}
}

func TestTrustOf(t *testing.T) {
	web := types.UserPoolClientType{ClientName: aws.String("web"), ClientId: aws.String("c1"), WriteAttributes: []string{"email", "given_name"}}
	legacy := types.UserPoolClientType{ClientName: aws.String("legacy"), ClientId: aws.String("c2")}
	open := types.UserPoolClientType{ClientName: aws.String("admin-app"), ClientId: aws.String("c3"), WriteAttributes: []string{"email", poolpair.PrimarySubAttribute}}
	if tr := poolpair.TrustOf([]types.UserPoolClientType{web}); !tr.Trusted || tr.Reason() != "" {
		t.Errorf("explicit WriteAttributes without it: %+v", tr)
	}
	if tr := poolpair.TrustOf(nil); !tr.Trusted {
		t.Errorf("no app client: %+v", tr)
	}
	tr := poolpair.TrustOf([]types.UserPoolClientType{web, legacy, open})
	if tr.Trusted || !cmp.Equal(tr.Writers, []string{"legacy (c2)", "admin-app (c3)"}) || !strings.Contains(tr.Reason(), "legacy (c2)") {
		t.Errorf("empty WriteAttributes and an explicit grant: %+v %q", tr, tr.Reason())
	}
}
