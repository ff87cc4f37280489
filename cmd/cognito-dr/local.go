package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/statemachines"
)

// localReady is printed as one JSON line by `local -json` once the stack serves, for programs
// (the benchmark) that start the stack in its own process.
type localReady struct {
	Endpoint     string `json:"endpoint"`
	TokyoPoolID  string `json:"tokyoPoolId"`
	TokyoRegion  string `json:"tokyoRegion"`
	OsakaPoolID  string `json:"osakaPoolId"`
	OsakaRegion  string `json:"osakaRegion"`
	Bucket       string `json:"bucket"`
	BucketRegion string `json:"bucketRegion"`
	TopicArn     string `json:"topicArn"`
	// StateMachines are the Step Functions API's state machines: name (backup, …) → ARN.
	StateMachines map[string]string `json:"stateMachines"`
}

func runLocal(ctx context.Context, args []string) error {
	fs := newFlags("local", "local [flags]")
	addr := fs.String("addr", "127.0.0.1:4566", "address to listen on (127.0.0.1:0 picks a free port)")
	users := fs.Int("users", 1000, "users to seed in the Tokyo pool (unless --data-dir holds a saved state)")
	quotas := fs.Bool("quotas", true, "enforce Cognito's default request-rate quotas")
	latency := fs.Duration("latency", 0, "latency added to each Cognito call")
	mailbox := fs.String("mailbox", "", "append every SNS message to this file as a JSON line")
	asJSON := fs.Bool("json", false, "print one JSON line with the endpoint and ids instead of the guide")
	synthetic := fs.Int("synthetic-users", 0, "instead of -users, give the Tokyo pool this many users generated on demand (tens of bytes each) and the Osaka pool their DR copy with -drift")
	drift := fs.Int("drift", 1, "percent of the synthetic DR copy's users changed or disabled in Osaka since the failover (half as many again signed up there)")
	dataDir := fs.String("data-dir", "", "keep pools (with their identity providers, resource servers and domains), app clients, sign-ins, import jobs, S3 objects, SNS topics and subscriptions, Parameter Store (the pools' modes), logs and executions in this directory across restarts: saved on Ctrl-C or SIGTERM, loaded at start instead of seeding (without it every start is freshly seeded)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := devstack.Start(devstack.Options{Addr: *addr, Quotas: *quotas, Latency: *latency, MailboxFile: *mailbox})
	if err != nil {
		return err
	}
	defer st.Close()
	seedStart := time.Now()
	tokyo, osaka := devstack.TokyoPool(*users), devstack.OsakaPool()
	if *synthetic > 0 {
		tokyo, osaka = devstack.SyntheticPools(*synthetic, *drift)
	}
	sc, sm, restored, err := st.OpenScenarioWith(ctx, *dataDir, tokyo, osaka)
	if err != nil {
		return err
	}
	defer sm.API.Close()
	ready := localReady{
		Endpoint: st.URL(), TokyoPoolID: sc.TokyoID, TokyoRegion: sc.Tokyo.Region, OsakaPoolID: sc.OsakaID,
		OsakaRegion: sc.Osaka.Region, Bucket: sc.Bucket, BucketRegion: sc.BucketRegion, TopicArn: sc.TopicArn,
		StateMachines: sm.ARNs,
	}
	if *asJSON {
		if err := json.NewEncoder(os.Stdout).Encode(ready); err != nil {
			return err
		}
	} else {
		input, _ := json.Marshal(sc.BackupRequest())
		origin := fmt.Sprintf("%d users seeded", *users)
		if *synthetic > 0 {
			origin = fmt.Sprintf("%d synthetic users (Osaka: their copy, %d%% drift)", *synthetic, *drift)
		}
		if restored {
			origin = "state loaded from " + *dataDir
		}
		fmt.Printf(`Cognito DR local AWS (Cognito, S3, SNS, CloudWatch Logs, Step Functions) is serving.

endpoint      %[1]s
tokyo pool    %[2]s (%[3]s), %[9]s in %.1[10]fs
osaka pool    %[4]s (%[5]s)
bucket        %[6]s (%[7]s)
topic         %[8]s
quotas        %[11]v   latency %[12]v
state machines (Step Functions, %[7]s)
  %[13]s
  %[14]s
  %[15]s
  %[17]s
  %[18]s
modes         Parameter Store /cognito-dr/<pool id>/mode; where none was set, tokyo active and osaka fenced, as a deployment writes them

Try the AWS CLI (any credentials will do):
  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
  aws --endpoint-url %[1]s --region %[3]s cognito-idp list-users --user-pool-id %[2]s --limit 5
  aws --endpoint-url %[1]s --region %[3]s cognito-idp get-csv-header --user-pool-id %[2]s
  aws --endpoint-url %[1]s --region %[7]s stepfunctions start-execution --state-machine-arn %[13]s --input '%[16]s'
  aws --endpoint-url %[1]s --region %[7]s stepfunctions describe-execution --execution-arn <executionArn>
  aws --endpoint-url %[1]s --region %[7]s s3 ls s3://%[6]s --recursive

Press Ctrl-C to stop.
`, st.URL(), sc.TokyoID, sc.Tokyo.Region, sc.OsakaID, sc.Osaka.Region, sc.Bucket, sc.BucketRegion, sc.TopicArn,
			origin, time.Since(seedStart).Seconds(), *quotas, *latency,
			sm.ARNs[statemachines.Backup], sm.ARNs[statemachines.Failback], sm.ARNs[statemachines.Reconcile], input, sm.ARNs[statemachines.Restore], sm.ARNs[statemachines.Failover])
	}
	<-ctx.Done()
	if *dataDir != "" {
		if err := st.Save(*dataDir, sc, sm); err != nil {
			return fmt.Errorf("save the local stack's state: %w", err)
		}
		fmt.Fprintf(os.Stderr, "state saved in %s\n", *dataDir)
	}
	return nil
}
