package restore

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/emf"
	"github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/internal/notify"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// DrillPoolPrefix starts the name of every scratch pool a drill creates: the only pools a drill
// may delete (the deployed role is limited to them too).
const DrillPoolPrefix = "cognito-dr-drill-"

// DrillTag marks a drill's scratch pool, for an IAM condition on the deletion (aws:ResourceTag).
const DrillTag = "cognito-dr:drill"

// DrillSample is the least number of users whose every attribute a drill compares with the
// snapshot (all of them in a smaller pool).
const DrillSample = 1000

// DrillInput is what the VerifyDrill state passes.
type DrillInput struct {
	Plan   Plan         `json:"plan"`
	Report ReportOutput `json:"report"`
	// StartTime is the execution's start: the drill's RTO runs from it to a verified restore.
	StartTime string `json:"startTime"`
}

// DrillOutput is the drill's record and where it is.
type DrillOutput struct {
	Key   string         `json:"key"`
	Drill manifest.Drill `json:"drill"`
	// Mismatches are the first differences found, for the operators.
	Mismatches []string `json:"mismatches,omitempty"`
}

// drillOps are the calls VerifyDrill and DeleteScratchPool make on the scratch pool (the report
// lists it).
var drillOps = quota.MustOps("CreateUserPoolClient", "AdminCreateUser",
	"AdminSetUserPassword", "AdminInitiateAuth", "AssociateSoftwareToken", "VerifySoftwareToken", "AdminRespondToAuthChallenge",
	"DescribeUserPool", "DeleteUserPool")

// maxListed bounds the mismatches a drill lists (it counts them all).
const maxListed = 20

// VerifyDrill takes the report's comparison of the scratch pool with the snapshot (DrillCheckFile:
// every restorable user present once with its enabled flag and groups, every attribute of a
// sample of at least DrillSample users, the memberships) — then signs a canary user in (password, MFA setup with a TOTP code,
// tokens), and writes the drill record with the RTO: start to verified.
func (s *Steps) VerifyDrill(ctx context.Context, in DrillInput) (DrillOutput, error) {
	p := in.Plan
	if !p.Request.Drill || !strings.HasPrefix(p.TargetName, DrillPoolPrefix) {
		return DrillOutput{}, stateerr.Invalid("verify drill: %s is not a drill's scratch pool", p.Target.UserPoolID)
	}
	started, err := time.Parse(time.RFC3339Nano, in.StartTime)
	if err != nil {
		return DrillOutput{}, stateerr.Invalid("startTime %q is not RFC 3339", in.StartTime)
	}
	v, err := s.verifyUsers(ctx, p)
	if err != nil {
		return DrillOutput{}, err
	}
	if err := s.canary(ctx, p); err != nil {
		v.add("canary sign-in: %v", err)
	}
	finished := s.now()
	d := manifest.Drill{
		Version: manifest.DrillVersion, Source: p.Source, Snapshot: p.ManifestKey,
		ScratchPool: p.Target, Started: started, Finished: finished, RTOSeconds: finished.Sub(started).Seconds(),
		Users: v.Users, Mismatches: v.Count, Passed: v.Count == 0,
	}
	if v.Count > 0 {
		d.FailureReason = fmt.Sprintf("%d mismatches between the scratch pool and the snapshot: %s", v.Count, strings.Join(v.Listed, "; "))
	}
	out := DrillOutput{Key: manifest.DrillKey(p.Request.SnapshotPrefix, p.Source.UserPoolID, started, p.ExecutionName), Drill: d, Mismatches: v.Listed}
	body, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return DrillOutput{}, err
	}
	if _, err := s3stream.Put(ctx, s.S3(p.Region), p.Bucket, out.Key, body); err != nil {
		return DrillOutput{}, fmt.Errorf("write the drill record: %w", err)
	}
	return out, s.drillMetrics(d)
}

// MetricsNamespace is the CloudWatch namespace of the drill's metrics; the stack alarms on
// DrillFailed and DrillMismatches there, by the source pool's id (dimension UserPoolId).
const MetricsNamespace = "CognitoDR"

// drillMetrics publishes a drill's outcome: DrillSeconds (the RTO), DrillMismatches, DrillUsers
// and DrillFailed (1 when the drill did not pass).
func (s *Steps) drillMetrics(d manifest.Drill) error {
	if s.Metrics == nil {
		return nil
	}
	failed := 1.0
	if d.Passed {
		failed = 0
	}
	return emf.Write(s.Metrics, MetricsNamespace, map[string]string{"UserPoolId": d.Source.UserPoolID}, d.Finished,
		emf.Metric{Name: "DrillSeconds", Unit: "Seconds", Value: d.RTOSeconds},
		emf.Metric{Name: "DrillMismatches", Unit: "Count", Value: float64(d.Mismatches)},
		emf.Metric{Name: "DrillUsers", Unit: "Count", Value: float64(d.Users)},
		emf.Metric{Name: "DrillFailed", Unit: "Count", Value: failed})
}

// verifier counts the differences a drill finds between the scratch pool and the snapshot, and
// lists the first maxListed; a bucket's, summed over the buckets, is the drill's.
type verifier struct {
	// Users are the restorable users of the snapshot compared.
	Users  int      `json:"users"`
	Count  int      `json:"count"`
	Listed []string `json:"listed,omitempty"`
}

func (v *verifier) add(format string, args ...any) {
	v.Count++
	if len(v.Listed) < maxListed {
		v.Listed = append(v.Listed, fmt.Sprintf(format, args...))
	}
}

// plus adds another bucket's comparison: its counts, and its listed differences while fewer than
// maxListed are listed.
func (v *verifier) plus(o verifier) {
	v.Users += o.Users
	v.Count += o.Count
	v.Listed = append(v.Listed, o.Listed[:min(len(o.Listed), maxListed-len(v.Listed))]...)
}

// sampled picks users by a hash of their key, so the sample is spread over the pool and the same
// for the snapshot and the scratch pool; every 1 in every users/DrillSample, so at least DrillSample.
func sampled(key string, every int) bool {
	if every <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32()%uint32(every)) == 0
}

// verifyUsers reads what the report's buckets found comparing the scratch pool with the snapshot
// (DrillCheckFile): the report lists the scratch pool once the restore's changes are made and
// joins it with the snapshot bucket by bucket (reportjoin.go), so no invocation holds the pool.
func (s *Steps) verifyUsers(ctx context.Context, p Plan) (verifier, error) {
	v, found, err := checkpoint.Load[verifier](ctx, s.S3(p.Region), p.Bucket, p.Prefix+DrillCheckFile)
	if err == nil && !found {
		err = fmt.Errorf("s3://%s/%s%s is missing: the report compares the scratch pool with the snapshot", p.Bucket, p.Prefix, DrillCheckFile)
	}
	return v, err
}

// canaryPassword is the canary user's password; the canary lives only in the scratch pool.
const canaryPassword = "Drill-Canary-1!x"

// canary creates a user in the scratch pool and signs it in all the way: password, MFA setup
// with a TOTP code computed here, tokens. It proves the restored pool's sign-in works, not only
// that its users are there.
func (s *Steps) canary(ctx context.Context, p Plan) error {
	c := s.Cognito(p.Target.Region)
	pace := s.Quota.Pacer(p.Target.Region, drillOps)
	pool := aws.String(p.Target.UserPoolID)
	call := func(op string, fn func() error) error {
		if err := pace.Wait(ctx, op); err != nil {
			return err
		}
		return fn()
	}
	var client string
	if err := call("CreateUserPoolClient", func() error {
		out, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: pool, ClientName: aws.String("cognito-dr-drill-canary"),
			ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}})
		if err == nil {
			client = aws.ToString(out.UserPoolClient.ClientId)
		}
		return err
	}); err != nil {
		return fmt.Errorf("create the canary's app client: %w", err)
	}
	name := "drill-canary@example.invalid"
	if p.Match.Attribute == "phone_number" {
		name = "+15555550100"
	}
	attrs := []types.AttributeType{{Name: aws.String("email"), Value: aws.String("drill-canary@example.invalid")}, {Name: aws.String("email_verified"), Value: aws.String("true")}}
	if p.Match.Attribute == "phone_number" {
		attrs = []types.AttributeType{{Name: aws.String("phone_number"), Value: aws.String(name)}, {Name: aws.String("phone_number_verified"), Value: aws.String("true")}}
	}
	if err := call("AdminCreateUser", func() error {
		_, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: pool, Username: aws.String(name), MessageAction: types.MessageActionTypeSuppress, UserAttributes: attrs})
		return err
	}); err != nil {
		return fmt.Errorf("create the canary: %w", err)
	}
	if err := call("AdminSetUserPassword", func() error {
		_, err := c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: pool, Username: aws.String(name), Password: aws.String(canaryPassword), Permanent: true})
		return err
	}); err != nil {
		return fmt.Errorf("set the canary's password: %w", err)
	}
	var auth *cip.AdminInitiateAuthOutput
	if err := call("AdminInitiateAuth", func() (err error) {
		auth, err = c.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: pool, ClientId: aws.String(client), AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth,
			AuthParameters: map[string]string{"USERNAME": name, "PASSWORD": canaryPassword}})
		return err
	}); err != nil {
		return fmt.Errorf("password sign-in: %w", err)
	}
	if auth.AuthenticationResult != nil {
		return nil // a pool without required MFA issues tokens at once
	}
	if auth.ChallengeName != types.ChallengeNameTypeMfaSetup {
		return fmt.Errorf("password sign-in answered challenge %q, want MFA_SETUP or tokens", auth.ChallengeName)
	}
	var assoc *cip.AssociateSoftwareTokenOutput
	if err := call("AssociateSoftwareToken", func() (err error) {
		assoc, err = c.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{Session: auth.Session})
		return err
	}); err != nil {
		return fmt.Errorf("associate a software token: %w", err)
	}
	code, err := totp.GenerateCodeCustom(aws.ToString(assoc.SecretCode), s.now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return err
	}
	var verified *cip.VerifySoftwareTokenOutput
	if err := call("VerifySoftwareToken", func() (err error) {
		verified, err = c.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{Session: assoc.Session, UserCode: aws.String(code), FriendlyDeviceName: aws.String("drill")})
		return err
	}); err != nil || verified.Status != types.VerifySoftwareTokenResponseTypeSuccess {
		return fmt.Errorf("verify the TOTP code: %v", err)
	}
	var done *cip.AdminRespondToAuthChallengeOutput
	if err := call("AdminRespondToAuthChallenge", func() (err error) {
		done, err = c.AdminRespondToAuthChallenge(ctx, &cip.AdminRespondToAuthChallengeInput{UserPoolId: pool, ClientId: aws.String(client),
			ChallengeName: types.ChallengeNameTypeMfaSetup, Session: verified.Session, ChallengeResponses: map[string]string{"USERNAME": name}})
		return err
	}); err != nil {
		return fmt.Errorf("answer MFA_SETUP: %w", err)
	}
	if done.AuthenticationResult == nil || aws.ToString(done.AuthenticationResult.IdToken) == "" {
		return fmt.Errorf("MFA_SETUP answered %q without tokens", done.ChallengeName)
	}
	return nil
}

// DeleteScratchPool deletes the drill's scratch pool — only a pool the drill created, whose name
// carries DrillPoolPrefix — and tells the operators the drill's outcome and RTO.
func (s *Steps) DeleteScratchPool(ctx context.Context, in DrillFinishInput) (DrillOutput, error) {
	p := in.Plan
	c := s.Cognito(p.Target.Region)
	pace := s.Quota.Pacer(p.Target.Region, drillOps)
	if p.Created == nil || p.Created.UserPoolID != p.Target.UserPoolID {
		return DrillOutput{}, stateerr.Invalid("delete scratch pool: %s was not created by this drill", p.Target.UserPoolID)
	}
	if err := pace.Wait(ctx, "DescribeUserPool"); err != nil {
		return DrillOutput{}, err
	}
	d, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(p.Target.UserPoolID)})
	if err != nil {
		return DrillOutput{}, fmt.Errorf("describe the scratch pool: %w", err)
	}
	if name := aws.ToString(d.UserPool.Name); !strings.HasPrefix(name, DrillPoolPrefix) || d.UserPool.UserPoolTags[DrillTag] != "true" {
		return DrillOutput{}, stateerr.Invalid("refusing to delete %s: its name %q does not start with %s or it lacks the tag %s", p.Target.UserPoolID, name, DrillPoolPrefix, DrillTag)
	}
	if err := pace.Wait(ctx, "DeleteUserPool"); err != nil {
		return DrillOutput{}, err
	}
	if _, err := c.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: aws.String(p.Target.UserPoolID)}); err != nil {
		return DrillOutput{}, fmt.Errorf("delete the scratch pool %s: %w", p.Target.UserPoolID, err)
	}
	r := in.Drill.Drill
	subject := fmt.Sprintf("Cognito DR restore drill passed: %d users restored and verified in %.0f s", r.Users, r.RTOSeconds)
	if !r.Passed {
		subject = fmt.Sprintf("Cognito DR restore drill FAILED: %d mismatches", r.Mismatches)
	}
	body := fmt.Sprintf("Restore drill %s of %s.\n\nSnapshot: s3://%s/%s\nScratch pool: %s (deleted)\nRTO (start to verified): %.0f s\nUsers: %d\nMismatches: %d\n%s\nRecord: s3://%s/%s\n",
		p.ExecutionName, p.Source.UserPoolID, p.Bucket, p.ManifestKey, p.Target.UserPoolID, r.RTOSeconds, r.Users, r.Mismatches, r.FailureReason, p.Bucket, in.Drill.Key)
	if _, err := notify.Publish(ctx, s.SNS, s.TopicArn, subject, body); err != nil {
		return DrillOutput{}, err
	}
	return in.Drill, nil
}

// DrillFinishInput is what the DeleteScratchPool state passes.
type DrillFinishInput struct {
	Plan  Plan        `json:"plan"`
	Drill DrillOutput `json:"drill"`
}

// recordFailedDrill writes the record of a drill whose execution failed, so readiness sees the
// failure at once rather than only when the last good drill grows old.
func (s *Steps) recordFailedDrill(ctx context.Context, p Plan, reason string) (string, error) {
	now := s.now()
	d := manifest.Drill{
		Version: manifest.DrillVersion, Source: p.Source, Snapshot: p.ManifestKey, ScratchPool: p.Target,
		Started: p.Started, Finished: now, RTOSeconds: now.Sub(p.Started).Seconds(),
		FailureReason: "the drill's execution failed: " + reason,
	}
	key := manifest.DrillKey(p.Request.SnapshotPrefix, p.Source.UserPoolID, p.Started, p.ExecutionName)
	body, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return "", err
	}
	if _, err := s3stream.Put(ctx, s.S3(p.Region), p.Bucket, key, body); err != nil {
		return "", fmt.Errorf("write the failed drill's record: %w", err)
	}
	return key, s.drillMetrics(d)
}
