package poolconfig_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/poolconfig"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

func str(name string, mutable bool, minLen, maxLen string) types.SchemaAttributeType {
	return types.SchemaAttributeType{Name: aws.String(name), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(mutable),
		StringAttributeConstraints: &types.StringAttributeConstraintsType{MinLength: aws.String(minLen), MaxLength: aws.String(maxLen)}}
}

// TestSchemaGaps: what a target pool lacks (custom attributes, added later) is told apart from
// what makes it unfit (fixed at creation), each named.
func TestSchemaGaps(t *testing.T) {
	snapshot := types.UserPoolType{
		UsernameAttributes: []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		SchemaAttributes: []types.SchemaAttributeType{
			str("email", true, "0", "2048"),
			str("custom:tenant", false, "2", "40"),
			{Name: aws.String("custom:level"), AttributeDataType: types.AttributeDataTypeNumber, Mutable: aws.Bool(true)},
		},
	}
	cases := []struct {
		name             string
		target           types.UserPoolType
		wantMissing      []string
		wantIncompatible []string
	}{
		{name: "same", target: snapshot},
		{name: "missing custom attributes", target: types.UserPoolType{UsernameAttributes: snapshot.UsernameAttributes,
			SchemaAttributes: []types.SchemaAttributeType{str("email", true, "0", "2048")}},
			wantMissing: []string{"tenant", "level"}},
		{name: "clashes", target: types.UserPoolType{
			UsernameAttributes:    snapshot.UsernameAttributes,
			UsernameConfiguration: &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)},
			SchemaAttributes: []types.SchemaAttributeType{
				{Name: aws.String("email"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true), Required: aws.Bool(true)},
				{Name: aws.String("phone_number"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true), Required: aws.Bool(true)},
				str("custom:tenant", true, "2", "10"),
				{Name: aws.String("custom:level"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true)},
			}},
			wantIncompatible: []string{
				"custom:tenant is immutable in the snapshot's pool and mutable in the target",
				"custom:tenant allows lengths [2, 40] in the snapshot's pool but [2, 10] in the target",
				"custom:level is Number in the snapshot's pool and String in the target",
				"email is required in the target but not in the snapshot's pool",
				"phone_number is required in the target but not in the snapshot's pool",
				"usernames are case sensitive in the snapshot's pool and case insensitive in the target",
			}},
		{name: "username attributes", target: types.UserPoolType{SchemaAttributes: snapshot.SchemaAttributes},
			wantIncompatible: []string{"username attributes differ: snapshot [email], target []"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.target.Id = aws.String("ap-northeast-3_Target1")
			g := poolconfig.SchemaGaps(poolconfig.Config{Pool: snapshot}, &tc.target)
			var missing []string
			for _, m := range g.Missing {
				missing = append(missing, aws.ToString(m.Name))
			}
			if diff := cmp.Diff(tc.wantMissing, missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantIncompatible, g.Incompatible); diff != "" {
				t.Errorf("incompatible (-want +got):\n%s", diff)
			}
			err := g.Err(true)
			var unfit *stateerr.PoolNotImportable
			if (len(tc.wantIncompatible) > 0) != errors.As(err, &unfit) {
				t.Errorf("Err(addMissing): %v", err)
			}
			err = g.Err(false)
			if (len(tc.wantIncompatible)+len(tc.wantMissing) > 0) != errors.As(err, &unfit) {
				t.Errorf("Err(no add): %v", err)
			}
			if len(tc.wantMissing) > 0 && !strings.Contains(err.Error(), "custom:tenant, custom:level") {
				t.Errorf("Err(no add) does not name the missing attributes: %v", err)
			}
		})
	}
}

// TestAddMissing: the custom attributes a target lacks are added, after which it has no gap.
func TestAddMissing(t *testing.T) {
	ctx := context.Background()
	st := start(t)
	c := st.Clients.Cognito(tokyo)
	id := richPool(t, ctx, st)
	cfg, err := poolconfig.Capture(ctx, c, fast(tokyo), id)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("bare"),
		UsernameAttributes:    []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		UsernameConfiguration: &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)},
		Schema:                []types.SchemaAttributeType{{Name: aws.String("email"), AttributeDataType: types.AttributeDataTypeString, Required: aws.Bool(true), Mutable: aws.Bool(true)}}})
	if err != nil {
		t.Fatal(err)
	}
	gaps := poolconfig.SchemaGaps(cfg, out.UserPool)
	if len(gaps.Missing) != 2 || len(gaps.Incompatible) != 0 {
		t.Fatalf("gaps of a bare pool: %+v", gaps)
	}
	if err := poolconfig.AddMissing(ctx, c, fast(tokyo), aws.ToString(out.UserPool.Id), gaps); err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: out.UserPool.Id})
	if err != nil {
		t.Fatal(err)
	}
	if g := poolconfig.SchemaGaps(cfg, d.UserPool); len(g.Missing)+len(g.Incompatible) != 0 {
		t.Errorf("gaps after AddMissing: %+v", g)
	}
}

// TestCreateOptions: triggers kept or replaced as asked, a taken domain reported without
// failing, a deletable scratch pool, a client secret kept, and bad input refused before any call.
func TestCreateOptions(t *testing.T) {
	ctx := context.Background()
	st := start(t)
	c := st.Clients.Cognito(tokyo)
	cfg, err := poolconfig.Capture(ctx, c, fast(tokyo), richPool(t, ctx, st))
	if err != nil {
		t.Fatal(err)
	}
	st.Cognito.ReserveDomain(osaka, "taken-elsewhere")
	dst := st.Clients.Cognito(osaka)
	fn := "arn:aws:lambda:ap-northeast-3:123456789012:function:replicate"
	var webID string
	for _, cl := range cfg.Clients {
		if aws.ToString(cl.ClientName) == "web" {
			webID = aws.ToString(cl.ClientId)
		}
	}
	created, err := poolconfig.Create(ctx, dst, fast(osaka), cfg, "drill-scratch", poolconfig.Options{
		Triggers: poolconfig.TriggersReplace, LambdaConfig: &types.LambdaConfigType{PostConfirmation: aws.String(fn)},
		Domain: "taken-elsewhere", DeletionProtection: types.DeletionProtectionTypeInactive,
		ClientSecrets: map[string]string{webID: clientSecret}, Tags: map[string]string{"cognito-dr": "drill"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"PostConfirmation " + fn}, created.Triggers.Applied); diff != "" {
		t.Errorf("triggers applied (-want +got):\n%s", diff)
	}
	if created.Domain.Created != "" || !strings.Contains(created.Domain.Reason, "already associated") {
		t.Errorf("taken domain: %+v", created.Domain)
	}
	web, err := dst.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &created.UserPoolID, ClientId: aws.String(created.ClientIDs[webID])})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(web.UserPoolClient.ClientSecret) != clientSecret {
		t.Error("the supplied client secret was not kept")
	}
	for _, cl := range created.Clients {
		if cl.NewSecret {
			t.Errorf("client %s reported with a new secret though it was supplied", cl.Name)
		}
	}
	d, err := dst.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &created.UserPoolID})
	if err != nil {
		t.Fatal(err)
	}
	if d.UserPool.UserPoolTags["cognito-dr"] != "drill" || d.UserPool.UserPoolTags["team"] != "identity" {
		t.Errorf("tags: %v", d.UserPool.UserPoolTags)
	}
	if _, err := dst.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: &created.UserPoolID}); err != nil {
		t.Errorf("the scratch pool cannot be deleted: %v", err)
	}

	before := st.Cognito.Stats().Calls["CreateUserPool"]
	for _, tc := range []struct {
		name string
		opts poolconfig.Options
	}{
		{"bad name!*", poolconfig.Options{}},
		{"ok", poolconfig.Options{Triggers: "sometimes"}},
		{"ok", poolconfig.Options{Triggers: poolconfig.TriggersReplace}},
	} {
		_, err := poolconfig.Create(ctx, dst, fast(osaka), cfg, tc.name, tc.opts)
		var invalid *stateerr.InvalidInput
		if !errors.As(err, &invalid) {
			t.Errorf("Create(%q, %+v): %v, want InvalidInput", tc.name, tc.opts, err)
		}
	}
	if after := st.Cognito.Stats().Calls["CreateUserPool"]; after != before {
		t.Errorf("refused input still called CreateUserPool %d times", after-before)
	}
}

// TestCaptureMissingPoolAndBadFile: a pool that does not exist is PoolNotFound; a pool.json of
// another version is SnapshotInvalid.
func TestCaptureMissingPoolAndBadFile(t *testing.T) {
	ctx := context.Background()
	st := start(t)
	_, err := poolconfig.Capture(ctx, st.Clients.Cognito(tokyo), fast(tokyo), "ap-northeast-1_Nope12345")
	var missing *stateerr.PoolNotFound
	if !errors.As(err, &missing) {
		t.Errorf("missing pool: %v, want PoolNotFound", err)
	}
	for _, body := range []string{`{"version": 2, "userPoolId": "x", "pool": {"Id": "x"}}`, `{"version": 1}`, `not json`} {
		_, err := poolconfig.Decode(strings.NewReader(body))
		var invalid *stateerr.SnapshotInvalid
		if !errors.As(err, &invalid) {
			t.Errorf("Decode(%s): %v, want SnapshotInvalid", body, err)
		}
	}
}

// TestPacedToQuotas: against Cognito's default quotas, a capture and a create of a pool with more
// app clients and groups than a per-pool operation's 5 requests a second are never throttled:
// every call waits for its quota.
func TestPacedToQuotas(t *testing.T) {
	ctx := context.Background()
	st, err := devstack.Start(devstack.Options{Quotas: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := st.Clients.Cognito(tokyo)
	id, err := st.Cognito.CreatePool(tokyo, &cip.CreateUserPoolInput{PoolName: aws.String("many")})
	if err != nil {
		t.Fatal(err)
	}
	st.Cognito.SetQuotas(false) // the fixture itself is not paced
	for i := range 9 {
		name := aws.String(fmt.Sprintf("c%d", i))
		if _, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &id, ClientName: name}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &id, GroupName: name}); err != nil {
			t.Fatal(err)
		}
	}
	st.Cognito.SetQuotas(true)
	before := st.Cognito.Stats().Throttled
	reg := quota.NewRegistry(nil)
	cfg, err := poolconfig.Capture(ctx, c, reg.Pacer(tokyo, poolconfig.Ops), id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poolconfig.Create(ctx, st.Clients.Cognito(osaka), reg.Pacer(osaka, poolconfig.Ops), cfg, "many-copy", poolconfig.Options{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, st.Cognito.Stats().Throttled); diff != "" {
		t.Errorf("throttled calls (-before +after):\n%s", diff)
	}
}

// failingClients fails the nth CreateUserPoolClient, as a Lambda that times out midway would.
type failingClients struct {
	poolconfig.CreateAPI
	calls, n int
}

func (f *failingClients) CreateUserPoolClient(ctx context.Context, in *cip.CreateUserPoolClientInput, optFns ...func(*cip.Options)) (*cip.CreateUserPoolClientOutput, error) {
	f.calls++
	if f.calls == f.n {
		return nil, errors.New("the task timed out")
	}
	return f.CreateAPI.CreateUserPoolClient(ctx, in, optFns...)
}

// TestCreateResumesWithToken: a Create that failed after making the pool, called again with the
// same token (a Step Functions retry), finishes that pool: one pool, each client, group and
// provider once. Another token makes another pool.
func TestCreateResumesWithToken(t *testing.T) {
	ctx := context.Background()
	st := start(t)
	cfg, err := poolconfig.Capture(ctx, st.Clients.Cognito(tokyo), fast(tokyo), richPool(t, ctx, st))
	if err != nil {
		t.Fatal(err)
	}
	dst := st.Clients.Cognito(osaka)
	opts := poolconfig.Options{Token: "restore-1", Domain: "tokyo-restored", ProviderSecrets: map[string]map[string]string{"Google": {"client_secret": "s"}}}
	first, err := poolconfig.Create(ctx, &failingClients{CreateAPI: dst, n: 2}, fast(osaka), cfg, "tokyo-restored", opts)
	if err == nil || first.UserPoolID == "" || len(first.Clients) != 1 {
		t.Fatalf("first attempt: %+v, %v; want a pool with one client and the error", first, err)
	}
	again, err := poolconfig.Create(ctx, dst, fast(osaka), cfg, "tokyo-restored", opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.UserPoolID != first.UserPoolID || !again.Resumed {
		t.Fatalf("retry made %s (resumed %v), want %s", again.UserPoolID, again.Resumed, first.UserPoolID)
	}
	if again.ClientIDs[first.Clients[0].OldClientID] != first.Clients[0].NewClientID {
		t.Errorf("the client the first attempt made was not reused: %v", again.ClientIDs)
	}
	clients, err := dst.ListUserPoolClients(ctx, &cip.ListUserPoolClientsInput{UserPoolId: &again.UserPoolID, MaxResults: aws.Int32(60)})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := dst.ListGroups(ctx, &cip.ListGroupsInput{UserPoolId: &again.UserPoolID})
	if err != nil {
		t.Fatal(err)
	}
	if len(clients.UserPoolClients) != 2 || len(groups.Groups) != 2 || again.Groups != 2 || again.ResourceServers != 1 || again.Domain.Created != "tokyo-restored" {
		t.Errorf("after the retry: %d clients, %d groups (%d reported), %d resource servers, domain %+v", len(clients.UserPoolClients), len(groups.Groups), again.Groups, again.ResourceServers, again.Domain)
	}
	for _, p := range again.IdentityProviders {
		if !p.Created {
			t.Errorf("provider %s not created on the retry: %s", p.Name, p.Reason)
		}
	}
	pools, err := dst.ListUserPools(ctx, &cip.ListUserPoolsInput{MaxResults: aws.Int32(60)})
	if err != nil {
		t.Fatal(err)
	}
	if len(pools.UserPools) != 1 {
		t.Errorf("%d pools in %s after a retry, want 1", len(pools.UserPools), osaka)
	}
	opts.Token, opts.Domain = "restore-2", ""
	other, err := poolconfig.Create(ctx, dst, fast(osaka), cfg, "tokyo-restored", opts)
	if err != nil {
		t.Fatal(err)
	}
	if other.UserPoolID == first.UserPoolID || other.Resumed {
		t.Errorf("another token reused pool %s", other.UserPoolID)
	}
}
