package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/mail"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

	"github.com/cognito-dr/cognito-dr/workflows/backup"
	"github.com/cognito-dr/cognito-dr/workflows/failback"
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
	// LogRetentionDays keeps the Lambda and state machine logs; one of CloudWatch Logs' values.
	LogRetentionDays int `json:"logRetentionDays,omitempty"`
	// Tracing turns on X-Ray for the state machines (its policy needs Resource "*").
	Tracing bool `json:"tracing,omitempty"`
}

// Pool names a user pool in a Region.
type Pool struct {
	UserPoolID string `json:"userPoolId"`
	Region     string `json:"region"`
}

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
)

var (
	accountPattern = regexp.MustCompile(`^\d{12}$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	poolPattern    = regexp.MustCompile(`^([a-z]{2}(?:-[a-z]+)+-\d+)_[0-9a-zA-Z]+$`)
	bucketPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	schedulePatten = regexp.MustCompile(`^(cron|rate)\(.+\)$`)
)

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
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("configuration is not valid JSON for Config: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Config{}, errors.New("configuration has data after the JSON object")
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
	if _, ok := logRetention[c.LogRetentionDays]; !ok {
		add("logRetentionDays %d is not one of CloudWatch Logs' values %v", c.LogRetentionDays, slices.Sorted(maps.Keys(logRetention)))
	}
	return p
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
