// Command infra is the CDK for Go app of Cognito DR (cdk.json: `go run ./infra`). It reads the
// deployment's configuration file (context key "config", default cognito-dr.json; see README.md),
// builds every task Lambda for linux/arm64 into out/lambda/<task>/bootstrap, and synthesizes the
// stacks with cdk-nag's AwsSolutions checks applied.
package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	_ "time/tzdata" // the configuration's time zone is checked without relying on the host's zoneinfo

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
	"github.com/cognito-dr/cognito-dr/workflows/failover"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

// ConfigContextKey names the configuration file: `cdk synth -c config=path/to/cognito-dr.json`.
const ConfigContextKey = "config"

// DefaultConfigFile is read when no config context is given.
const DefaultConfigFile = "cognito-dr.json"

func main() {
	defer jsii.Close()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cognito-dr infra:", err)
		os.Exit(1)
	}
}

func run() error {
	app := NewApp()
	path := DefaultConfigFile
	if v, ok := app.Node().TryGetContext(jsii.String(ConfigContextKey)).(string); ok && v != "" {
		path = v
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return err
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := ModuleRoot(wd)
	if err != nil {
		return err
	}
	out := filepath.Join(root, "out", "lambda")
	if err := BuildTasks(root, out, Tasks()); err != nil {
		return err
	}
	if _, err := NewStacks(app, cfg, DirCode(out)); err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}

// featureFlags are the CDK feature flags the stacks are written for, set here rather than in
// cdk.json so that tests synthesize exactly what `cdk synth` does.
var featureFlags = map[string]any{
	// Grant S3 log delivery with a bucket policy instead of the legacy ACL (ACLs are disabled).
	"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": true,
}

// NewApp returns the CDK app with the project's feature flags and no version reporting.
func NewApp() awscdk.App {
	ctx := maps.Clone(featureFlags)
	return awscdk.NewApp(&awscdk.AppProps{Context: &ctx, AnalyticsReporting: jsii.Bool(false)})
}

// Stacks are every stack of a deployment.
type Stacks struct {
	Backup   *BackupStack
	Failback *FailbackStack
	// Replication is in the primary Region; Reconcile, like the others, in the DR Region.
	Replication *ReplicationStack
	Reconcile   *ReconcileStack
}

// NewStacks creates the deployment's stacks in app and applies the AwsSolutions checks, so a finding
// without a justified suppression fails the synth.
func NewStacks(app awscdk.App, cfg Config, code CodeSource) (*Stacks, error) {
	b, err := NewBackupStack(app, "CognitoDrBackup", BackupStackProps{Config: cfg, Code: code})
	if err != nil {
		return nil, err
	}
	f, err := NewFailbackStack(app, "CognitoDrFailback", FailbackStackProps{Config: cfg, Code: code, Backup: b})
	if err != nil {
		return nil, err
	}
	r, err := NewReplicationStack(app, "CognitoDrReplication", ReplicationStackProps{Config: cfg, Code: code})
	if err != nil {
		return nil, err
	}
	rc, err := NewReconcileStack(app, "CognitoDrReconcile", ReconcileStackProps{Config: cfg, Code: code, Backup: b, Replication: r})
	if err != nil {
		return nil, err
	}
	// The end of a failback resumes the reconcile schedule: the failback stack then follows the
	// reconcile stack, whose schedule role it passes.
	f.GrantResumeReconcile(rc.ScheduleRole)
	awscdk.Tags_Of(app).Add(jsii.String("project"), jsii.String("cognito-dr"), nil)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return &Stacks{Backup: b, Failback: f, Replication: r, Reconcile: rc}, nil
}

// Tasks lists every tasks/<dir> the stacks deploy.
func Tasks() []string {
	set := map[string]bool{ApprovalPageTask: true, ReplicateTask: true, PreTokenTask: true, PreSignUpTask: true, PreAuthenticationTask: true, failover.FailoverWatchTask.Name: true}
	for _, specs := range [][]boundary.Spec{boundary.Specs(backup.Tasks), boundary.Specs(failback.Tasks), boundary.Specs(failover.Tasks), boundary.Specs(replication.Tasks), boundary.Specs(restore.Tasks)} {
		for _, t := range specs {
			set[t.Name] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}
