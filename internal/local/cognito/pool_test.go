package cognito

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
)

func TestCreateAndDescribeUserPool(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	c := newTestClient(t, e, testRegion)

	id := createTOTPPool(t, c, emailPoolInput())
	if !strings.HasPrefix(id, testRegion+"_") || len(id) != len(testRegion)+10 {
		t.Errorf("pool id %q, want %s_ and 9 alphanumerics", id, testRegion)
	}
	out, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &id})
	if err != nil {
		t.Fatalf("DescribeUserPool: %v", err)
	}
	p := out.UserPool
	type summary struct {
		Name, Arn              string
		Mfa                    types.UserPoolMfaType
		UsernameAttributes     []types.UsernameAttributeType
		AutoVerifiedAttributes []types.VerifiedAttributeType
		Users                  int32
		MinimumLength          int32
		Created                bool
	}
	want := summary{
		Name: "dr-test", Arn: "arn:aws:cognito-idp:ap-northeast-1:123456789012:userpool/" + id,
		Mfa: types.UserPoolMfaTypeOn, UsernameAttributes: []types.UsernameAttributeType{"email"},
		AutoVerifiedAttributes: []types.VerifiedAttributeType{"email"}, MinimumLength: 8, Created: true,
	}
	got := summary{
		Name: aws.ToString(p.Name), Arn: aws.ToString(p.Arn), Mfa: p.MfaConfiguration,
		UsernameAttributes: p.UsernameAttributes, AutoVerifiedAttributes: p.AutoVerifiedAttributes,
		Users: p.EstimatedNumberOfUsers, MinimumLength: aws.ToInt32(p.Policies.PasswordPolicy.MinimumLength),
		Created: p.CreationDate.Equal(testNow) && p.LastModifiedDate.Equal(testNow),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DescribeUserPool (-want +got):\n%s", diff)
	}

	schema := map[string]types.SchemaAttributeType{}
	var names []string
	for _, a := range p.SchemaAttributes {
		schema[aws.ToString(a.Name)] = a
		names = append(names, aws.ToString(a.Name))
	}
	wantNames := append(append([]string{}, standardAttributes...), "custom:tenant", "custom:level")
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("schema attribute names (-want +got):\n%s", diff)
	}
	type attrSummary struct {
		Type              types.AttributeDataType
		Mutable, Required bool
		MaxLength         string
	}
	gotAttrs := map[string]attrSummary{}
	for _, n := range []string{"sub", "email", "custom:tenant", "custom:level"} {
		a := schema[n]
		s := attrSummary{Type: a.AttributeDataType, Mutable: aws.ToBool(a.Mutable), Required: aws.ToBool(a.Required)}
		if a.StringAttributeConstraints != nil {
			s.MaxLength = aws.ToString(a.StringAttributeConstraints.MaxLength)
		}
		gotAttrs[n] = s
	}
	wantAttrs := map[string]attrSummary{
		"sub":           {Type: "String", Mutable: false, Required: true, MaxLength: "2048"},
		"email":         {Type: "String", Mutable: true, Required: true, MaxLength: "2048"},
		"custom:tenant": {Type: "String", Mutable: true, MaxLength: "32"},
		"custom:level":  {Type: "Number", Mutable: false},
	}
	if diff := cmp.Diff(wantAttrs, gotAttrs); diff != "" {
		t.Errorf("schema attributes (-want +got):\n%s", diff)
	}

	list, err := c.ListUserPools(ctx, &cip.ListUserPoolsInput{MaxResults: aws.Int32(10)})
	if err != nil || len(list.UserPools) != 1 || aws.ToString(list.UserPools[0].Id) != id {
		t.Errorf("ListUserPools = %+v, %v; want the one pool", list, err)
	}
	if _, err := c.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: &id}); err != nil {
		t.Fatalf("DeleteUserPool: %v", err)
	}
	_, err = c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &id})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("DescribeUserPool after delete: %v, want ResourceNotFoundException", err)
	}
}

func TestCreateUserPoolRejects(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, newTestEmulator(), testRegion)
	tests := []struct {
		name string
		in   *cip.CreateUserPoolInput
		want string
	}{
		{"bad name", &cip.CreateUserPoolInput{PoolName: aws.String("bad/name")}, `1 validation error detected: Value 'bad/name' at 'poolName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w\s+=,.@-]+`},
		{"required custom", &cip.CreateUserPoolInput{PoolName: aws.String("p"), Schema: []types.SchemaAttributeType{{Name: aws.String("x"), AttributeDataType: "String", Required: aws.Bool(true)}}}, "Required custom attributes are not supported currently."},
		{"alias and username", &cip.CreateUserPoolInput{PoolName: aws.String("p"), UsernameAttributes: []types.UsernameAttributeType{"email"}, AliasAttributes: []types.AliasAttributeType{"email"}}, "Only one of the aliasAttributes or usernameAttributes can be set in a User Pool."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateUserPool(ctx, tt.in)
			var ip *types.InvalidParameterException
			if !errors.As(err, &ip) {
				t.Fatalf("err = %v, want InvalidParameterException", err)
			}
			if diff := cmp.Diff(tt.want, apiMessage(err)); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRegionMismatchIsNotFound(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	id, err := e.CreatePool(testRegion, emailPoolInput())
	if err != nil {
		t.Fatal(err)
	}
	other := newTestClient(t, e, "us-east-1")
	for name, call := range map[string]func() error{
		"DescribeUserPool": func() error {
			_, err := other.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &id})
			return err
		},
		"ListUsers": func() error { _, err := other.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &id}); return err },
		"AdminGetUser": func() error {
			_, err := other.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &id, Username: aws.String("a@example.com")})
			return err
		},
	} {
		var nf *types.ResourceNotFoundException
		if err := call(); !errors.As(err, &nf) {
			t.Errorf("%s from us-east-1: %v, want ResourceNotFoundException", name, err)
		} else if got, want := apiMessage(err), "User pool "+id+" does not exist."; got != want {
			t.Errorf("%s message %q, want %q", name, got, want)
		}
	}
	if _, err := newTestClient(t, e, testRegion).DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &id}); err != nil {
		t.Errorf("DescribeUserPool in its own region: %v", err)
	}
}

func TestUnknownOperation(t *testing.T) {
	srv := httptest.NewServer(newTestEmulator())
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.FlyToTheMoon")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261127/ap-northeast-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	got := []string{resp.Status, resp.Header.Get("x-amzn-ErrorType"), string(body)}
	want := []string{"400 Bad Request", "UnknownOperationException", `{"__type":"UnknownOperationException","message":""}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unknown operation (-want +got):\n%s", diff)
	}
}

func TestGetCSVHeader(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	id, err := e.CreatePool(testRegion, emailPoolInput())
	if err != nil {
		t.Fatal(err)
	}
	out, err := newTestClient(t, e, testRegion).GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: &id})
	if err != nil {
		t.Fatalf("GetCSVHeader: %v", err)
	}
	want := []string{"name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
		"profile", "picture", "website", "email", "email_verified", "gender", "birthdate", "zoneinfo", "locale",
		"phone_number", "phone_number_verified", "address", "updated_at", "custom:tenant", "custom:level",
		"cognito:mfa_enabled", "cognito:username"}
	if diff := cmp.Diff(want, out.CSVHeader); diff != "" {
		t.Errorf("CSVHeader (-want +got):\n%s", diff)
	}
	if aws.ToString(out.UserPoolId) != id {
		t.Errorf("UserPoolId = %q, want %q", aws.ToString(out.UserPoolId), id)
	}
}
