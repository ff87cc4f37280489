package cognito

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
)

// syntheticPoolInput is a pool synthetic users fit: emailPoolInput's shape plus, for DR copies,
// custom:primary_sub.
func syntheticPoolInput(configure func(*cip.CreateUserPoolInput)) *cip.CreateUserPoolInput {
	in := emailPoolInput()
	in.Schema = append(in.Schema, types.SchemaAttributeType{Name: aws.String("primary_sub"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true)})
	if configure != nil {
		configure(in)
	}
	return in
}

var (
	synthCreated = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	synthPrimary = Synthetic{Users: 400, Seed: 11, UnverifiedPercent: 10, DisabledPercent: 5,
		Groups: map[string]int{"admins": 5, "staff": 30}, Created: synthCreated}
	synthDR = DRCopy(synthPrimary, 12, 10, synthCreated.Add(time.Hour), synthCreated.Add(1000*time.Hour))
)

// syntheticStep is one API call (or a few) made against both pools; its result, as JSON or as
// the error code, must be the same.
type syntheticStep struct {
	name string
	do   func(ctx context.Context, c *cip.Client, pool string) (any, error)
}

// allUsers pages ListUsers to the end with limit and filter.
func allUsers(filter string, limit int32, attrs ...string) func(context.Context, *cip.Client, string) (any, error) {
	return func(ctx context.Context, c *cip.Client, pool string) (any, error) {
		in := &cip.ListUsersInput{UserPoolId: &pool, Limit: aws.Int32(limit), AttributesToGet: attrs}
		if filter != "" {
			in.Filter = aws.String(filter)
		}
		var out []types.UserType
		for pg := cip.NewListUsersPaginator(c, in); pg.HasMorePages(); {
			page, err := pg.NextPage(ctx)
			if err != nil {
				return out, err
			}
			out = append(out, page.Users...)
		}
		return out, nil
	}
}

func groupMembers(group string) func(context.Context, *cip.Client, string) (any, error) {
	return func(ctx context.Context, c *cip.Client, pool string) (any, error) {
		var out []types.UserType
		for pg := cip.NewListUsersInGroupPaginator(c, &cip.ListUsersInGroupInput{UserPoolId: &pool, GroupName: &group, Limit: aws.Int32(13)}); pg.HasMorePages(); {
			page, err := pg.NextPage(ctx)
			if err != nil {
				return out, err
			}
			out = append(out, page.Users...)
		}
		return out, nil
	}
}

func getUser(name string) func(context.Context, *cip.Client, string) (any, error) {
	return func(ctx context.Context, c *cip.Client, pool string) (any, error) {
		out, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: &name})
		if out != nil {
			out.ResultMetadata = cip.AdminGetUserOutput{}.ResultMetadata
		}
		return out, err
	}
}

func groupsOfUser(name string) func(context.Context, *cip.Client, string) (any, error) {
	return func(ctx context.Context, c *cip.Client, pool string) (any, error) {
		out, err := c.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: &pool, Username: &name})
		if err != nil {
			return nil, err
		}
		return out.Groups, nil
	}
}

func call(fn func(ctx context.Context, c *cip.Client, pool string) error) func(context.Context, *cip.Client, string) (any, error) {
	return func(ctx context.Context, c *cip.Client, pool string) (any, error) { return nil, fn(ctx, c, pool) }
}

// syntheticSteps reads the pool every way the workflows and the tests do, changes users through
// the API, and reads again.
func syntheticSteps(spec Synthetic) (reads, steps []syntheticStep) {
	sub3, sub4, sub5, sub6 := spec.Sub(3), spec.Sub(4), spec.Sub(5), spec.Sub(6)
	reads = []syntheticStep{
		{"list all", allUsers("", 60)},
		{"list by 7", allUsers("", 7)},
		{"list sub ^= a", allUsers(`sub ^= "a"`, 60)},
		{"list sub ^= 3f", allUsers(`sub ^= "3f"`, 60)},
		{"list sub ^= 3f0", allUsers(`sub ^= "3f0"`, 5)},
		{"list sub ^= A (case)", allUsers(`sub ^= "A"`, 60)},
		{"list sub =", allUsers(fmt.Sprintf("sub = %q", sub6), 60)},
		{"list email =", allUsers(`email = "user0000003@example.jp"`, 60)},
		{"list email = upper", allUsers(`email = "USER0000003@example.jp"`, 60)},
		{"list email ^=", allUsers(`email ^= "user000001"`, 60)},
		{"list username =", allUsers(fmt.Sprintf("username = %q", sub4), 60)},
		{"list status", allUsers(`status = "Disabled"`, 60)},
		{"list user_status", allUsers(`cognito:user_status = "UNCONFIRMED"`, 60)},
		{"list given_name ^=", allUsers(`given_name ^= "Changed"`, 60)},
		{"list attributes", allUsers("", 60, "email", "custom:tenant")},
		{"get by username", getUser(sub3)},
		{"get by email", getUser(SyntheticEmail(3))},
		{"get by upper email", getUser("USER0000003@EXAMPLE.JP")},
		{"get by phone", getUser("+819000000005")},
		{"get dr-only", getUser(SyntheticDROnlyEmail(1))},
		{"get missing", getUser("user9999999@example.jp")},
		{"get upper sub", getUser("A" + sub3[1:])},
		{"groups of user", groupsOfUser(SyntheticEmail(6))},
		{"members admins", groupMembers("admins")},
		{"members staff", groupMembers("staff")},
		{"describe pool", func(ctx context.Context, c *cip.Client, pool string) (any, error) {
			out, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
			if err != nil {
				return nil, err
			}
			return out.UserPool.EstimatedNumberOfUsers, nil
		}},
	}
	changes := []syntheticStep{
		{"update attributes", call(func(ctx context.Context, c *cip.Client, pool string) error {
			_, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &pool, Username: aws.String(SyntheticEmail(3)), UserAttributes: attrs("given_name", "Changed", "email", "moved3@example.jp", "email_verified", "true")})
			return err
		})},
		{"disable", call(func(ctx context.Context, c *cip.Client, pool string) error {
			_, err := c.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &pool, Username: &sub4})
			return err
		})},
		{"delete", call(func(ctx context.Context, c *cip.Client, pool string) error {
			_, err := c.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: &pool, Username: &sub5})
			return err
		})},
		{"create taken email", call(func(ctx context.Context, c *cip.Client, pool string) error {
			_, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String(SyntheticEmail(7)), MessageAction: types.MessageActionTypeSuppress})
			return err
		})},
		{"create freed email", call(func(ctx context.Context, c *cip.Client, pool string) error {
			_, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String(SyntheticEmail(3)), MessageAction: types.MessageActionTypeSuppress,
				UserAttributes: attrs("email_verified", "true")})
			return err
		})},
		{"add to group", call(func(ctx context.Context, c *cip.Client, pool string) error {
			_, err := c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &pool, Username: &sub6, GroupName: aws.String("admins")})
			return err
		})},
		{"remove from group", call(func(ctx context.Context, c *cip.Client, pool string) error {
			// The first synthetic member of staff leaves it.
			out, err := c.ListUsersInGroup(ctx, &cip.ListUsersInGroupInput{UserPoolId: &pool, GroupName: aws.String("staff"), Limit: aws.Int32(1)})
			if err != nil || len(out.Users) == 0 {
				return fmt.Errorf("staff has no member: %v", err)
			}
			_, err = c.AdminRemoveUserFromGroup(ctx, &cip.AdminRemoveUserFromGroupInput{UserPoolId: &pool, Username: out.Users[0].Username, GroupName: aws.String("staff")})
			return err
		})},
		{"recreate group", call(func(ctx context.Context, c *cip.Client, pool string) error {
			if _, err := c.DeleteGroup(ctx, &cip.DeleteGroupInput{UserPoolId: &pool, GroupName: aws.String("admins")}); err != nil {
				return err
			}
			_, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &pool, GroupName: aws.String("admins")})
			return err
		})},
	}
	steps = append([]syntheticStep(nil), reads...)
	for _, ch := range changes {
		steps = append(steps, ch)
		for _, r := range reads {
			steps = append(steps, syntheticStep{ch.name + "; " + r.name, r.do})
		}
	}
	return reads, steps
}

// TestSyntheticPoolAnswersAsStored seeds the same users twice, once stored (SeedUsers) and once
// synthesized (SeedSynthetic), and compares every answer, before and after API changes, and
// after a save and load, for primary pools and DR copies in case-sensitive, case-insensitive and
// alias pools.
func TestSyntheticPoolAnswersAsStored(t *testing.T) {
	pools := []struct {
		name      string
		configure func(*cip.CreateUserPoolInput)
	}{
		{"email username", nil},
		{"case-insensitive", func(in *cip.CreateUserPoolInput) {
			in.UsernameConfiguration = &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)}
		}},
		{"email and phone aliases", func(in *cip.CreateUserPoolInput) {
			in.UsernameAttributes = nil
			in.AliasAttributes = []types.AliasAttributeType{types.AliasAttributeTypeEmail, types.AliasAttributeTypePhoneNumber}
		}},
	}
	for _, pc := range pools {
		for _, spec := range []struct {
			name string
			s    Synthetic
		}{{"primary", synthPrimary}, {"dr copy", synthDR}} {
			t.Run(pc.name+"/"+spec.name, func(t *testing.T) {
				ctx := t.Context()
				stored, synth := newTestEmulator(), newTestEmulator()
				storedID, err := stored.CreatePool(testRegion, syntheticPoolInput(pc.configure))
				if err != nil {
					t.Fatal(err)
				}
				synthID, _ := synth.CreatePool(testRegion, syntheticPoolInput(pc.configure))
				if storedID != synthID {
					t.Fatalf("pool ids %s and %s differ: the emulators are not seeded alike", storedID, synthID)
				}
				if err := stored.SeedUsers(storedID, func(yield func(SeedUser) bool) {
					for i := range spec.s.Users {
						if !yield(spec.s.User(i)) {
							return
						}
					}
				}); err != nil {
					t.Fatal(err)
				}
				if err := synth.SeedSynthetic(synthID, spec.s); err != nil {
					t.Fatal(err)
				}
				cs, cy := newInProcessClient(stored, testRegion), newInProcessClient(synth, testRegion)
				compare := func(step syntheticStep, cy *cip.Client) {
					t.Helper()
					want, werr := step.do(ctx, cs, storedID)
					got, gerr := step.do(ctx, cy, synthID)
					if diff := cmp.Diff(describe(t, want, werr), describe(t, got, gerr)); diff != "" {
						t.Errorf("%s: stored and synthetic pools differ (-stored +synthetic):\n%s", step.name, diff)
					}
				}
				reads, steps := syntheticSteps(spec.s)
				for _, step := range steps {
					compare(step, cy)
				}
				// A saved synthetic pool keeps its spec and its changed users: loaded again, it
				// answers as before.
				var saved bytes.Buffer
				if err := synth.Save(&saved); err != nil {
					t.Fatal(err)
				}
				loaded := newTestEmulator()
				if err := loaded.Load(&saved); err != nil {
					t.Fatal(err)
				}
				cl := newInProcessClient(loaded, testRegion)
				for _, step := range reads {
					compare(syntheticStep{"after load: " + step.name, step.do}, cl)
				}
			})
		}
	}
}

// describe is a step's result as comparable text: JSON, or the error code.
func describe(t *testing.T, v any, err error) string {
	t.Helper()
	if err != nil {
		return "error " + apiCode(err)
	}
	b, jerr := json.MarshalIndent(v, "", " ")
	if jerr != nil {
		t.Fatal(jerr)
	}
	return string(b)
}

// TestSyntheticPoolSizePerUser measures what a synthetic pool keeps per user: its index, not
// its users.
func TestSyntheticPoolSizePerUser(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 200,000 users")
	}
	const n = 200_000
	before := heapAlloc()
	e := newTestEmulator()
	id, _ := e.CreatePool(testRegion, syntheticPoolInput(nil))
	if err := e.SeedSynthetic(id, Synthetic{Users: n, Seed: 1, Groups: map[string]int{"a": 6}}); err != nil {
		t.Fatal(err)
	}
	per := float64(heapAlloc()-before) / n
	t.Logf("%.0f bytes per synthetic user", per)
	if per > 64 {
		t.Errorf("%.0f bytes per synthetic user, want at most 64", per)
	}
	runtime.KeepAlive(e)
}

func heapAlloc() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestSyntheticPoolImportSkipsExisting imports the same CSV into a stored and a synthetic pool
// of the same users: existing users (in any case the pool folds) are SKIPPED alike, new ones
// imported, and the pools list the same users afterwards.
func TestSyntheticPoolImportSkipsExisting(t *testing.T) { synctest.Test(t, testSyntheticPoolImport) }

func testSyntheticPoolImport(t *testing.T) {
	spec := synthPrimary
	var runs []string
	for _, synthetic := range []bool{false, true} {
		env := newBubbleImportEnv(t, Options{})
		var err error
		if synthetic {
			err = env.e.SeedSynthetic(env.poolID, spec)
		} else {
			err = env.e.SeedUsers(env.poolID, func(yield func(SeedUser) bool) {
				for i := range spec.Users {
					if !yield(spec.User(i)) {
						return
					}
				}
			})
		}
		if err != nil {
			t.Fatal(err)
		}
		job := env.run(t, "import", csvFile(env.header, userRow(SyntheticEmail(3)), userRow("new@example.jp"),
			userRow("USER0000004@EXAMPLE.JP"), userRow(SyntheticEmail(spec.Users+5))))
		if c := countsOf(job); c.Skipped < 1 || c.Imported < 1 {
			t.Errorf("synthetic %v: %+v, want the existing user skipped and new ones imported", synthetic, c)
		}
		listed, err := allUsers("", 60)(t.Context(), env.cog, env.poolID)
		// Imported users get random subs (and so usernames): compare what the import decided.
		var users []string
		for _, u := range listed.([]types.UserType) {
			users = append(users, fmt.Sprint(attrMap(u.Attributes)["email"], " ", u.UserStatus, " ", u.Enabled))
		}
		runs = append(runs, describe(t, []any{countsOf(job), env.logLines(t, job), users}, err))
	}
	if diff := cmp.Diff(runs[0], runs[1]); diff != "" {
		t.Errorf("the import differs (-stored +synthetic):\n%s", diff)
	}
}
