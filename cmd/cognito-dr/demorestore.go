package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

func runDemoRestore(ctx context.Context, args []string) error {
	fl := newFlags("demo-restore", "demo-restore [flags]")
	users := fl.Int("users", 500, "users in the Tokyo pool before it is lost")
	latency := fl.Duration("latency", 20*time.Millisecond, "latency the emulator adds to each Cognito call")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	return demoRestore(ctx, *users, *latency, os.Stdout)
}

// demoRestore tells the pool-loss story on the local stack: a backup, the Tokyo pool deleted, a
// new Tokyo pool restored from the snapshot, and a restored user signing in again.
func demoRestore(ctx context.Context, users int, latency time.Duration, w io.Writer) error {
	fmt.Fprintf(w, "Cognito DR demo: the Tokyo pool is lost; rebuild it from last night's snapshot\n\n")
	st, err := devstack.Start(devstack.Options{Quotas: true, Latency: latency})
	if err != nil {
		return err
	}
	defer st.Close()
	sc, err := st.SeedScenario(ctx, users)
	if err != nil {
		return err
	}
	tokyo := st.Clients.Cognito(sc.Tokyo.Region)
	app, err := tokyo.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId: aws.String(sc.TokyoID), ClientName: aws.String("tokyo-web"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
	})
	if err != nil {
		return err
	}
	before, err := poolFacts(ctx, st, sc.Tokyo.Region, sc.TokyoID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "local AWS        %s (Cognito with AWS default quotas and %v latency, S3, SNS, CloudWatch Logs)\n", st.URL(), latency)
	fmt.Fprintf(w, "Tokyo pool       %s (%s): %s; app client tokyo-web %s\n", sc.TokyoID, sc.Tokyo.Region, before, aws.ToString(app.UserPoolClient.ClientId))

	key, err := st.BackupTokyo(ctx, sc, "nightly")
	if err != nil {
		return err
	}
	body, err := st.ReadObject(ctx, sc.BucketRegion, sc.Bucket, key)
	if err != nil {
		return err
	}
	var m manifest.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return err
	}
	hasConfig := slices.ContainsFunc(m.Files, func(f manifest.FileEntry) bool { return f.Kind == manifest.KindPoolConfig })
	fmt.Fprintf(w, "backup           s3://%s/%s: %d users, %d groups, %d memberships, %d files checksummed\n", sc.Bucket, key, m.Users, m.Groups, m.Memberships, len(m.Files))

	if _, err := tokyo.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: aws.String(sc.TokyoID)}); err != nil {
		return err
	}
	_, err = tokyo.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(sc.TokyoID)})
	var gone *types.ResourceNotFoundException
	if !errors.As(err, &gone) {
		return fmt.Errorf("the Tokyo pool is still there: %v", err)
	}
	fmt.Fprintf(w, "disaster         the Tokyo pool was deleted: DescribeUserPool answers ResourceNotFoundException\n\n")

	in := map[string]any{"bucket": sc.Bucket, "bucketRegion": sc.BucketRegion, "snapshot": restore.Latest, "sourceUserPoolId": sc.TokyoID}
	if hasConfig {
		in["createPool"] = map[string]any{"name": sc.Tokyo.Name, "region": sc.Tokyo.Region}
		fmt.Fprintf(w, "restore          into a new Tokyo pool created from the snapshot's %s\n", restore.PoolConfigFile)
	} else {
		// A snapshot taken before pool.json: the operator recreates the pool (from the CDK or
		// CloudFormation that made it) and restores into it.
		id, err := st.SeedPool(devstack.TokyoPool(0))
		if err != nil {
			return err
		}
		in["target"] = map[string]any{"userPoolId": id, "region": sc.Tokyo.Region}
		fmt.Fprintf(w, "restore          into %s, an empty pool recreated by the operator (this snapshot has no %s)\n", id, restore.PoolConfigFile)
	}
	run, err := st.RestoreWorkflow(sc, nil, nil, asl.WithObserver(func(e asl.Event) {
		if e.Scope == "" && e.Type == asl.EventStateEntered {
			fmt.Fprintf(w, "state            %s  (%s)\n", e.State, e.Time.Format("15:04:05"))
		}
	}))
	if err != nil {
		return err
	}
	input, _ := json.Marshal(in)
	fmt.Fprintf(w, "start execution  restore-demo with input %s\n", input)
	begin := time.Now()
	x, err := run.Exec.Run(ctx, "restore-demo", input)
	if err != nil {
		return err
	}
	if x.Status() != asl.StatusSucceeded {
		return fmt.Errorf("restore %s: %s %s", x.Status(), x.ErrorName(), x.Cause())
	}
	var out restore.ReportOutput
	if err := json.Unmarshal(x.Output(), &out); err != nil {
		return err
	}
	after, err := poolFacts(ctx, st, out.Target.Region, out.Target.UserPoolID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nrestored pool    %s (%s) in %.1f s: %s\n", out.Target.UserPoolID, out.Target.Region, time.Since(begin).Seconds(), after)
	fmt.Fprintf(w, "users            %d in the snapshot: %s\n", out.Users, countsText(out.Outcomes))
	fmt.Fprintf(w, "disabled again   %d (an import creates every user enabled)\n", out.Disabled)
	clientID := ""
	if c := out.Created; c != nil {
		for old, nw := range c.Clients {
			fmt.Fprintf(w, "app client       %s is now %s: reconfigure the apps with the new id\n", old, nw)
			if old == aws.ToString(app.UserPoolClient.ClientId) {
				clientID = nw
			}
		}
		for _, ip := range c.IdentityProviders {
			status := "created"
			if !ip.Created {
				status = "NOT created: " + ip.Reason
			}
			fmt.Fprintf(w, "identity provider %s (%s) %s\n", ip.Name, ip.Type, status)
		}
		for _, n := range c.Notes {
			fmt.Fprintf(w, "note             %s\n", n)
		}
	}
	fmt.Fprintf(w, "report           s3://%s/%s (one JSON line per user)\n", sc.Bucket, out.Report.Key)
	fmt.Fprintf(w, "sub map          s3://%s/%s (%d users: re-key application data by the new sub)\n", sc.Bucket, out.SubMap.Key, out.Mapped)
	shown := 0
	// The user who signs in: one the import brought back, enabled, in a group if one is.
	var pick restore.UserReport
	if err := snapshot.GetLines(ctx, st.Clients.S3(sc.BucketRegion), sc.Bucket, out.Report.Key, func(u restore.UserReport) error {
		if u.Outcome == restore.OutcomeImported && u.Disabled == "" && (pick.Username == "" || len(pick.Groups) == 0 && len(u.Groups) > 0) {
			pick = u
		}
		if shown < 3 {
			line, _ := json.Marshal(restore.SubMapping{Username: u.Username, OldSub: u.OldSub, NewSub: u.NewSub})
			fmt.Fprintf(w, "  %s\n", line)
			shown++
		}
		return nil
	}); err != nil {
		return err
	}
	if clientID == "" {
		c, err := st.Clients.Cognito(out.Target.Region).CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(out.Target.UserPoolID), ClientName: aws.String("tokyo-web"),
			ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
		})
		if err != nil {
			return err
		}
		clientID = aws.ToString(c.UserPoolClient.ClientId)
	}
	return signInRestored(ctx, st, out.Target, clientID, pick, w)
}

// poolFacts describes a pool's users, groups and disabled users in one line.
func poolFacts(ctx context.Context, st *devstack.Stack, region, pool string) (string, error) {
	c := st.Clients.Cognito(region)
	users, disabled := 0, 0
	pages := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: aws.String(pool)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return "", err
		}
		for _, u := range page.Users {
			users++
			if !u.Enabled {
				disabled++
			}
		}
	}
	groups, err := c.ListGroups(ctx, &cip.ListGroupsInput{UserPoolId: aws.String(pool)})
	if err != nil {
		return "", err
	}
	memberships := 0
	for _, g := range groups.Groups {
		in := cip.NewListUsersInGroupPaginator(c, &cip.ListUsersInGroupInput{UserPoolId: aws.String(pool), GroupName: g.GroupName})
		for in.HasMorePages() {
			page, err := in.NextPage(ctx)
			if err != nil {
				return "", err
			}
			memberships += len(page.Users)
		}
	}
	return fmt.Sprintf("%d users (%d disabled), %d groups, %d memberships", users, disabled, len(groups.Groups), memberships), nil
}

func countsText(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// signInRestored walks a restored user through what they do on Monday morning: the import
// carried no password, so "forgot password"; TOTP secrets cannot be exported, so MFA setup.
func signInRestored(ctx context.Context, st *devstack.Stack, target manifest.PoolRef, clientID string, u restore.UserReport, w io.Writer) error {
	if u.Username == "" {
		return errors.New("no imported, enabled user to sign in with")
	}
	c := st.Clients.Cognito(target.Region)
	got, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(target.UserPoolID), Filter: aws.String(fmt.Sprintf("sub = %q", u.NewSub))})
	if err != nil || len(got.Users) != 1 {
		return fmt.Errorf("find the restored user by its new sub: %v", err)
	}
	email := ""
	for _, a := range got.Users[0].Attributes {
		if aws.ToString(a.Name) == "email" {
			email = aws.ToString(a.Value)
		}
	}
	fmt.Fprintf(w, "\nsign-in          %s (status %s, groups %v) with app client %s\n", email, got.Users[0].UserStatus, u.Groups, clientID)
	const password = "Restored-Passw0rd!"
	_, err = c.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String(clientID), AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": "their-old-password"}})
	var reset *types.PasswordResetRequiredException
	if !errors.As(err, &reset) {
		return fmt.Errorf("the first sign-in answered %v, want PasswordResetRequiredException", err)
	}
	fmt.Fprintf(w, "  old password   PasswordResetRequiredException: the import carries no passwords\n")
	if _, err := c.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String(clientID), Username: aws.String(email)}); err != nil {
		return fmt.Errorf("forgot password: %w", err)
	}
	code, ok := st.Cognito.LastCode(target.UserPoolID, email, localcognito.KindForgotPassword)
	if !ok {
		return errors.New("no forgot-password code in the outbox")
	}
	if _, err := c.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String(clientID), Username: aws.String(email),
		ConfirmationCode: aws.String(code), Password: aws.String(password)}); err != nil {
		return fmt.Errorf("confirm forgot password: %w", err)
	}
	fmt.Fprintf(w, "  forgot pw      code emailed, new password set\n")
	in, err := c.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String(clientID), AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": password}})
	if err != nil || in.ChallengeName != types.ChallengeNameTypeMfaSetup {
		return fmt.Errorf("sign-in with the new password: %v %v, want MFA_SETUP", in, err)
	}
	as, err := c.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{Session: in.Session})
	if err != nil {
		return err
	}
	totp, err := localcognito.TOTPCode(aws.ToString(as.SecretCode), time.Now())
	if err != nil {
		return err
	}
	v, err := c.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{Session: as.Session, UserCode: aws.String(totp), FriendlyDeviceName: aws.String("phone")})
	if err != nil || v.Status != types.VerifySoftwareTokenResponseTypeSuccess {
		return fmt.Errorf("verify software token: %v %v", v, err)
	}
	res, err := c.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(clientID), ChallengeName: types.ChallengeNameTypeMfaSetup,
		Session: v.Session, ChallengeResponses: map[string]string{"USERNAME": email}})
	if err != nil || res.AuthenticationResult == nil || aws.ToString(res.AuthenticationResult.IdToken) == "" {
		return fmt.Errorf("MFA setup: %v %v, want tokens", res, err)
	}
	fmt.Fprintf(w, "  MFA setup      MFA_SETUP: new authenticator registered (TOTP secrets cannot be exported)\n")
	fmt.Fprintf(w, "  signed in      ID, access and refresh tokens issued by %s\n", target.UserPoolID)
	return nil
}
