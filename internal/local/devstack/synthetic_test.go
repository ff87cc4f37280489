package devstack

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
)

// TestSyntheticScenarioKeepsItsSpec saves a stack of synthesized pools, one user changed, as
// `cognito-dr local --synthetic-users N --data-dir DIR` does on SIGTERM: the saved state holds
// the spec and the changed user, not the users, and the next start has every user back.
func TestSyntheticScenarioKeepsItsSpec(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	const users = 50_000
	tokyo, osaka := SyntheticPools(users, 1)
	st, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	sc, sm, restored, err := st.OpenScenarioWith(ctx, dir, tokyo, osaka)
	if err != nil || restored {
		t.Fatalf("open: restored %v, %v", restored, err)
	}
	c := st.Clients.Cognito(sc.Tokyo.Region)
	changed := localcognito.SyntheticEmail(7)
	if _, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &sc.TokyoID, Username: &changed,
		UserAttributes: []types.AttributeType{{Name: aws.String("given_name"), Value: aws.String("Kept")}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(dir, sc, sm); err != nil {
		t.Fatal(err)
	}
	sm.API.Close()
	st.Close()
	info, err := os.Stat(filepath.Join(dir, cognitoFile))
	if err != nil {
		t.Fatal(err)
	}
	// 50,000 stored users take megabytes; the spec and one user, a few kilobytes.
	if info.Size() > 64<<10 {
		t.Errorf("%s is %d bytes: the synthesized users were saved, not their spec", cognitoFile, info.Size())
	}

	st2, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	sc2, sm2, restored, err := st2.OpenScenarioWith(ctx, dir, TokyoPool(5), OsakaPool())
	if err != nil || !restored {
		t.Fatalf("reopen: restored %v, %v", restored, err)
	}
	defer sm2.API.Close()
	c2 := st2.Clients.Cognito(sc2.Tokyo.Region)
	for _, p := range []struct {
		id, region string
		want       int
	}{{sc2.TokyoID, sc2.Tokyo.Region, users}, {sc2.OsakaID, sc2.Osaka.Region, osaka.Synthetic.Users}} {
		pool, want := p.id, p.want
		out, err := st2.Clients.Cognito(p.region).DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(pool)})
		if err != nil {
			t.Fatal(err)
		}
		if got := int(out.UserPool.EstimatedNumberOfUsers); got != want {
			t.Errorf("pool %s has %d users after the restart, want %d", pool, got, want)
		}
	}
	u, err := c2.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &sc2.TokyoID, Username: &changed})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range u.UserAttributes {
		if aws.ToString(a.Name) == "given_name" && aws.ToString(a.Value) != "Kept" {
			t.Errorf("the changed user came back with given_name %q", aws.ToString(a.Value))
		}
	}
}
