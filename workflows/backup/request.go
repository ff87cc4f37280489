package backup

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

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

// withDefaults returns the request with its optional fields filled in, or one InvalidInput error
// listing every problem.
func (r Request) withDefaults() (Request, error) {
	var problems []error
	checkRegion := func(field, v string) {
		switch {
		case v == "":
			problems = append(problems, fmt.Errorf("%s is required", field))
		case !regionPattern.MatchString(v):
			problems = append(problems, fmt.Errorf("%s %q is not an AWS Region name such as ap-northeast-1", field, v))
		}
	}
	checkPool := func(field, id, region string) {
		m := poolIDPattern.FindStringSubmatch(id)
		switch {
		case id == "":
			problems = append(problems, fmt.Errorf("%s is required", field))
		case m == nil:
			problems = append(problems, fmt.Errorf("%s %q is not a user pool id such as ap-northeast-1_AbCdEf123", field, id))
		case regionPattern.MatchString(region) && m[1] != region:
			problems = append(problems, fmt.Errorf("%s %q belongs to Region %s, not %s", field, id, m[1], region))
		}
	}

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

	checkRegion("region", r.Region)
	checkPool("userPoolId", r.UserPoolID, r.Region)
	checkRegion("bucketRegion", r.BucketRegion)
	if r.Bucket == "" {
		problems = append(problems, errors.New("bucket is required"))
	} else if !bucketPattern.MatchString(r.Bucket) {
		problems = append(problems, fmt.Errorf("bucket %q is not a valid S3 bucket name", r.Bucket))
	}
	if r.TargetRegion != r.Region {
		checkRegion("targetRegion", r.TargetRegion)
	}
	if r.TargetUserPoolID != r.UserPoolID {
		checkPool("targetUserPoolId", r.TargetUserPoolID, r.TargetRegion)
	}
	if strings.HasPrefix(r.Prefix, "/") {
		problems = append(problems, fmt.Errorf("prefix %q must not start with /", r.Prefix))
	}
	if len(problems) > 0 {
		return r, &stateerr.InvalidInput{Msg: "invalid backup request: " + joinErrors(problems)}
	}
	return r, nil
}

func joinErrors(errs []error) string {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}
