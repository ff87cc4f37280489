package failback_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// TestMixedCaseEmailsEndToEnd takes users with mixed-case emails through backup, reconcile,
// an outage in the DR pool and failback, in a case-sensitive pair (AWS's default) and a
// case-insensitive one. In the case-sensitive pair Alice@Example.com and alice@example.com are
// two people. The DR change reaches the primary user it belongs to, every DR copy is disabled
// after failback, the report has one line per DR user and loses nobody. A DR account with a
// primary user's email that nobody verified is held: it never changes that user.
func TestMixedCaseEmailsEndToEnd(t *testing.T) {
	for _, cs := range devstack.CaseSensitivities {
		t.Run(cs.Name, func(t *testing.T) {
			sensitive := cs.Value == nil || *cs.Value
			ctx := context.Background()
			st, err := devstack.Start(devstack.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			sc, err := st.SeedScenarioWith(ctx, devstack.TokyoPool(0).WithCaseSensitive(cs.Value), devstack.OsakaPool().WithCaseSensitive(cs.Value))
			if err != nil {
				t.Fatal(err)
			}
			tokyo, osaka := st.Clients.Cognito(sc.Tokyo.Region), st.Clients.Cognito(sc.Osaka.Region)
			create := func(c *cip.Client, pool, email, given string, confirmed bool) {
				t.Helper()
				if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(pool), Username: aws.String(email), MessageAction: types.MessageActionTypeSuppress,
					UserAttributes: []types.AttributeType{
						{Name: aws.String("email_verified"), Value: aws.String("true")},
						{Name: aws.String("given_name"), Value: aws.String(given)},
						{Name: aws.String("custom:tenant"), Value: aws.String("acme")},
					}}); err != nil {
					t.Fatalf("create %s: %v", given, err)
				}
				if confirmed {
					if _, err := c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(pool), Username: aws.String(email), Password: aws.String("Primary-Passw0rd!"), Permanent: true}); err != nil {
						t.Fatal(err)
					}
				}
			}
			primaryUsers := []string{"Alice@Example.com", "Victim@Example.com"}
			if sensitive {
				primaryUsers = append(primaryUsers, "alice@example.com") // another person
			}
			for _, email := range primaryUsers {
				create(tokyo, sc.TokyoID, email, "Primary", true)
			}

			// Reconcile copies them to Osaka (with custom:primary_sub), exactly as named.
			if _, err := st.RunReconcile(ctx, sc, "reconcile-mixed-case", false, quota.NewRegistry(quota.Rates{quota.UserCreation: 500, quota.UserUpdate: 500, quota.UserResourceUpdate: 500, quota.UserAccountRecovery: 500, quota.UserRead: 500})); err != nil {
				t.Fatal(err)
			}
			for _, email := range primaryUsers {
				u, err := osaka.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(sc.OsakaID), Username: aws.String(email)})
				if err != nil || attr(u, "email") != email || attr(u, poolpair.PrimarySubAttribute) == "" {
					t.Fatalf("%s in Osaka after reconcile: %v %v", email, u, err)
				}
			}

			// The backup carries every user, its import CSV names them in their own case.
			bsteps := backup.NewSteps(st.Clients, backup.Config{TopicArn: sc.TopicArn})
			bexec, err := devstack.Executor(statemachines.Backup, bsteps.Functions(slog.New(slog.NewJSONHandler(io.Discard, nil))))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(sc.BackupRequest())
			bctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			bx, err := bexec.Run(bctx, "backup-mixed-case", raw)
			if bx == nil || bx.Status() != asl.StatusSucceeded {
				t.Fatalf("backup: %v %v", bx, err)
			}
			var bout struct {
				ManifestKey string `json:"manifestKey"`
			}
			if err := json.Unmarshal(bx.Output(), &bout); err != nil {
				t.Fatal(err)
			}
			body, err := st.ReadObject(ctx, sc.BucketRegion, sc.Bucket, bout.ManifestKey)
			if err != nil {
				t.Fatal(err)
			}
			var m backup.Manifest
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			if m.Users != len(primaryUsers) || m.Import.Accepted != len(primaryUsers) {
				t.Errorf("backup: %d users, %d importable; want %d each", m.Users, m.Import.Accepted, len(primaryUsers))
			}

			// The outage: Alice changes her name in Osaka, and Victim's DR copy is replaced by
			// an account with Victim's email that nobody verified.
			failover := time.Now().Add(-time.Second)
			if _, err := osaka.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: aws.String(sc.OsakaID), Username: aws.String("Alice@Example.com"),
				UserAttributes: []types.AttributeType{{Name: aws.String("given_name"), Value: aws.String("Changed in Osaka")}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := osaka.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: aws.String(sc.OsakaID), Username: aws.String("Victim@Example.com")}); err != nil {
				t.Fatal(err)
			}
			create(osaka, sc.OsakaID, "Victim@Example.com", "Attacker", false)

			if _, err := osaka.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: aws.String(sc.OsakaID), Username: aws.String("Victim@Example.com"),
				UserAttributes: []types.AttributeType{{Name: aws.String("email_verified"), Value: aws.String("false")}}}); err != nil {
				t.Fatal(err)
			}

			if !sensitive {
				// A DR app client created without WriteAttributes can write custom:primary_sub:
				// the plan stops trusting it, says why, and matches by verified email alone.
				if _, err := osaka.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: aws.String(sc.OsakaID), ClientName: aws.String("legacy-web")}); err != nil {
					t.Fatal(err)
				}
			}

			run, err := st.Failback(sc, nil)
			if err != nil {
				t.Fatal(err)
			}
			run.Steps.Quota = quota.NewRegistry(quota.Rates{quota.UserUpdate: 500, quota.UserCreation: 500, quota.UserResourceUpdate: 500})
			f := &fixture{t: t, stack: st, sc: sc, run: run}
			in := sc.FailbackRequest(failover)
			raw, _ = json.Marshal(in)
			x, err := run.Exec.Start(ctx, "failback-mixed-case", raw)
			if err != nil {
				t.Fatal(err)
			}
			f.decide(f.approvalLink(x), "approve")
			f.wait(x)
			if x.Status() != asl.StatusSucceeded {
				t.Fatalf("failback: %s %s %s", x.Status(), x.ErrorName(), x.Cause())
			}

			u, err := f.user(sc.Tokyo.Region, sc.TokyoID, "Alice@Example.com")
			if err != nil || attr(u, "given_name") != "Changed in Osaka" {
				t.Errorf("Alice@Example.com in the primary: given_name %q, %v; want the DR change", attr(u, "given_name"), err)
			}
			if sensitive {
				if u, err := f.user(sc.Tokyo.Region, sc.TokyoID, "alice@example.com"); err != nil || attr(u, "given_name") != "Primary" {
					t.Errorf("alice@example.com (another person) in the primary: given_name %q, %v; want untouched", attr(u, "given_name"), err)
				}
			}
			if u, err := f.user(sc.Tokyo.Region, sc.TokyoID, "Victim@Example.com"); err != nil || attr(u, "given_name") != "Primary" || u.UserStatus != types.UserStatusTypeConfirmed {
				t.Errorf("Victim@Example.com in the primary: given_name %q status %s, %v; want untouched by the unverified DR sign-up", attr(u, "given_name"), u.UserStatus, err)
			}
			for _, email := range primaryUsers {
				u, err := f.user(sc.Osaka.Region, sc.OsakaID, email)
				if err != nil || u.Enabled {
					t.Errorf("%s in Osaka after failback: enabled=%v %v; want disabled", email, u != nil && u.Enabled, err)
				}
			}

			var plan failback.Plan
			for _, ev := range x.History() {
				if ev.State == "PlanFailback" && ev.Type == asl.EventTaskSucceeded {
					var prog failback.PlanProgress
					if err := json.Unmarshal(ev.Output, &prog); err != nil {
						t.Fatal(err)
					}
					if prog.Plan != nil {
						plan = *prog.Plan
					}
				}
			}
			if note := plan.MatchNote; sensitive != (note == "") || !sensitive && !strings.Contains(note, "legacy-web") {
				t.Errorf("plan's match note %q; want one naming legacy-web only when that client exists", note)
			}

			var out failback.ReportOutput
			if err := json.Unmarshal(x.Output(), &out); err != nil {
				t.Fatal(err)
			}
			if out.Users != len(primaryUsers) || out.Lost != 0 || out.Outcomes["primary:updated"] != 1 || out.Outcomes["primary:"+poolpair.UnverifiedDRUser] != 1 {
				t.Errorf("report: %d users, %d lost, outcomes %v; want %d users, 0 lost, 1 updated, 1 held", out.Users, out.Lost, out.Outcomes, len(primaryUsers))
			}
			lines := map[string]int{}
			if err := snapshot.GetLines(ctx, st.Clients.S3(sc.BucketRegion), sc.Bucket, out.Report.Key, func(r failback.UserReport) error {
				lines[r.DRUsername]++
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			for name, n := range lines {
				if n != 1 || name == "" {
					t.Errorf("report: %d lines for DR user %q, want one per user", n, name)
				}
			}
		})
	}
}
