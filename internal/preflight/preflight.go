// Package preflight checks what a workflow is about to use before it does anything: that names
// are well formed, that pools exist in their Regions and that buckets are reachable. Each problem
// becomes a stateerr type, so an execution fails at its first state with an error that names it.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

var (
	// regionPattern matches AWS Region names such as ap-northeast-1 or us-gov-west-1.
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	// poolIDPattern is Cognito's user pool id: "<region>_<id>".
	poolIDPattern = regexp.MustCompile(`^([\w-]+)_[0-9a-zA-Z]+$`)
	// bucketPattern is S3's general purpose bucket naming rule.
	bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// Problems collects what is wrong with a request, to report it all at once.
type Problems []string

// Add records a problem.
func (p *Problems) Add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// Region checks a Region field.
func (p *Problems) Region(field, v string) {
	switch {
	case v == "":
		p.Add("%s is required", field)
	case !regionPattern.MatchString(v):
		p.Add("%s %q is not an AWS Region name such as ap-northeast-1", field, v)
	}
}

// Pool checks a user pool id field and that it belongs to region.
func (p *Problems) Pool(field, id, region string) {
	m := poolIDPattern.FindStringSubmatch(id)
	switch {
	case id == "":
		p.Add("%s is required", field)
	case m == nil:
		p.Add("%s %q is not a user pool id such as ap-northeast-1_AbCdEf123", field, id)
	case regionPattern.MatchString(region) && m[1] != region:
		p.Add("%s %q belongs to Region %s, not %s", field, id, m[1], region)
	}
}

// Bucket checks a bucket name field.
func (p *Problems) Bucket(field, v string) {
	switch {
	case v == "":
		p.Add("%s is required", field)
	case !bucketPattern.MatchString(v):
		p.Add("%s %q is not a valid S3 bucket name", field, v)
	}
}

// Err is nil without problems, else one InvalidInput naming them all.
func (p Problems) Err(what string) error {
	if len(p) == 0 {
		return nil
	}
	return &stateerr.InvalidInput{Msg: "invalid " + what + ": " + strings.Join(p, "; ")}
}

// DescribePoolAPI is the call DescribePool makes.
type DescribePoolAPI interface {
	DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
}

// DescribePool returns the pool, or PoolNotFound when Cognito says it does not exist in region.
func DescribePool(ctx context.Context, c DescribePoolAPI, id, region string) (*types.UserPoolType, error) {
	out, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(id)})
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		return nil, &stateerr.PoolNotFound{Msg: fmt.Sprintf("user pool %s does not exist in %s", id, region)}
	}
	if err != nil {
		return nil, fmt.Errorf("describe user pool %s in %s: %w", id, region, err)
	}
	return out.UserPool, nil
}

// HeadBucketAPI is the call Bucket makes.
type HeadBucketAPI interface {
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

// CheckBucket fails with BucketNotFound when the bucket cannot be used from region.
func CheckBucket(ctx context.Context, c HeadBucketAPI, bucket, region string) error {
	_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return nil
	}
	var notFound *s3types.NotFound
	var noBucket *s3types.NoSuchBucket
	var resp *awshttp.ResponseError
	switch {
	case errors.As(err, &notFound), errors.As(err, &noBucket),
		errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusNotFound:
		return &stateerr.BucketNotFound{Msg: fmt.Sprintf("bucket %s does not exist in %s", bucket, region)}
	case errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusMovedPermanently:
		return &stateerr.BucketNotFound{Msg: fmt.Sprintf("bucket %s is not in %s (S3 answered 301: it is in another Region)", bucket, region)}
	case errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusForbidden:
		return &stateerr.BucketNotFound{Msg: fmt.Sprintf("bucket %s in %s is not accessible: access denied", bucket, region)}
	}
	return fmt.Errorf("check bucket %s in %s: %w", bucket, region, err)
}
