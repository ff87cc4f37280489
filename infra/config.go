package main

import (
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/cognito-dr/cognito-dr/internal/boundary"
	"github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
	"github.com/cognito-dr/cognito-dr/workflows/replication"
	"github.com/cognito-dr/cognito-dr/workflows/restore"
)

// Config is the deployment's configuration, read from a JSON file (cognito-dr.json by default; see
// infra/README.md). Unknown keys are refused so a typo is not silently ignored.
type Config struct {
	// Account is the AWS account every stack deploys to; naming it keeps synth free of lookups.
	Account string `json:"account"`
	// Primary is the pool users sign in to normally (e.g. Tokyo).
	Primary Pool `json:"primary"`
	// DR is the pool in the disaster-recovery Region (e.g. Osaka). The backup stack lives there.
	DR Pool `json:"dr"`
	// OperatorEmails subscribe to the operators' topic: backup results and alarms.
	OperatorEmails []string `json:"operatorEmails"`
	// ApproverEmails subscribe to the failback topic, which carries the approval links: whoever
	// receives it can approve a failback. Empty means the operators approve.
	ApproverEmails []string `json:"approverEmails"`
	// Backup configures the scheduled backup of the primary pool.
	Backup BackupConfig `json:"backup"`
	// Failback configures the failback workflow's deployment.
	Failback FailbackConfig `json:"failback,omitempty"`
	// Replication configures the replicate trigger (primary Region), the retry store and the
	// reconcile workflow (DR Region).
	Replication ReplicationConfig `json:"replication,omitempty"`
	// Gate configures the gate triggers and the pools' mode parameters (infra/gate.go).
	Gate GateConfig `json:"gate,omitempty"`
	// Failover configures the failover state machine and the mode watch's alarms (infra/failover.go).
	Failover FailoverConfig `json:"failover,omitzero"`
	// Restore configures the restore workflow and its scheduled drill (infra/restore.go).
	Restore RestoreConfig `json:"restore,omitzero"`
	// LogRetentionDays keeps the Lambda and state machine logs; one of CloudWatch Logs' values.
	LogRetentionDays int `json:"logRetentionDays,omitempty"`
	// Tracing turns on X-Ray for the state machines (its policy needs Resource "*").
	Tracing bool `json:"tracing,omitempty"`
}

// Pool names a user pool in a Region.
type Pool struct {
	UserPoolID string `json:"userPoolId"`
	Region     string `json:"region"`
	// ExistingTriggers are the functions the pool already has on the events Cognito DR attaches a
	// trigger to: Cognito DR's trigger takes the event's place and chains to them
	// (CHAIN_FUNCTION_ARN), so the pool's own checks keep running.
	ExistingTriggers PoolTriggers `json:"existingTriggers,omitzero"`
}

// PoolTriggers are a pool's own Lambda functions by event, as full function ARNs in the pool's
// Region; empty is none.
type PoolTriggers struct {
	PreSignUp          string `json:"preSignUp,omitempty"`
	PreAuthentication  string `json:"preAuthentication,omitempty"`
	PreTokenGeneration string `json:"preTokenGeneration,omitempty"`
	// PostConfirmation is chained by the replicate trigger (primary pool only: nothing of Cognito
	// DR runs on the DR pool's PostConfirmation).
	PostConfirmation string `json:"postConfirmation,omitempty"`
}

// GateConfig configures the gate triggers (tasks/pre-sign-up, tasks/pre-authentication,
// tasks/pre-token) on both pools and the pools' mode parameters.
type GateConfig struct {
	// Enabled deploys the gate (default true). Off, neither pool has gate functions or a mode
	// parameter, and the DR pool's pre-token trigger only adds the primary_sub claim.
	Enabled *bool `json:"enabled,omitempty"`
	// FencedMessage is what users of a fenced pool are told when its mode carries no message
	// (FENCED_MESSAGE); empty is poolmode.DefaultMessage.
	FencedMessage string `json:"fencedMessage,omitempty"`
	// ModeCacheSeconds is how long a gate uses a mode it read (MODE_CACHE_SECONDS, 1 to 10); 0 is
	// the gate's default.
	ModeCacheSeconds int `json:"modeCacheSeconds,omitempty"`
}

// RestoreConfig configures the restore state machine (in the failback stack) and the drill.
type RestoreConfig struct {
	// Prefix is the restore files' key prefix in the backup bucket (the request's "prefix").
	Prefix string `json:"prefix,omitempty"`
	// RetentionDays expires restore files: the imported users, the report and the sub map
	// applications re-key their data with.
	RetentionDays int `json:"retentionDays,omitempty"`
	// Targets are the existing pools a restore may write into; default the primary pool.
	Targets []Pool `json:"targets,omitempty"`
	// CreateRegions are the Regions where a restore may create a pool (createPool); default the
	// primary pool's Region. The drill creates its scratch pools in the DR Region regardless.
	CreateRegions []string `json:"createRegions,omitempty"`
	// SecretArns are the Secrets Manager secrets a restore may read: the identity-provider and
	// app-client secrets a restore input names (providerSecrets, clientSecrets) when it creates
	// a pool. Only the restore's ResolveSnapshot and CreateTargetPool functions get
	// secretsmanager:GetSecretValue, on exactly these ARNs; none when empty (the default).
	SecretArns []string `json:"secretArns,omitempty"`
	// Drill schedules the restore drill.
	Drill DrillConfig `json:"drill,omitzero"`
}

// DrillConfig configures the scheduled restore drill.
type DrillConfig struct {
	// Enabled turns the schedule on (default true); off, the schedule is deployed DISABLED.
	Enabled *bool `json:"enabled,omitempty"`
	// Schedule is an EventBridge Scheduler expression; default monthly.
	Schedule string `json:"schedule,omitempty"`
	// TimeZone is the IANA time zone the cron expression is read in.
	TimeZone string `json:"timeZone,omitempty"`
}

// DrillEnabled reports whether the drill schedule is on.
func (c Config) DrillEnabled() bool {
	return c.Restore.Drill.Enabled == nil || *c.Restore.Drill.Enabled
}

// GateEnabled reports whether the gate is deployed.
func (c Config) GateEnabled() bool { return c.Gate.Enabled == nil || *c.Gate.Enabled }

// BackupConfig configures the backup workflow's deployment.
type BackupConfig struct {
	// Schedule is an EventBridge Scheduler expression: cron(...) or rate(...).
	Schedule string `json:"schedule,omitempty"`
	// TimeZone is the IANA time zone the cron expression is read in.
	TimeZone string `json:"timeZone,omitempty"`
	// RetentionDays is how long snapshots are kept.
	RetentionDays int `json:"retentionDays,omitempty"`
	// NoncurrentVersionDays is how long overwritten or deleted object versions are kept.
	NoncurrentVersionDays int `json:"noncurrentVersionDays,omitempty"`
	// Bucket is the backup bucket's name; default cognito-dr-backups-<account>-<DR Region>.
	Bucket string `json:"bucket,omitempty"`
	// Prefix is the snapshots' key prefix; the IAM policies are scoped to it.
	Prefix string `json:"prefix,omitempty"`
	// IncludeMFAPreferences makes the scheduled backup call AdminGetUser per user.
	IncludeMFAPreferences bool `json:"includeMfaPreferences,omitempty"`
	// UserListRPS and UserReadRPS (USER_LIST_RPS, USER_READ_RPS) pace the export; 0 means AWS's
	// default quota. Lower them when other tools share the account's Cognito quotas.
	UserListRPS float64 `json:"userListRps,omitempty"`
	UserReadRPS float64 `json:"userReadRps,omitempty"`
}

// FailbackConfig configures the failback workflow's deployment. Its files go to the backup bucket.
type FailbackConfig struct {
	// Prefix is the failback files' key prefix (the request's "prefix"); the IAM policies are
	// scoped to <prefix>/<primary pool id>/.
	Prefix string `json:"prefix,omitempty"`
	// ApprovalRateLimit and ApprovalBurstLimit throttle the public approval endpoint (requests per
	// second, and burst) so nobody can run up its Lambda invocations.
	ApprovalRateLimit  float64 `json:"approvalRateLimit,omitempty"`
	ApprovalBurstLimit float64 `json:"approvalBurstLimit,omitempty"`
	// RetentionDays expires failback files (plans and exports hold user data) and approvals
	// (kept this long as the audit trail of who decided).
	RetentionDays int `json:"retentionDays,omitempty"`
}

// ReplicationConfig configures the replication stacks: CognitoDrReplication in the primary Region
// (replicate trigger, retry bucket) and CognitoDrReconcile in the DR Region (pre-token trigger,
// reconcile state machine and its schedule).
type ReplicationConfig struct {
	// RetryBucket is the retry store's bucket in the primary Region; default
	// cognito-dr-replication-retry-<account>-<primary Region>.
	RetryBucket string `json:"retryBucket,omitempty"`
	// RetryPrefix is the retry store's key prefix (RETRY_PREFIX); entries are <prefix>/<pool>/<sub>.json.
	RetryPrefix string `json:"retryPrefix,omitempty"`
	// RetryNoncurrentVersionDays keeps resolved (deleted) retry entries' versions this long.
	RetryNoncurrentVersionDays int `json:"retryNoncurrentVersionDays,omitempty"`
	// ReplicateMemoryMiB sizes the replicate trigger: more memory is more CPU, a faster cold start
	// and TLS handshake to the DR Region inside Cognito's 5 s.
	ReplicateMemoryMiB float64 `json:"replicateMemoryMib,omitempty"`
	// ReplicateReservedConcurrency reserves (and caps) the trigger's concurrency; 0 leaves it
	// unreserved. A cap makes Lambda throttle sign-ups above it, and a throttled trigger fails the
	// sign-up: reserve only above the peak sign-up concurrency.
	ReplicateReservedConcurrency float64 `json:"replicateReservedConcurrency,omitempty"`
	// Reconcile configures the reconcile workflow's schedule and files.
	Reconcile ReconcileConfig `json:"reconcile,omitempty"`
}

// ReconcileConfig configures the scheduled reconcile.
type ReconcileConfig struct {
	// Enabled is the schedule's switch (default true). Set it false and deploy the reconcile stack
	// at failover: a reconcile against a recovered primary before failback would overwrite what
	// users changed in the DR pool.
	Enabled *bool `json:"enabled,omitempty"`
	// Schedule is an EventBridge Scheduler expression: cron(...) or rate(...).
	Schedule string `json:"schedule,omitempty"`
	// TimeZone is the IANA time zone the cron expression is read in.
	TimeZone string `json:"timeZone,omitempty"`
	// Prefix is the reconcile files' key prefix in the backup bucket (the request's "prefix").
	Prefix string `json:"prefix,omitempty"`
	// RetentionDays expires the reconcile files (full exports of both pools on every run).
	RetentionDays int `json:"retentionDays,omitempty"`
	// MirrorDeletes makes scheduled reconciles delete replicated users gone from the primary.
	MirrorDeletes bool `json:"mirrorDeletes,omitempty"`
	// StaleAfterMinutes raises the staleness alarm when no reconcile succeeded for this long:
	// the bound on the RPO of a user the trigger missed. Default: four intervals of a rate()
	// schedule (at least 60), 1500 (25 hours) for a cron() schedule.
	StaleAfterMinutes int `json:"staleAfterMinutes,omitempty"`
}

// ReconcileEnabled reports whether the reconcile schedule is on.
func (c Config) ReconcileEnabled() bool {
	return c.Replication.Reconcile.Enabled == nil || *c.Replication.Reconcile.Enabled
}

// Defaults filled in by LoadConfig.
const (
	DefaultSchedule              = "cron(0 3 * * ? *)"
	DefaultTimeZone              = "Asia/Tokyo"
	DefaultRetentionDays         = 35
	DefaultNoncurrentVersionDays = 30
	DefaultLogRetentionDays      = 90
	DefaultApprovalRateLimit     = 5
	DefaultApprovalBurstLimit    = 10

	DefaultReconcileSchedule          = "rate(15 minutes)"
	DefaultReconcileRetentionDays     = 7
	DefaultFailbackRetentionDays      = 90
	DefaultRetryNoncurrentVersionDays = 7
	DefaultReplicateMemoryMiB         = 512
	// DefaultDrillSchedule is monthly: 04:00 on the 1st, after the night's backup.
	DefaultDrillSchedule        = "cron(0 4 1 * ? *)"
	DefaultRestoreRetentionDays = 90
)

var (
	accountPattern = regexp.MustCompile(`^\d{12}$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	poolPattern    = regexp.MustCompile(`^([a-z]{2}(?:-[a-z]+)+-\d+)_[0-9a-zA-Z]+$`)
	bucketPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	schedulePatten = regexp.MustCompile(`^(cron|rate)\(.+\)$`)
	ratePattern    = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)
)

// rateMinutes is the interval of a rate() expression in minutes, 0 for anything else.
func rateMinutes(expr string) int {
	m := ratePattern.FindStringSubmatch(expr)
	if m == nil {
		return 0
	}
	var n int
	fmt.Sscan(m[1], &n)
	switch m[2][0] {
	case 'h':
		n *= 60
	case 'd':
		n *= 24 * 60
	}
	return n
}

// logRetention maps the retention periods CloudWatch Logs accepts to CDK's names for them.
var logRetention = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// LoadConfig reads and validates the configuration file at path.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read configuration: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes a configuration, fills in defaults and returns one error naming every problem.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	// The same strict decoding as the tasks' inputs: unknown keys, keys in another case and
	// trailing data are refused.
	if err := boundary.DecodeStrict(data, &c); err != nil {
		return Config{}, fmt.Errorf("configuration is not valid for Config: %w", err)
	}
	c.setDefaults()
	if problems := c.problems(); len(problems) > 0 {
		return Config{}, errors.New("invalid configuration: " + strings.Join(problems, "; "))
	}
	return c, nil
}

func (c *Config) setDefaults() {
	b := &c.Backup
	if b.Schedule == "" {
		b.Schedule = DefaultSchedule
	}
	if b.TimeZone == "" {
		b.TimeZone = DefaultTimeZone
	}
	if b.RetentionDays == 0 {
		b.RetentionDays = DefaultRetentionDays
	}
	if b.NoncurrentVersionDays == 0 {
		b.NoncurrentVersionDays = DefaultNoncurrentVersionDays
	}
	if b.Prefix == "" {
		b.Prefix = backup.DefaultPrefix
	}
	if b.Bucket == "" && c.Account != "" && c.DR.Region != "" {
		b.Bucket = fmt.Sprintf("cognito-dr-backups-%s-%s", c.Account, c.DR.Region)
	}
	if c.LogRetentionDays == 0 {
		c.LogRetentionDays = DefaultLogRetentionDays
	}
	f := &c.Failback
	if f.Prefix == "" {
		f.Prefix = failback.DefaultPrefix
	}
	if f.ApprovalRateLimit == 0 {
		f.ApprovalRateLimit = DefaultApprovalRateLimit
	}
	if f.ApprovalBurstLimit == 0 {
		f.ApprovalBurstLimit = DefaultApprovalBurstLimit
	}
	if f.RetentionDays == 0 {
		f.RetentionDays = DefaultFailbackRetentionDays
	}
	rs := &c.Restore
	if rs.Prefix == "" {
		rs.Prefix = restore.DefaultPrefix
	}
	if rs.RetentionDays == 0 {
		rs.RetentionDays = DefaultRestoreRetentionDays
	}
	if len(rs.Targets) == 0 && c.Primary.UserPoolID != "" {
		rs.Targets = []Pool{{UserPoolID: c.Primary.UserPoolID, Region: c.Primary.Region}}
	}
	if len(rs.CreateRegions) == 0 && c.Primary.Region != "" {
		rs.CreateRegions = []string{c.Primary.Region}
	}
	if rs.Drill.Schedule == "" {
		rs.Drill.Schedule = DefaultDrillSchedule
	}
	if rs.Drill.TimeZone == "" {
		rs.Drill.TimeZone = DefaultTimeZone
	}
	r := &c.Replication
	if r.RetryBucket == "" && c.Account != "" && c.Primary.Region != "" {
		r.RetryBucket = fmt.Sprintf("cognito-dr-replication-retry-%s-%s", c.Account, c.Primary.Region)
	}
	if r.RetryPrefix == "" {
		r.RetryPrefix = replication.DefaultRetryPrefix
	}
	if r.RetryNoncurrentVersionDays == 0 {
		r.RetryNoncurrentVersionDays = DefaultRetryNoncurrentVersionDays
	}
	if r.ReplicateMemoryMiB == 0 {
		r.ReplicateMemoryMiB = DefaultReplicateMemoryMiB
	}
	rc := &r.Reconcile
	if rc.Schedule == "" {
		rc.Schedule = DefaultReconcileSchedule
	}
	if rc.TimeZone == "" {
		rc.TimeZone = DefaultTimeZone
	}
	if rc.Prefix == "" {
		rc.Prefix = replication.DefaultPrefix
	}
	if rc.RetentionDays == 0 {
		rc.RetentionDays = DefaultReconcileRetentionDays
	}
	if rc.StaleAfterMinutes == 0 {
		if n := rateMinutes(rc.Schedule); n > 0 {
			rc.StaleAfterMinutes = max(60, (4*n+14)/15*15)
		} else {
			rc.StaleAfterMinutes = 1500
		}
	}
}

func (c *Config) problems() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if !accountPattern.MatchString(c.Account) {
		add("account %q is not a 12-digit AWS account id", c.Account)
	}
	checkPool := func(field string, pool Pool) {
		if !regionPattern.MatchString(pool.Region) {
			add("%s.region %q is not an AWS Region name such as ap-northeast-1", field, pool.Region)
		}
		m := poolPattern.FindStringSubmatch(pool.UserPoolID)
		switch {
		case m == nil:
			add("%s.userPoolId %q is not a user pool id such as ap-northeast-1_AbCdEf123", field, pool.UserPoolID)
		case m[1] != pool.Region:
			add("%s.userPoolId %q belongs to Region %s, not %s", field, pool.UserPoolID, m[1], pool.Region)
		}
	}
	checkPool("primary", c.Primary)
	checkPool("dr", c.DR)
	if c.Primary.Region != "" && c.Primary.Region == c.DR.Region {
		add("primary.region and dr.region are both %s: the DR pool and the backups must be in another Region", c.Primary.Region)
	}
	checkEmails := func(field string, list []string, required bool) {
		if required && len(list) == 0 {
			add("%s: at least one address is required", field)
		}
		for _, e := range list {
			if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
				add("%s: %q is not a plain email address", field, e)
			}
		}
	}
	checkEmails("operatorEmails", c.OperatorEmails, true)
	checkEmails("approverEmails", c.ApproverEmails, false)

	b := c.Backup
	if !schedulePatten.MatchString(b.Schedule) {
		add("backup.schedule %q is not cron(...) or rate(...)", b.Schedule)
	}
	if _, err := time.LoadLocation(b.TimeZone); err != nil {
		add("backup.timeZone %q is not an IANA time zone", b.TimeZone)
	}
	if b.RetentionDays < 1 {
		add("backup.retentionDays %d must be at least 1", b.RetentionDays)
	}
	if c.Failback.RetentionDays < 1 {
		add("failback.retentionDays %d must be at least 1", c.Failback.RetentionDays)
	}
	if b.NoncurrentVersionDays < 1 {
		add("backup.noncurrentVersionDays %d must be at least 1", b.NoncurrentVersionDays)
	}
	if !bucketPattern.MatchString(b.Bucket) {
		add("backup.bucket %q is not a valid S3 bucket name", b.Bucket)
	}
	if strings.HasPrefix(b.Prefix, "/") || strings.HasSuffix(b.Prefix, "/") || strings.ContainsAny(b.Prefix, "*?") {
		add("backup.prefix %q must not start or end with / nor contain * or ?", b.Prefix)
	}
	f := c.Failback
	if strings.HasPrefix(f.Prefix, "/") || strings.HasSuffix(f.Prefix, "/") || strings.ContainsAny(f.Prefix, "*?") {
		add("failback.prefix %q must not start or end with / nor contain * or ?", f.Prefix)
	}
	overlaps := func(a, b string) bool { return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/") }
	if overlaps(f.Prefix, b.Prefix) {
		add("failback.prefix %q and backup.prefix %q overlap: failback files would expire with the snapshots", f.Prefix, b.Prefix)
	}
	for _, p := range []string{b.Prefix, f.Prefix} {
		if overlaps(p, ApprovalsPrefix) {
			add("prefix %q overlaps %s/, where the approval page keeps its records", p, ApprovalsPrefix)
		}
	}
	if f.ApprovalRateLimit < 0 || f.ApprovalBurstLimit < 0 {
		add("failback.approvalRateLimit and failback.approvalBurstLimit must not be negative")
	}
	if b.UserListRPS < 0 || b.UserReadRPS < 0 {
		add("backup.userListRps and backup.userReadRps must not be negative")
	}
	// The tasks refuse a rate above a quota AWS does not raise (quota.FromEnv): say so at synth, not
	// at the first scheduled backup.
	if l := quota.Limits[quota.UserList]; b.UserListRPS > l.RPS && !l.Adjustable {
		add("backup.userListRps %v exceeds the UserList quota of %v requests/s, which AWS does not raise", b.UserListRPS, l.RPS)
	}
	p = append(p, c.replicationProblems(overlaps)...)
	p = append(p, c.gateProblems()...)
	p = append(p, c.failoverProblems()...)
	p = append(p, c.restoreProblems(overlaps)...)
	if _, ok := logRetention[c.LogRetentionDays]; !ok {
		add("logRetentionDays %d is not one of CloudWatch Logs' values %v", c.LogRetentionDays, slices.Sorted(maps.Keys(logRetention)))
	}
	return p
}

func (c *Config) replicationProblems(overlaps func(a, b string) bool) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	r := c.Replication
	badPrefix := func(s string) bool {
		return s == "" || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.ContainsAny(s, "*?")
	}
	if !bucketPattern.MatchString(r.RetryBucket) {
		add("replication.retryBucket %q is not a valid S3 bucket name", r.RetryBucket)
	} else if r.RetryBucket == c.Backup.Bucket {
		add("replication.retryBucket %q is the backup bucket: the retry store must be in the primary Region", r.RetryBucket)
	}
	if badPrefix(r.RetryPrefix) {
		add("replication.retryPrefix %q must not be empty, start or end with / nor contain * or ?", r.RetryPrefix)
	}
	if r.RetryNoncurrentVersionDays < 1 {
		add("replication.retryNoncurrentVersionDays %d must be at least 1", r.RetryNoncurrentVersionDays)
	}
	if r.ReplicateMemoryMiB < 128 || r.ReplicateMemoryMiB > 10240 || r.ReplicateMemoryMiB != float64(int(r.ReplicateMemoryMiB)) {
		add("replication.replicateMemoryMib %v must be a whole number from 128 to 10240", r.ReplicateMemoryMiB)
	}
	if r.ReplicateReservedConcurrency < 0 || r.ReplicateReservedConcurrency != float64(int(r.ReplicateReservedConcurrency)) {
		add("replication.replicateReservedConcurrency %v must be a whole number, 0 for unreserved", r.ReplicateReservedConcurrency)
	}
	rc := r.Reconcile
	if !schedulePatten.MatchString(rc.Schedule) {
		add("replication.reconcile.schedule %q is not cron(...) or rate(...)", rc.Schedule)
	} else if strings.HasPrefix(rc.Schedule, "rate(") && rateMinutes(rc.Schedule) == 0 {
		add("replication.reconcile.schedule %q is not rate(<n> minutes|hours|days)", rc.Schedule)
	}
	if _, err := time.LoadLocation(rc.TimeZone); err != nil {
		add("replication.reconcile.timeZone %q is not an IANA time zone", rc.TimeZone)
	}
	if badPrefix(rc.Prefix) {
		add("replication.reconcile.prefix %q must not be empty, start or end with / nor contain * or ?", rc.Prefix)
	} else {
		for _, other := range []struct{ name, prefix string }{{"backup.prefix", c.Backup.Prefix}, {"failback.prefix", c.Failback.Prefix}, {"approvals", ApprovalsPrefix}} {
			if overlaps(rc.Prefix, other.prefix) {
				add("replication.reconcile.prefix %q overlaps %s %q: reconcile files expire after replication.reconcile.retentionDays", rc.Prefix, other.name, other.prefix)
			}
		}
	}
	if rc.RetentionDays < 1 {
		add("replication.reconcile.retentionDays %d must be at least 1", rc.RetentionDays)
	}
	switch s := rc.StaleAfterMinutes; {
	case s < 30 || s > 7*24*60:
		add("replication.reconcile.staleAfterMinutes %d must be from 30 to 10080 (7 days)", s)
	case s > 24*60 && s%60 != 0:
		add("replication.reconcile.staleAfterMinutes %d above a day must be a whole number of hours", s)
	case s <= 24*60 && s%15 != 0:
		add("replication.reconcile.staleAfterMinutes %d must be a multiple of 15", s)
	case rateMinutes(rc.Schedule) > 0 && s < 2*rateMinutes(rc.Schedule):
		add("replication.reconcile.staleAfterMinutes %d is less than two intervals of %s: the alarm would fire between runs", s, rc.Schedule)
	}
	return p
}

func (c *Config) restoreProblems(overlaps func(a, b string) bool) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	r := c.Restore
	if r.Prefix == "" || strings.HasPrefix(r.Prefix, "/") || strings.HasSuffix(r.Prefix, "/") || strings.ContainsAny(r.Prefix, "*?") {
		add("restore.prefix %q must not be empty, start or end with / nor contain * or ?", r.Prefix)
	} else {
		for _, other := range []struct{ name, prefix string }{{"backup.prefix", c.Backup.Prefix}, {"failback.prefix", c.Failback.Prefix}, {"replication.reconcile.prefix", c.Replication.Reconcile.Prefix}, {"approvals", ApprovalsPrefix}} {
			if overlaps(r.Prefix, other.prefix) {
				add("restore.prefix %q overlaps %s %q", r.Prefix, other.name, other.prefix)
			}
		}
	}
	if r.RetentionDays < 1 {
		add("restore.retentionDays %d must be at least 1", r.RetentionDays)
	}
	for i, t := range r.Targets {
		m := poolPattern.FindStringSubmatch(t.UserPoolID)
		switch {
		case m == nil:
			add("restore.targets[%d].userPoolId %q is not a user pool id such as ap-northeast-1_AbCdEf123", i, t.UserPoolID)
		case m[1] != t.Region:
			add("restore.targets[%d].userPoolId %q belongs to Region %s, not %q", i, t.UserPoolID, m[1], t.Region)
		}
		if t.ExistingTriggers != (PoolTriggers{}) {
			add("restore.targets[%d]: existingTriggers belong to primary and dr only", i)
		}
	}
	for i, region := range r.CreateRegions {
		if !regionPattern.MatchString(region) {
			add("restore.createRegions[%d] %q is not an AWS Region name", i, region)
		}
	}
	for i, a := range r.SecretArns {
		parsed, err := arn.Parse(a)
		switch {
		case err != nil || parsed.Service != "secretsmanager" || !strings.HasPrefix(parsed.Resource, "secret:") || !regionPattern.MatchString(parsed.Region):
			add("restore.secretArns[%d] %q is not a Secrets Manager secret ARN (arn:%s:secretsmanager:<region>:%s:secret:<name>-<suffix>)", i, a, c.Partition(), c.Account)
		case parsed.Partition != c.Partition() || parsed.AccountID != c.Account:
			add("restore.secretArns[%d] %q is not a secret of account %s (%s)", i, a, c.Account, c.Partition())
		}
	}
	if !schedulePatten.MatchString(r.Drill.Schedule) {
		add("restore.drill.schedule %q is not cron(...) or rate(...)", r.Drill.Schedule)
	}
	if _, err := time.LoadLocation(r.Drill.TimeZone); err != nil {
		add("restore.drill.timeZone %q is not an IANA time zone", r.Drill.TimeZone)
	}
	return p
}

// RestoreDrillRequest is the execution input the drill schedule starts the restore state machine
// with: the primary pool's newest snapshot, restored into a scratch pool in the DR Region.
func (c Config) RestoreDrillRequest() restore.Request {
	return restore.Request{
		Bucket:           c.Backup.Bucket,
		BucketRegion:     c.DR.Region,
		Snapshot:         restore.Latest,
		SourceUserPoolID: c.Primary.UserPoolID,
		SnapshotPrefix:   c.Backup.Prefix,
		Prefix:           c.Restore.Prefix,
		Drill:            true,
	}
}

// RestoreRequest is the restore execution input an operator starts from: the primary pool's
// newest snapshot into the primary pool (set target or createPool as the case needs).
func (c Config) RestoreRequest() restore.Request {
	return restore.Request{
		Bucket:           c.Backup.Bucket,
		BucketRegion:     c.DR.Region,
		Snapshot:         restore.Latest,
		SourceUserPoolID: c.Primary.UserPoolID,
		SnapshotPrefix:   c.Backup.Prefix,
		Prefix:           c.Restore.Prefix,
		Target:           &manifest.PoolRef{UserPoolID: c.Primary.UserPoolID, Region: c.Primary.Region},
	}
}

// LogRetention is LogRetentionDays as CDK names it.
func (c Config) LogRetention() awslogs.RetentionDays { return logRetention[c.LogRetentionDays] }

// Partition is the ARN partition of the configured Regions.
func (c Config) Partition() string {
	switch {
	case strings.HasPrefix(c.DR.Region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(c.DR.Region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// PoolArn is the ARN of a user pool of this account.
func (c Config) PoolArn(p Pool) string {
	return fmt.Sprintf("arn:%s:cognito-idp:%s:%s:userpool/%s", c.Partition(), p.Region, c.Account, p.UserPoolID)
}

// BackupRequest is the execution input the schedule starts the backup state machine with: the
// primary pool backed up to the bucket in the DR Region, import CSVs built for the DR pool.
func (c Config) BackupRequest() backup.Request {
	return backup.Request{
		UserPoolID:            c.Primary.UserPoolID,
		Region:                c.Primary.Region,
		Bucket:                c.Backup.Bucket,
		BucketRegion:          c.DR.Region,
		Prefix:                c.Backup.Prefix,
		TargetUserPoolID:      c.DR.UserPoolID,
		TargetRegion:          c.DR.Region,
		IncludeMFAPreferences: c.Backup.IncludeMFAPreferences,
	}
}

// Approvers are the addresses subscribed to the failback topic: the approvers, else the operators.
func (c Config) Approvers() []string {
	if len(c.ApproverEmails) > 0 {
		return c.ApproverEmails
	}
	return c.OperatorEmails
}

// FailbackRequest is the failback execution input for this deployment, as an operator starts it:
// everything but failoverTime (and the options applyDisables, globalSignOut,
// approvalTimeoutSeconds) comes from the configuration.
func (c Config) FailbackRequest() failback.Request {
	return failback.Request{
		PrimaryUserPoolID: c.Primary.UserPoolID,
		PrimaryRegion:     c.Primary.Region,
		DRUserPoolID:      c.DR.UserPoolID,
		DRRegion:          c.DR.Region,
		Bucket:            c.Backup.Bucket,
		BucketRegion:      c.DR.Region,
		Prefix:            c.Failback.Prefix,
	}
}

// ReconcileRequest is the execution input the schedule starts the reconcile state machine with:
// the primary pool copied into the DR pool, files in the backup bucket in the DR Region.
func (c Config) ReconcileRequest() replication.Request {
	return replication.Request{
		PrimaryUserPoolID: c.Primary.UserPoolID,
		PrimaryRegion:     c.Primary.Region,
		DRUserPoolID:      c.DR.UserPoolID,
		DRRegion:          c.DR.Region,
		Bucket:            c.Backup.Bucket,
		BucketRegion:      c.DR.Region,
		MirrorDeletes:     c.Replication.Reconcile.MirrorDeletes,
		Prefix:            c.Replication.Reconcile.Prefix,
	}
}
