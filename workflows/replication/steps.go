package replication

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/export"
	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

// DR is what copying one user calls on the DR pool: the replicate trigger and the repairs.
type DR interface {
	DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
	AdminCreateUser(ctx context.Context, in *cip.AdminCreateUserInput, optFns ...func(*cip.Options)) (*cip.AdminCreateUserOutput, error)
	AdminUpdateUserAttributes(ctx context.Context, in *cip.AdminUpdateUserAttributesInput, optFns ...func(*cip.Options)) (*cip.AdminUpdateUserAttributesOutput, error)
	AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
	AdminSetUserPassword(ctx context.Context, in *cip.AdminSetUserPasswordInput, optFns ...func(*cip.Options)) (*cip.AdminSetUserPasswordOutput, error)
}

// Cognito is what the reconcile steps call on the two pools.
type Cognito interface {
	export.Cognito
	DR
	poolpair.ClientsAPI
	AdminDeleteUserAttributes(ctx context.Context, in *cip.AdminDeleteUserAttributesInput, optFns ...func(*cip.Options)) (*cip.AdminDeleteUserAttributesOutput, error)
	AdminEnableUser(ctx context.Context, in *cip.AdminEnableUserInput, optFns ...func(*cip.Options)) (*cip.AdminEnableUserOutput, error)
	AdminDisableUser(ctx context.Context, in *cip.AdminDisableUserInput, optFns ...func(*cip.Options)) (*cip.AdminDisableUserOutput, error)
	AdminDeleteUser(ctx context.Context, in *cip.AdminDeleteUserInput, optFns ...func(*cip.Options)) (*cip.AdminDeleteUserOutput, error)
	AdminAddUserToGroup(ctx context.Context, in *cip.AdminAddUserToGroupInput, optFns ...func(*cip.Options)) (*cip.AdminAddUserToGroupOutput, error)
	AdminRemoveUserFromGroup(ctx context.Context, in *cip.AdminRemoveUserFromGroupInput, optFns ...func(*cip.Options)) (*cip.AdminRemoveUserFromGroupOutput, error)
	CreateGroup(ctx context.Context, in *cip.CreateGroupInput, optFns ...func(*cip.Options)) (*cip.CreateGroupOutput, error)
}

// S3 is what the reconcile steps call on its bucket.
type S3 interface {
	transfermanager.S3APIClient
	s3.ListObjectsV2APIClient
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

// SNS publishes the drift report.
type SNS interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Steps are the replicate and pre-token triggers and the tasks of the reconcile state machine.
type Steps struct {
	Cognito func(region string) Cognito
	S3      func(region string) S3
	SNS     func(region string) SNS
	// Retry holds the users the replicate trigger could not copy; reconcile repairs them first.
	Retry RetryStore
	// TopicArn receives the drift report.
	TopicArn string
	// DRUserPoolID and DRRegion name the pool the replicate trigger copies users to.
	DRUserPoolID string
	DRRegion     string
	// DRBudget bounds the replicate trigger's work on the DR pool (Cognito gives a trigger 5 s
	// in all); zero means 2.5 s. RetryBudget bounds recording a failure; zero means 1 s.
	DRBudget, RetryBudget time.Duration
	// Quota paces every Cognito call to its quota category; nil means quota.Default().
	Quota *quota.Registry
	// BatchTime bounds how long one RepairDrift invocation works before it returns its cursor,
	// well inside the Lambda limit of 15 minutes; zero means 10 minutes.
	BatchTime time.Duration
	// BucketUsers is how many users of a pool one reconcile bucket holds at most (by the pools'
	// estimated sizes), so what one DiffBucket invocation holds; zero means DefaultBucketUsers.
	BucketUsers int
	// OpenFiles is how many bucket files a reconcile task writes at once (each a gzip stream
	// spooled to /tmp): more buckets are written in several passes over what is partitioned; zero
	// means 32.
	OpenFiles int
	// ExportBudget is how long one ExportPools invocation works (EXPORT_BUDGET_SECONDS, as the
	// backup's export); zero means checkpoint.DefaultBudget. Budget, if set, replaces its timer
	// (tests cut invocations with it).
	ExportBudget time.Duration
	Budget       func() checkpoint.Budget
	Now          func() time.Time

	drPool poolCache
}

func (s *Steps) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Steps) batchTime() time.Duration {
	if s.BatchTime > 0 {
		return s.BatchTime
	}
	return 10 * time.Minute
}
