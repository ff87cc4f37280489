package failback

import (
	"context"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/cognito-dr/cognito-dr/internal/approval"
	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/failover"
	"github.com/cognito-dr/cognito-dr/internal/poolmode"
	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

// Cognito is what the failback steps call on the two pools.
type Cognito interface {
	export.Cognito
	csvbuild.Cognito
	poolpair.ClientsAPI
	CreateUserImportJob(ctx context.Context, in *cip.CreateUserImportJobInput, optFns ...func(*cip.Options)) (*cip.CreateUserImportJobOutput, error)
	StartUserImportJob(ctx context.Context, in *cip.StartUserImportJobInput, optFns ...func(*cip.Options)) (*cip.StartUserImportJobOutput, error)
	DescribeUserImportJob(ctx context.Context, in *cip.DescribeUserImportJobInput, optFns ...func(*cip.Options)) (*cip.DescribeUserImportJobOutput, error)
	AdminCreateUser(ctx context.Context, in *cip.AdminCreateUserInput, optFns ...func(*cip.Options)) (*cip.AdminCreateUserOutput, error)
	AdminUpdateUserAttributes(ctx context.Context, in *cip.AdminUpdateUserAttributesInput, optFns ...func(*cip.Options)) (*cip.AdminUpdateUserAttributesOutput, error)
	AdminDeleteUserAttributes(ctx context.Context, in *cip.AdminDeleteUserAttributesInput, optFns ...func(*cip.Options)) (*cip.AdminDeleteUserAttributesOutput, error)
	AdminAddUserToGroup(ctx context.Context, in *cip.AdminAddUserToGroupInput, optFns ...func(*cip.Options)) (*cip.AdminAddUserToGroupOutput, error)
	CreateGroup(ctx context.Context, in *cip.CreateGroupInput, optFns ...func(*cip.Options)) (*cip.CreateGroupOutput, error)
	AdminDisableUser(ctx context.Context, in *cip.AdminDisableUserInput, optFns ...func(*cip.Options)) (*cip.AdminDisableUserOutput, error)
	AdminUserGlobalSignOut(ctx context.Context, in *cip.AdminUserGlobalSignOutInput, optFns ...func(*cip.Options)) (*cip.AdminUserGlobalSignOutOutput, error)
}

// S3 is what the failback steps call on the failback bucket.
type S3 interface {
	transfermanager.S3APIClient
	s3.ListObjectsV2APIClient
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

// SNS publishes notifications.
type SNS interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Logs reads an import job's per-row results from CloudWatch Logs.
type Logs interface {
	cloudwatchlogs.GetLogEventsAPIClient
}

// Approvals creates the approval an operator answers from the emailed link.
type Approvals interface {
	Create(ctx context.Context, token, execution string, sum approval.Summary, ttl time.Duration) (string, error)
}

// Steps are the tasks of the failback state machine.
type Steps struct {
	Cognito func(region string) Cognito
	S3      func(region string) S3
	SNS     func(region string) SNS
	Logs    func(region string) Logs
	// SSM and Scheduler switch the pools' modes and the reconcile schedule (internal/failover).
	SSM       func(region string) poolmode.SSM
	Scheduler func(region string) failover.Scheduler
	// ScheduleName and ScheduleGroup are the reconcile schedule in the DR Region the end of a
	// failback resumes; an empty name resumes none.
	ScheduleName, ScheduleGroup string
	Approvals                   Approvals
	// HTTP uploads import CSVs to their presigned URLs; nil means http.DefaultClient.
	HTTP *http.Client
	// TopicArn receives the approval request and the outcome.
	TopicArn string
	// ImportLogsRoleArn is the role Cognito assumes to write import results to CloudWatch Logs.
	ImportLogsRoleArn string
	// Quota paces every Cognito call to its quota category; nil means quota.Default().
	Quota *quota.Registry
	// BatchTime bounds how long a looping step (apply, disable) works before it returns its
	// cursor, well inside the Lambda limit of 15 minutes; zero means 10 minutes.
	BatchTime time.Duration
	// BucketUsers is how many users of a pool one bucket of the plan holds at most (by the pools'
	// estimated sizes, FAILBACK_BUCKET_USERS), so what one PlanFailback unit holds; zero means
	// partition.DefaultBucketUsers. ApplyChanges sizes the buckets of its creates' join by it too
	// (at most BucketUsers of the import's rejects a bucket).
	BucketUsers int
	// OpenFiles is how many bucket files a plan unit writes at once (each a gzip stream spooled
	// to /tmp); zero means 32.
	OpenFiles int
	// PageSize is how many changes one page of ApplyChanges' work list holds: what one
	// invocation holds of the list at a time; zero means worklist.DefaultPageSize.
	PageSize int
	// ExportBudget is how long one ExportPools or PlanFailback invocation works (EXPORT_BUDGET_SECONDS, as the
	// backup's export); zero means checkpoint.DefaultBudget. Budget, if set, replaces its timer
	// and ApplyChanges' BatchTime (tests cut invocations with it).
	ExportBudget time.Duration
	Budget       func() checkpoint.Budget
	Now          func() time.Time
}

func (s *Steps) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Steps) httpClient() *http.Client {
	if s.HTTP != nil {
		return s.HTTP
	}
	return http.DefaultClient
}

func (s *Steps) batchTime() time.Duration {
	if s.BatchTime > 0 {
		return s.BatchTime
	}
	return 10 * time.Minute
}
