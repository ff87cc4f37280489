package backup

import (
	"strings"

	"github.com/cognito-dr/cognito-dr/internal/preflight"
)

// withDefaults returns the request with its optional fields filled in, or one InvalidInput error
// listing every problem.
func (r Request) withDefaults() (Request, error) {
	if r.TargetUserPoolID == "" {
		r.TargetUserPoolID = r.UserPoolID
	}
	if r.TargetRegion == "" {
		r.TargetRegion = r.Region
	}
	if r.Prefix == "" {
		r.Prefix = DefaultPrefix
	}
	r.Prefix = strings.TrimSuffix(r.Prefix, "/")

	var p preflight.Problems
	p.Region("region", r.Region)
	p.Pool("userPoolId", r.UserPoolID, r.Region)
	p.Region("bucketRegion", r.BucketRegion)
	p.Bucket("bucket", r.Bucket)
	if r.TargetRegion != r.Region {
		p.Region("targetRegion", r.TargetRegion)
	}
	if r.TargetUserPoolID != r.UserPoolID {
		p.Pool("targetUserPoolId", r.TargetUserPoolID, r.TargetRegion)
	}
	if strings.HasPrefix(r.Prefix, "/") {
		p.Add("prefix %q must not start with /", r.Prefix)
	}
	return r, p.Err("backup request")
}
