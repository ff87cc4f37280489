package cognito

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// TestCaseSensitivity: UsernameConfiguration.CaseSensitive decides whether a username, an email
// used as username, and the email and preferred_username aliases match in another case. A pool
// created without UsernameConfiguration is case sensitive.
func TestCaseSensitivity(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		config    *types.UsernameConfigurationType
		sensitive bool
	}{
		{"default", nil, true},
		{"CaseSensitive true", &types.UsernameConfigurationType{CaseSensitive: aws.Bool(true)}, true},
		{"CaseSensitive false", &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEmulator()
			c := newTestClient(t, e, testRegion)
			found := func(pool, name string) bool {
				_, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(name)})
				if err != nil && apiCode(err) != "UserNotFoundException" {
					t.Fatalf("AdminGetUser %s: %v", name, err)
				}
				return err == nil
			}

			// Email as the username.
			in := emailPoolInput()
			in.UsernameConfiguration = tc.config
			emailPool, err := e.CreatePool(testRegion, in)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(emailPool), Username: aws.String("Alice@Example.com"),
				MessageAction: types.MessageActionTypeSuppress, UserAttributes: []types.AttributeType{{Name: aws.String("email_verified"), Value: aws.String("true")}}}); err != nil {
				t.Fatal(err)
			}
			if !found(emailPool, "Alice@Example.com") {
				t.Error("email username not found in its own case")
			}
			if got := found(emailPool, "alice@example.com"); got == tc.sensitive {
				t.Errorf("lowercased email username found=%v, want %v", got, !tc.sensitive)
			}
			_, err = c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(emailPool), Username: aws.String("alice@example.com"), MessageAction: types.MessageActionTypeSuppress})
			if tc.sensitive && err != nil {
				t.Errorf("a second user alice@example.com in a case-sensitive pool: %v", err)
			}
			if !tc.sensitive && apiCode(err) != "UsernameExistsException" {
				t.Errorf("a second user alice@example.com in a case-insensitive pool: %v, want UsernameExistsException", err)
			}

			// Plain usernames with email and preferred_username aliases.
			alias := &cip.CreateUserPoolInput{PoolName: aws.String("aliases"), UsernameConfiguration: tc.config,
				AliasAttributes: []types.AliasAttributeType{types.AliasAttributeTypeEmail, types.AliasAttributeTypePreferredUsername}}
			aliasPool, err := e.CreatePool(testRegion, alias)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(aliasPool), Username: aws.String("Bob"), MessageAction: types.MessageActionTypeSuppress,
				UserAttributes: []types.AttributeType{
					{Name: aws.String("email"), Value: aws.String("Bob@Example.com")}, {Name: aws.String("email_verified"), Value: aws.String("true")},
					{Name: aws.String("preferred_username"), Value: aws.String("Bobby")},
				}}); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"Bob", "Bob@Example.com", "Bobby"} {
				if !found(aliasPool, name) {
					t.Errorf("%s not found in its own case", name)
				}
			}
			for _, name := range []string{"bob", "bob@example.com", "bobby"} {
				if got := found(aliasPool, name); got == tc.sensitive {
					t.Errorf("%s found=%v, want %v", name, got, !tc.sensitive)
				}
			}
		})
	}
}

// TestAppClientWriteAttributes: DescribeUserPoolClient returns the WriteAttributes a client was
// created with (none when none were given), and ListUserPoolClients names every client of the
// pool, page by page, without its settings.
func TestAppClientWriteAttributes(t *testing.T) {
	ctx := context.Background()
	e := newTestEmulator()
	c := newTestClient(t, e, testRegion)
	pool, err := e.CreatePool(testRegion, emailPoolInput())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"web": {"email", "given_name"}, "open": nil, "admin": {"email", "custom:tenant"}}
	for _, name := range []string{"web", "open", "admin"} {
		if _, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: aws.String(pool), ClientName: aws.String(name), WriteAttributes: want[name]}); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string][]string{}
	var token *string
	pages := 0
	for {
		out, err := c.ListUserPoolClients(ctx, &cip.ListUserPoolClientsInput{UserPoolId: aws.String(pool), MaxResults: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, d := range out.UserPoolClients {
			got[aws.ToString(d.ClientName)] = nil
			dc, err := c.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: aws.String(pool), ClientId: d.ClientId})
			if err != nil {
				t.Fatal(err)
			}
			got[aws.ToString(d.ClientName)] = dc.UserPoolClient.WriteAttributes
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if pages != 2 || len(got) != 3 {
		t.Fatalf("%d pages, clients %v; want 2 pages of 3 clients", pages, got)
	}
	for name, w := range want {
		if !slices.Equal(w, got[name]) {
			t.Errorf("%s: WriteAttributes %v, want %v", name, got[name], w)
		}
	}
	if _, err := c.ListUserPoolClients(ctx, &cip.ListUserPoolClientsInput{UserPoolId: aws.String(pool), MaxResults: aws.Int32(61)}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("MaxResults 61: %v, want InvalidParameterException", err)
	}
}
