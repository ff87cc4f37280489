// Package readiness answers "could we fail over, and restore, right now?" without changing
// anything: it compares the DR pool's configuration with the primary's (a DR pool that refuses
// what replication or an import sends, or lets users in without MFA, is found at the drill, not
// during the outage), checks that a recent backup exists, proves every file of it is whole, and
// that a restore drill passed recently.
package readiness

import (
	"context"
	"fmt"
	"strings"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/preflight"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

// Status is the outcome of one check.
type Status string

// A check is OK, worth a look (WARN), or a reason failover or restore would not work (FAIL).
const (
	OK   Status = "OK"
	Warn Status = "WARN"
	Fail Status = "FAIL"
)

func (s Status) rank() int {
	switch s {
	case Fail:
		return 2
	case Warn:
		return 1
	}
	return 0
}

// Check names, in the order a report lists them.
const (
	CheckSignIn         = "sign-in"
	CheckMFA            = "mfa"
	CheckPasswordPolicy = "password-policy"
	CheckSchema         = "schema"
	CheckPrimarySub     = "primary-sub"
	CheckGroups         = "groups"
	CheckBackup         = "backup-freshness"
	CheckRestore        = "restore-drill"
	CheckDrill          = "drill"
)

// Check is one named check's result.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Reason is one line: the worst finding, or what was found in order.
	Reason string `json:"reason"`
	// Findings lists every problem the check found, worst first.
	Findings []string `json:"findings,omitempty"`
}

// Report is the result of every check.
type Report struct {
	CheckedAt time.Time `json:"checkedAt"`
	Config    Config    `json:"config"`
	// MaxBackupAge is Config.MaxBackupAge as text ("26h0m0s").
	MaxBackupAge string `json:"maxBackupAge"`
	// MaxDrillAge is Config.MaxDrillAge as text ("840h0m0s").
	MaxDrillAge string  `json:"maxDrillAge"`
	Status      Status  `json:"status"`
	Checks      []Check `json:"checks"`
	// Manifest is the key of the newest backup's manifest, if any.
	Manifest string `json:"manifest,omitempty"`
	// Drill is the key of the newest restore drill's record, if any.
	Drill string `json:"drill,omitempty"`
}

// Failed counts the checks that failed.
func (r Report) Failed() int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == Fail {
			n++
		}
	}
	return n
}

// Check returns the named check's result.
func (r Report) Check(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Config names what to check.
type Config struct {
	PrimaryPool   string `json:"primaryUserPoolId"`
	PrimaryRegion string `json:"primaryRegion"`
	DRPool        string `json:"drUserPoolId"`
	DRRegion      string `json:"drRegion"`
	Bucket        string `json:"bucket"`
	BucketRegion  string `json:"bucketRegion"`
	// Prefix is the backups' key prefix; empty means manifest.DefaultPrefix.
	Prefix string `json:"prefix"`
	// MaxBackupAge is how old the newest backup may be; zero means DefaultMaxBackupAge.
	MaxBackupAge time.Duration `json:"-"`
	// MaxDrillAge is how old the newest passed restore drill may be; zero means
	// DefaultMaxDrillAge.
	MaxDrillAge time.Duration `json:"-"`
}

// DefaultMaxBackupAge is the deployed backup-age alarm's threshold.
const DefaultMaxBackupAge = 26 * time.Hour

// DefaultMaxDrillAge gives a monthly drill a few days of slack.
const DefaultMaxDrillAge = 35 * 24 * time.Hour

// Validate names every malformed or missing setting at once.
func (c Config) Validate() error {
	var p preflight.Problems
	p.Region("primary region", c.PrimaryRegion)
	p.Pool("primary pool", c.PrimaryPool, c.PrimaryRegion)
	p.Region("DR region", c.DRRegion)
	p.Pool("DR pool", c.DRPool, c.DRRegion)
	if c.PrimaryPool != "" && c.PrimaryPool == c.DRPool {
		p.Add("the primary and DR pools are the same pool %s", c.PrimaryPool)
	}
	p.Bucket("bucket", c.Bucket)
	p.Region("bucket region", c.BucketRegion)
	if c.MaxBackupAge < 0 {
		p.Add("max backup age %s is negative", c.MaxBackupAge)
	}
	if c.MaxDrillAge < 0 {
		p.Add("max drill age %s is negative", c.MaxDrillAge)
	}
	return p.Err("readiness settings")
}

// Cognito is what the checks call on each pool; all of it is read-only.
type Cognito interface {
	preflight.DescribePoolAPI
	poolpair.ClientsAPI
	cip.ListGroupsAPIClient
	GetUserPoolMfaConfig(ctx context.Context, in *cip.GetUserPoolMfaConfigInput, optFns ...func(*cip.Options)) (*cip.GetUserPoolMfaConfigOutput, error)
}

// S3 is what the checks call on the backup bucket; read-only too.
type S3 interface {
	s3.ListObjectsV2APIClient
	s3stream.GetObjectAPI
}

// Checker runs the checks.
type Checker struct {
	// Cognito and S3 return a client for a Region.
	Cognito func(region string) Cognito
	S3      func(region string) S3
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Run runs every check. A check that cannot read what it checks fails with the reason; Run
// returns an error only for settings that name nothing checkable.
func (c *Checker) Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = manifest.DefaultPrefix
	}
	cfg.Prefix = strings.Trim(cfg.Prefix, "/")
	if cfg.MaxBackupAge == 0 {
		cfg.MaxBackupAge = DefaultMaxBackupAge
	}
	if cfg.MaxDrillAge == 0 {
		cfg.MaxDrillAge = DefaultMaxDrillAge
	}
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	r := Report{CheckedAt: now().UTC(), Config: cfg, MaxBackupAge: cfg.MaxBackupAge.String(), MaxDrillAge: cfg.MaxDrillAge.String()}
	r.Checks = append(r.Checks, c.pools(ctx, cfg)...)
	r.Checks = append(r.Checks, c.email(ctx, cfg))
	b := c.newestBackup(ctx, cfg)
	r.Checks = append(r.Checks, freshness(b, cfg.MaxBackupAge, r.CheckedAt))
	r.Checks = append(r.Checks, c.restoreDrill(ctx, cfg, b))
	drill, drillKey := c.drill(ctx, cfg, r.CheckedAt)
	r.Checks, r.Drill = append(r.Checks, drill), drillKey
	if b.manifest != nil {
		r.Manifest = b.key
	}
	r.Status = OK
	for _, ch := range r.Checks {
		if ch.Status.rank() > r.Status.rank() {
			r.Status = ch.Status
		}
	}
	return r, nil
}

// findings collects one check's problems, each with its severity.
type findings struct {
	fail, warn []string
}

func (f *findings) failf(format string, args ...any) {
	f.fail = append(f.fail, fmt.Sprintf(format, args...))
}
func (f *findings) warnf(format string, args ...any) {
	f.warn = append(f.warn, fmt.Sprintf(format, args...))
}

// check turns findings into a result: FAIL if any failed, WARN if any warned, else OK with ok.
func (f findings) check(name, ok string) Check {
	all := append(append([]string(nil), f.fail...), f.warn...)
	switch {
	case len(f.fail) > 0:
		return Check{Name: name, Status: Fail, Reason: summarize(f.fail), Findings: all}
	case len(f.warn) > 0:
		return Check{Name: name, Status: Warn, Reason: summarize(f.warn), Findings: all}
	}
	return Check{Name: name, Status: OK, Reason: ok}
}

// summarize keeps a reason to one line: the first finding and how many more there are.
func summarize(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return fmt.Sprintf("%s (and %d more)", s[0], len(s)-1)
}

func failed(name string, err error) Check {
	return Check{Name: name, Status: Fail, Reason: err.Error()}
}
