package devstack

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/approval"
	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/local/asl"
	localcognito "github.com/cognito-dr/cognito-dr/internal/local/cognito"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
)

// ImportLogsRoleArn is the role the local stack's import jobs are created with.
const ImportLogsRoleArn = "arn:aws:iam::000000000000:role/cognito-dr-import-logs"

// FailbackRunner is the failback state machine on the local stack with its approval pages.
type FailbackRunner struct {
	Steps     *failback.Steps
	Exec      *asl.Executor
	Approvals *approval.Service
}

// Failback wires the failback workflow for the scenario: steps on the stack's clients, approval
// pages served by the stack, decisions delivered to the local executor. wrap, if set, may replace
// task handlers before they are bound (fault tests crash a task this way).
func (s *Stack) Failback(sc *Scenario, wrap func(map[string]boundary.Func), opts ...asl.Option) (*FailbackRunner, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	signer, err := approval.NewSigner(key)
	if err != nil {
		return nil, err
	}
	svc := &approval.Service{
		Store:  &approval.S3Store{Client: s.Clients.S3(sc.BucketRegion), Bucket: sc.Bucket},
		Signer: signer,
		Log:    slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
	svc.BaseURL = s.ServeApprovals(svc)
	steps := failback.NewSteps(s.Clients, sc.TopicArn, ImportLogsRoleArn)
	steps.Approvals = svc
	functions := steps.Functions(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if wrap != nil {
		wrap(functions)
	}
	exec, err := Executor(statemachines.Failback, functions, opts...)
	if err != nil {
		return nil, err
	}
	svc.Callbacks = Callbacks{Executor: exec}
	return &FailbackRunner{Steps: steps, Exec: exec, Approvals: svc}, nil
}

// FailbackRequest is the console input that fails the scenario back from Osaka to Tokyo.
func (sc *Scenario) FailbackRequest(failover time.Time) map[string]any {
	return map[string]any{
		"primaryUserPoolId": sc.TokyoID, "primaryRegion": sc.Tokyo.Region,
		"drUserPoolId": sc.OsakaID, "drRegion": sc.Osaka.Region,
		"bucket": sc.Bucket, "bucketRegion": sc.BucketRegion,
		"failoverTime": failover.UTC().Format(time.RFC3339),
	}
}

// ReplicateToOsaka copies the Tokyo users into the Osaka pool as replication would have before
// the outage (same sign-in emails and attributes, new subs with the Tokyo sub in
// custom:primary_sub, created before failover).
func (s *Stack) ReplicateToOsaka(sc *Scenario, at time.Time) error {
	return s.ReplicateToOsakaExcept(sc, at, nil)
}

// Outage lists what users did in the DR pool while the primary was down.
type Outage struct {
	// New are users who signed up in Osaka: verified, and unverified (the import rejects those).
	New, NewUnverified []string
	// Changed are existing users whose given_name changed; Grouped were added to group "outage".
	Changed, Grouped []string
	// Disabled were disabled in Osaka by an administrator.
	Disabled []string
}

// SimulateOutage makes those changes in the Osaka pool through the API, as users and admins
// would during the outage.
func (s *Stack) SimulateOutage(ctx context.Context, sc *Scenario, newUsers, unverified, changed int) (*Outage, error) {
	c := s.Clients.Cognito(sc.Osaka.Region)
	pool := aws.String(sc.OsakaID)
	o := &Outage{}
	create := func(email string, verified bool) error {
		_, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
			UserPoolId: pool, Username: aws.String(email), MessageAction: types.MessageActionTypeSuppress,
			UserAttributes: []types.AttributeType{
				{Name: aws.String("email"), Value: aws.String(email)},
				{Name: aws.String("email_verified"), Value: aws.String(fmt.Sprint(verified))},
				{Name: aws.String("given_name"), Value: aws.String("Osaka")},
				{Name: aws.String("custom:tenant"), Value: aws.String(Tenants[len(email)%len(Tenants)])},
			},
		})
		return err
	}
	for i := range newUsers {
		email := fmt.Sprintf("osaka%05d@example.jp", i)
		if err := create(email, true); err != nil {
			return nil, fmt.Errorf("create %s in Osaka: %w", email, err)
		}
		o.New = append(o.New, email)
	}
	for i := range unverified {
		email := fmt.Sprintf("osaka-unverified%05d@example.jp", i)
		if err := create(email, false); err != nil {
			return nil, fmt.Errorf("create %s in Osaka: %w", email, err)
		}
		o.NewUnverified = append(o.NewUnverified, email)
	}
	// Existing users: the seeded users are verified unless the spec made them otherwise; pick
	// ones that are verified and enabled so the change is unambiguous.
	var picked []string
	for u := range sc.Tokyo.SeedUsers() {
		if u.Enabled && u.Attributes["email_verified"] == "true" {
			picked = append(picked, u.Attributes["email"])
		}
		if len(picked) == changed+2 {
			break
		}
	}
	for i, email := range picked {
		var err error
		switch {
		case i < changed:
			_, err = c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: pool, Username: aws.String(email),
				UserAttributes: []types.AttributeType{{Name: aws.String("given_name"), Value: aws.String("Changed in Osaka")}}})
			o.Changed = append(o.Changed, email)
		default:
			_, err = c.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: pool, Username: aws.String(email)})
			o.Disabled = append(o.Disabled, email)
		}
		if err != nil {
			return nil, fmt.Errorf("change %s in Osaka: %w", email, err)
		}
	}
	if _, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: pool, GroupName: aws.String("outage")}); err != nil {
		return nil, err
	}
	for _, email := range slices.Concat(o.New[:min(2, len(o.New))], o.Changed[:min(2, len(o.Changed))]) {
		if _, err := c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: pool, Username: aws.String(email), GroupName: aws.String("outage")}); err != nil {
			return nil, err
		}
		o.Grouped = append(o.Grouped, email)
	}
	return o, nil
}

var approvalLink = regexp.MustCompile(`https?://\S+/_local/approvals/\S+`)

// ApprovalLink finds the approval link in an SNS message.
func ApprovalLink(message string) string { return approvalLink.FindString(message) }

var formToken = regexp.MustCompile(`name="token" value="([^"]+)"`)

// Decide does what an approver's browser does: opens the link (GET, which decides nothing),
// then submits the page's form with decision "approve" or "reject". It returns the HTTP status.
func Decide(ctx context.Context, link, decision, approver string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := formToken.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		return resp.StatusCode, nil
	}
	form := url.Values{"token": {string(m[1])}, "decision": {decision}, "approver": {approver}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, link, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// SeedOutageSignUps adds n users to the Osaka pool directly, as if they had signed up there at
// the given time during the outage (verified email, confirmed): the bulk of a large failback.
func (s *Stack) SeedOutageSignUps(sc *Scenario, n int, at time.Time) error {
	return s.Cognito.SeedUsers(sc.OsakaID, func(yield func(localcognito.SeedUser) bool) {
		for i := range n {
			email := fmt.Sprintf("signup%07d@example.jp", i)
			u := localcognito.SeedUser{
				Attributes: map[string]string{"email": email, "email_verified": "true", "given_name": "Osaka", "custom:tenant": Tenants[i%len(Tenants)]},
				Enabled:    true, Status: "CONFIRMED", Created: at,
			}
			if !yield(u) {
				return
			}
		}
	})
}
