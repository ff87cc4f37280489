package failback_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/s3fault"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// outageExtras are the cases the outage of newFixture lacks, made in the pools before the plan:
// a copy whose email changed in DR (matched by its primary sub), a DR sign-up with the address
// the copy left (a new user), a primary-only user with an unverified DR sign-up of its address
// (held), a primary-only user, and a user disabled in DR by an earlier failback (its ledger).
type outageExtras struct {
	moved, movedTo, reused, heldKey, earlier string
}

func (f *fixture) makeExtras() outageExtras {
	f.t.Helper()
	ctx := context.Background()
	osaka, tokyo := f.stack.Clients.Cognito(f.sc.Osaka.Region), f.stack.Clients.Cognito(f.sc.Tokyo.Region)
	var x outageExtras
	var picked []string
	for u := range f.sc.Tokyo.SeedUsers() {
		if u.Enabled && u.Attributes["email_verified"] == "true" && !strings.Contains(fmt.Sprint(f.outage.Changed, f.outage.Disabled), u.Attributes["email"]) {
			picked = append(picked, u.Attributes["email"])
		}
	}
	x.moved, x.movedTo, x.earlier = picked[len(picked)-1], "moved-in-osaka@example.jp", picked[len(picked)-2]
	x.reused, x.heldKey = x.moved, "primary-only-held@example.jp"
	must := func(_ any, err error) {
		f.t.Helper()
		if err != nil {
			f.t.Fatal(err)
		}
	}
	attrs := func(kv ...string) []types.AttributeType {
		var out []types.AttributeType
		for i := 0; i < len(kv); i += 2 {
			out = append(out, types.AttributeType{Name: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		return out
	}
	osakaPool, tokyoPool := aws.String(f.sc.OsakaID), aws.String(f.sc.TokyoID)
	must(osaka.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: osakaPool, Username: aws.String(x.moved),
		UserAttributes: attrs("email", x.movedTo, "email_verified", "true")}))
	must(osaka.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: osakaPool, Username: aws.String(x.reused), MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: attrs("email", x.reused, "email_verified", "true", "given_name", "Newcomer")}))
	for _, email := range []string{x.heldKey, "primary-only@example.jp"} {
		must(tokyo.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: tokyoPool, Username: aws.String(email), MessageAction: types.MessageActionTypeSuppress,
			UserAttributes: attrs("email", email, "email_verified", "true")}))
	}
	must(osaka.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: osakaPool, Username: aws.String(x.heldKey), MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: attrs("email", x.heldKey, "email_verified", "false")}))
	must(osaka.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: osakaPool, Username: aws.String(x.earlier)}))
	dr, err := f.user(f.sc.Osaka.Region, f.sc.OsakaID, x.earlier)
	if err != nil {
		f.t.Fatal(err)
	}
	req := f.sc.FailbackRequest(f.failover)
	prefix := failback.DefaultPrefix
	if p, ok := req["prefix"].(string); ok && p != "" {
		prefix = strings.TrimSuffix(p, "/")
	}
	ledger := prefix + "/" + f.sc.TokyoID + "/earlier-run/" + failback.DisableLedgerDir + "00000.jsonl.gz"
	if err := snapshot.PutLines(ctx, f.stack.Clients.S3(f.sc.BucketRegion), f.sc.Bucket, ledger,
		[]failback.DisableResult{{DRUsername: aws.ToString(dr.Username), Key: x.earlier, Outcome: failback.DRDisabled}}); err != nil {
		f.t.Fatal(err)
	}
	return x
}

// TestManyBucketsPlanWhatOneBucketPlans: with buckets of 2 users the plan joins the pools in
// many buckets and decides exactly what one bucket decides — the same users to import, actions
// (updates, group adds of imported and matched users, disables), held users and counts — for
// every kind of user: new, unverified new, changed, grouped, disabled in DR, disabled by an
// earlier failback, a copy whose email changed in DR, a held unverified sign-up and a
// primary-only user.
func TestManyBucketsPlanWhatOneBucketPlans(t *testing.T) {
	f := newFixture(t)
	x := f.makeExtras()
	onePlan, _, one := f.planDirect("one-bucket", nil)
	f.run.Steps.BucketUsers = 2
	manyPlan, _, many := f.planDirect("many-buckets", nil)
	if onePlan.Buckets != 1 || manyPlan.Buckets < 20 {
		t.Fatalf("buckets %d and %d; want 1 and many", onePlan.Buckets, manyPlan.Buckets)
	}
	c := one.Counts
	if c.Import == 0 || c.Update == 0 || c.GroupAdds == 0 || c.DisabledInDR == 0 || c.PrimaryOnly < 2 || c.UnverifiedDR != 1 || c.Unchanged == 0 {
		t.Fatalf("the fixture misses a kind of change: %+v", c)
	}
	if diff := cmp.Diff(one, many); diff != "" {
		t.Errorf("plan in %d buckets (-one bucket +many):\n%s", manyPlan.Buckets, diff)
	}
	// The copy whose email changed is matched by its primary sub and its email updated; the
	// sign-up that took its old address in DR is a new user to import (the primary user matched
	// by sub is not matched again by key); the DR user an earlier failback disabled is not a
	// disable to mirror; the unverified sign-up is held.
	for _, want := range []string{`"set":{"email":"` + x.movedTo + `"`, `"key":"` + x.heldKey + `"`} {
		if !strings.Contains(fmt.Sprint(many.Actions, many.Held), want) {
			t.Errorf("the plan lacks %s", want)
		}
	}
	if !strings.Contains(fmt.Sprint(many.Imports), `"given_name":"Newcomer"`) {
		t.Errorf("the DR sign-up with the address the copy left is not imported: %v", many.Imports)
	}
	if c.DisabledInDR != len(f.outage.Disabled) {
		t.Errorf("disabled in DR %d; want the outage's %d, not the user an earlier failback disabled", c.DisabledInDR, len(f.outage.Disabled))
	}
	var sum failback.PlanSummary
	raw, err := readObject(f, manyPlan.Bucket, manyPlan.Prefix+failback.PlanSummaryFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Plan.Counts != one.Counts || len(sum.Samples["import"]) != min(5, c.Import) || len(sum.Samples["primary only"]) != min(5, c.PrimaryOnly) {
		t.Errorf("summary counts %+v samples %v; want counts %+v and up to 5 samples a kind", sum.Plan.Counts, sum.Samples, one.Counts)
	}
}

// TestPlanKilledMidBucketResumes: every other PlanFailback invocation dies in the middle of a
// unit (its S3 writes fail after a few succeed); the loop resumes with the progress from before
// it and the plan is the plan of a loop never killed: every user exactly once.
func TestPlanKilledMidBucketResumes(t *testing.T) {
	f := newFixture(t)
	f.run.Steps.BucketUsers = 3
	f.run.Steps.Budget = func() checkpoint.Budget { return checkpoint.NewStarts(5) }
	cleanPlan, _, clean := f.planDirect("never-killed", nil)

	kill := s3fault.New()
	failing := kill.Client(f.stack.Clients.S3(f.sc.BucketRegion))
	f.run.Steps.S3 = func(string) failback.S3 { return failing }
	var invocations, kills atomic.Int32
	f.planInvoke = func(ctx context.Context) (context.Context, func() bool) {
		if invocations.Add(1)%2 == 0 {
			kill.Disarm()
			return ctx, func() bool { return false }
		}
		kill.Arm(3)
		return ctx, func() bool {
			killed := kill.Killed()
			if killed {
				kills.Add(1)
			}
			return killed
		}
	}
	killedPlan, _, got := f.planDirect("killed", nil)
	if kills.Load() < 3 {
		t.Fatalf("killed %d invocations; want several", kills.Load())
	}
	if cleanPlan.Buckets < 10 || killedPlan.Buckets != cleanPlan.Buckets {
		t.Fatalf("buckets %d and %d; want the same, many", cleanPlan.Buckets, killedPlan.Buckets)
	}
	if diff := cmp.Diff(clean, got); diff != "" {
		t.Errorf("plan killed and resumed (-never killed +killed):\n%s", diff)
	}
}

func readObject(f *fixture, bucket, key string) ([]byte, error) {
	out, err := f.stack.Clients.S3(f.sc.BucketRegion).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}
