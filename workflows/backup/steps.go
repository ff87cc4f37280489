package backup

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/poolconfig"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

// Cognito is what the backup steps call on a user pool.
type Cognito interface {
	export.Cognito
	poolconfig.CaptureAPI
	DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
	GetCSVHeader(ctx context.Context, in *cip.GetCSVHeaderInput, optFns ...func(*cip.Options)) (*cip.GetCSVHeaderOutput, error)
}

// S3 is what the backup steps call on the backup bucket.
type S3 interface {
	transfermanager.S3APIClient
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

// SNS publishes notifications.
type SNS interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Progress is a running count of an export, for live progress (users done, rate, ETA).
type Progress struct {
	Users     int
	Estimated int
	Elapsed   time.Duration
}

// Steps are the tasks of the backup state machine. The Lambda mains and the local executor bind
// the same methods.
type Steps struct {
	// Cognito, S3 and SNS return a client for a Region.
	Cognito func(region string) Cognito
	S3      func(region string) S3
	SNS     func(region string) SNS
	// TopicArn receives the success and failure summaries.
	TopicArn string
	// Quota paces the export; nil means quota.Default() (AWS's default quotas).
	Quota *quota.Registry
	// Progress, if set, is called while users are exported.
	Progress func(Progress)
	// ExportBudget is how long one ExportUsers or BuildImportCsv invocation works; 0 means
	// checkpoint.DefaultBudget.
	ExportBudget time.Duration
	// Budget, if set, replaces the ExportBudget timer (tests cut an invocation with it).
	Budget func() checkpoint.Budget
	// CSVBuckets and CSVUnitUsers, if set, replace BuildImportCsv's fingerprint buckets and users
	// per write unit (csvbuild.Job; tests make many of each).
	CSVBuckets, CSVUnitUsers int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (s *Steps) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
