package failback_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// TestFailbackCarriesASignUpThatTookAMovedEmail: during the outage a user changed their email in
// the DR pool, and someone else signed up there with the old one. The import runs before the
// plan's updates, so when it reaches the newcomer's row the primary still gives that email to the
// user who moved away, and the row is skipped (or fails: AWS does not say which). The failback
// must still carry the newcomer: the mover keeps their account under the new email, the newcomer
// gets one of their own under the old, and the report loses nobody.
func TestFailbackCarriesASignUpThatTookAMovedEmail(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	osaka := f.stack.Clients.Cognito(f.sc.Osaka.Region)
	touched := map[string]bool{}
	for _, list := range [][]string{f.outage.New, f.outage.NewUnverified, f.outage.Changed, f.outage.Grouped, f.outage.Disabled} {
		for _, e := range list {
			touched[e] = true
		}
	}
	var old string
	for _, e := range slices.Sorted(maps.Keys(f.countByEmail(f.sc.Tokyo.Region, f.sc.TokyoID))) {
		if !touched[e] {
			old = e
			break
		}
	}
	moved := "moved." + old
	mover, err := f.user(f.sc.Tokyo.Region, f.sc.TokyoID, old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := osaka.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: aws.String(f.sc.OsakaID), Username: aws.String(old),
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(moved)}, {Name: aws.String("email_verified"), Value: aws.String("true")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := osaka.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(f.sc.OsakaID), Username: aws.String(old), MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: []types.AttributeType{
			{Name: aws.String("email"), Value: aws.String(old)},
			{Name: aws.String("email_verified"), Value: aws.String("true")},
			{Name: aws.String("given_name"), Value: aws.String("Newcomer")},
		}}); err != nil {
		t.Fatal(err)
	}
	drNewcomer, err := osaka.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(f.sc.OsakaID), Username: aws.String(old)})
	if err != nil {
		t.Fatal(err)
	}
	f.before++ // the newcomer

	x := f.start("failback-moved-email", nil)
	f.decide(f.approvalLink(x), "approve")
	f.wait(x)
	out := f.checkFailedBack(x)

	got, err := f.user(f.sc.Tokyo.Region, f.sc.TokyoID, moved)
	if err != nil {
		t.Fatalf("the mover is not in the primary under the new email: %v", err)
	}
	if sub(got.UserAttributes) != sub(mover.UserAttributes) {
		t.Errorf("the new email belongs to another primary user than the mover's own account")
	}
	newcomer, err := f.user(f.sc.Tokyo.Region, f.sc.TokyoID, old)
	if err != nil {
		t.Fatalf("the newcomer is not in the primary: %v", err)
	}
	if sub(newcomer.UserAttributes) == sub(mover.UserAttributes) || attr(newcomer, "given_name") != "Newcomer" {
		t.Errorf("the old email's primary user is not the newcomer: given_name %q", attr(newcomer, "given_name"))
	}
	// The report says how the newcomer arrived.
	var report []failback.UserReport
	if err := snapshot.GetLines(ctx, f.stack.Clients.S3(f.sc.BucketRegion), f.sc.Bucket, out.Report.Key, func(u failback.UserReport) error {
		report = append(report, u)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var line *failback.UserReport
	for i, u := range report {
		if u.DRUsername == aws.ToString(drNewcomer.Username) {
			line = &report[i]
		}
	}
	if line == nil || line.Primary != failback.PrimaryCreatedByAPI {
		raw, _ := json.Marshal(line)
		t.Errorf("the newcomer's report line %s: want created by API after the import", raw)
	}
}

func sub(attrs []types.AttributeType) string {
	for _, a := range attrs {
		if aws.ToString(a.Name) == "sub" {
			return aws.ToString(a.Value)
		}
	}
	return ""
}
