package devstack

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cognitotypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/statemachines"
)

// persistedStack starts a stack on dir as `cognito-dr local --data-dir dir` does.
func persistedStack(t *testing.T, dir string, users int) (*Stack, *Scenario, *StateMachines, bool) {
	t.Helper()
	st, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	sc, sm, restored, err := st.OpenScenario(t.Context(), dir, users)
	if err != nil {
		t.Fatal(err)
	}
	return st, sc, sm, restored
}

// what a user sees of a stack: a seeded user, every object of the bucket, a log stream and
// the backup executions.
type observed struct {
	User       []string
	Objects    map[string]string
	Logs       []string
	Executions []string
	Output     string
	History    int
}

func observe(t *testing.T, st *Stack, sc *Scenario, execARN string) observed {
	t.Helper()
	ctx := t.Context()
	var o observed
	u, err := st.Clients.Cognito(sc.Tokyo.Region).AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &sc.TokyoID, Username: aws.String(Email(3))})
	if err != nil {
		t.Fatalf("AdminGetUser: %v", err)
	}
	o.User = append(o.User, aws.ToString(u.Username), string(u.UserStatus), aws.ToString(u.PreferredMfaSetting))
	for _, a := range u.UserAttributes {
		o.User = append(o.User, aws.ToString(a.Name)+"="+aws.ToString(a.Value))
	}
	s3c := st.Clients.S3(sc.BucketRegion)
	o.Objects = map[string]string{}
	pages := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: &sc.Bucket})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range page.Contents {
			got, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: &sc.Bucket, Key: obj.Key})
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(got.Body)
			got.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			o.Objects[aws.ToString(obj.Key)] = string(b)
		}
	}
	ev, err := st.Clients.Logs(sc.Tokyo.Region).GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String("/aws/cognito/userpools/import"), LogStreamName: aws.String(sc.TokyoID + "/job"), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetLogEvents: %v", err)
	}
	for _, e := range ev.Events {
		o.Logs = append(o.Logs, aws.ToString(e.Message))
	}
	client := sfn.NewFromConfig(st.AWS.AWSConfig(ControlRegion))
	backupARN := StateMachineARN(statemachines.Backup)
	list, err := client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: &backupARN})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range list.Executions {
		o.Executions = append(o.Executions, aws.ToString(x.Name)+" "+string(x.Status))
	}
	desc, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: &execARN})
	if err != nil {
		t.Fatal(err)
	}
	o.Output = aws.ToString(desc.Output)
	hist, err := client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: &execARN, MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	o.History = len(hist.Events)
	return o
}

// TestDataDirKeepsStateAcrossRestart runs a backup on a stack with a data directory, stops it,
// starts another on the same directory and finds the same pools, users, backup files, logs and
// execution; a stack without one starts empty.
func TestDataDirKeepsStateAcrossRestart(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()

	st, sc, sm, restored := persistedStack(t, dir, 40)
	if restored {
		t.Fatal("an empty data directory was loaded instead of seeded")
	}
	st.Logs.PutLogEvent(sc.Tokyo.Region, "/aws/cognito/userpools/import", sc.TokyoID+"/job", time.Now(), "[SUCCEEDED] Line Number 1")
	input, _ := json.Marshal(sc.BackupRequest())
	client := sfn.NewFromConfig(st.AWS.AWSConfig(ControlRegion))
	started, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(sm.ARNs[statemachines.Backup]), Name: aws.String("yesterday"), Input: aws.String(string(input))})
	if err != nil {
		t.Fatal(err)
	}
	execARN := aws.ToString(started.ExecutionArn)
	wait(t, sm, execARN)
	before := observe(t, st, sc, execARN)
	if len(before.Objects) == 0 || before.Output == "" || before.History == 0 {
		t.Fatalf("the backup left nothing to keep: %+v", before)
	}
	if err := st.Save(dir, sc, sm); err != nil {
		t.Fatal(err)
	}
	sm.API.Close()
	st.Close()

	st2, sc2, sm2, restored := persistedStack(t, dir, 40)
	t.Cleanup(func() { sm2.API.Close(); st2.Close() })
	if !restored {
		t.Fatal("the saved state was not loaded")
	}
	if sc2.TokyoID != sc.TokyoID || sc2.OsakaID != sc.OsakaID || sc2.Bucket != sc.Bucket || sc2.TopicArn != sc.TopicArn {
		t.Errorf("scenario after restart %+v, want %+v", sc2, sc)
	}
	after := observe(t, st2, sc2, execARN)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("after restart (-before +after):\n%s", diff)
	}
	if after.Executions[0] != "yesterday SUCCEEDED" {
		t.Errorf("executions %v", after.Executions)
	}
	// The name stays taken, as in AWS.
	_, err = sfn.NewFromConfig(st2.AWS.AWSConfig(ControlRegion)).StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(sm2.ARNs[statemachines.Backup]), Name: aws.String("yesterday"), Input: aws.String(string(input))})
	var exists *sfntypes.ExecutionAlreadyExists
	if !errors.As(err, &exists) {
		t.Errorf("restart with a used name: %v, want ExecutionAlreadyExists", err)
	}

	empty, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	pools, err := empty.Clients.Cognito(sc.Tokyo.Region).ListUserPools(ctx, &cip.ListUserPoolsInput{MaxResults: aws.Int32(60)})
	if err != nil {
		t.Fatal(err)
	}
	buckets, err := empty.Clients.S3(sc.BucketRegion).ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pools.UserPools) != 0 || len(buckets.Buckets) != 0 {
		t.Errorf("a stack without a data directory holds %d pools and %d buckets", len(pools.UserPools), len(buckets.Buckets))
	}
}

// TestDataDirKeepsModesAndPoolResources: a seeded stack starts with the modes a deployment
// writes (Tokyo active, Osaka fenced); a failover's modes, an identity provider and a domain
// survive a restart; and a data directory saved before Parameter Store was kept (no ssm.json)
// still loads, with the deployed modes written again.
func TestDataDirKeepsModesAndPoolResources(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st, sc, sm, _ := persistedStack(t, dir, 5)
	primary, dr := sc.GatePools()
	mode := func(st *Stack, p GatePool) poolmode.State {
		t.Helper()
		s, err := poolmode.Parameter{Client: st.Clients.SSM(p.Region), Name: poolmode.ParameterName(p.ID)}.Get(ctx)
		if err != nil {
			t.Fatalf("mode of %s: %v", p.ID, err)
		}
		return s
	}
	if a, f := mode(st, primary), mode(st, dr); a.Mode != poolmode.Active || f.Mode != poolmode.Fenced || a.Cause != poolmode.CauseDeploy {
		t.Fatalf("seeded modes: primary %+v, DR %+v; want active and fenced by deploy", a, f)
	}
	now := time.Now().UTC().Truncate(time.Second)
	for _, p := range []struct {
		pool GatePool
		mode poolmode.Mode
	}{{primary, poolmode.Fenced}, {dr, poolmode.Active}} {
		if err := (poolmode.Parameter{Client: st.Clients.SSM(p.pool.Region), Name: poolmode.ParameterName(p.pool.ID)}).Set(ctx,
			poolmode.State{Mode: p.mode, Since: now, Cause: poolmode.CauseFailover}); err != nil {
			t.Fatal(err)
		}
	}
	c := st.Clients.Cognito(sc.Tokyo.Region)
	if _, err := c.CreateIdentityProvider(ctx, &cip.CreateIdentityProviderInput{UserPoolId: &sc.TokyoID, ProviderName: aws.String("Corp"),
		ProviderType: cognitotypes.IdentityProviderTypeTypeSaml, ProviderDetails: map[string]string{"MetadataURL": "https://idp.example.jp/m"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateUserPoolDomain(ctx, &cip.CreateUserPoolDomainInput{UserPoolId: &sc.TokyoID, Domain: aws.String("tokyo-login")}); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(dir, sc, sm); err != nil {
		t.Fatal(err)
	}
	sm.API.Close()
	st.Close()

	st2, sc2, sm2, restored := persistedStack(t, dir, 5)
	if !restored {
		t.Fatal("the saved state was not loaded")
	}
	if a, f := mode(st2, primary), mode(st2, dr); a.Mode != poolmode.Fenced || f.Mode != poolmode.Active || a.Cause != poolmode.CauseFailover || !a.Since.Equal(now) {
		t.Errorf("modes after a restart: primary %+v, DR %+v; want the failover's (primary fenced, DR active)", a, f)
	}
	c2 := st2.Clients.Cognito(sc2.Tokyo.Region)
	if _, err := c2.DescribeIdentityProvider(ctx, &cip.DescribeIdentityProviderInput{UserPoolId: &sc2.TokyoID, ProviderName: aws.String("Corp")}); err != nil {
		t.Errorf("identity provider after a restart: %v", err)
	}
	if d, err := c2.DescribeUserPoolDomain(ctx, &cip.DescribeUserPoolDomainInput{Domain: aws.String("tokyo-login")}); err != nil || aws.ToString(d.DomainDescription.UserPoolId) != sc2.TokyoID {
		t.Errorf("domain after a restart: %+v, %v", d, err)
	}
	if err := st2.Save(dir, sc2, sm2); err != nil {
		t.Fatal(err)
	}
	sm2.API.Close()
	st2.Close()

	// A directory from before ssm.json existed.
	if err := os.Remove(filepath.Join(dir, ssmFile)); err != nil {
		t.Fatal(err)
	}
	st3, _, sm3, restored := persistedStack(t, dir, 5)
	t.Cleanup(func() { sm3.API.Close(); st3.Close() })
	if !restored {
		t.Fatal("a directory without ssm.json was not loaded")
	}
	if a, f := mode(st3, primary), mode(st3, dr); a.Mode != poolmode.Active || f.Mode != poolmode.Fenced {
		t.Errorf("modes of a directory without ssm.json: primary %+v, DR %+v; want active and fenced as deployed", a, f)
	}
}
