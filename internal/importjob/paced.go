package importjob

import (
	"context"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/importcsv"
	"github.com/cognito-dr/cognito-dr/internal/quota"
)

// Ops are the Cognito operations of the import tasks, each paced to its quota category.
var Ops = quota.MustOps("DescribeUserPool", "GetCSVHeader", "CreateUserImportJob", "StartUserImportJob", "DescribeUserImportJob")

// Rules reads a pool's import rules (csvbuild.Target) with each call paced by pace, built for
// Ops or any ops that include DescribeUserPool and GetCSVHeader.
func Rules(ctx context.Context, c csvbuild.Cognito, pace *quota.Pacer, pool, region string) (*importcsv.Target, error) {
	return csvbuild.Target(ctx, pacedRules{c, pace}, pool, region)
}

type pacedRules struct {
	c    csvbuild.Cognito
	pace *quota.Pacer
}

func (p pacedRules) DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error) {
	if err := p.pace.Wait(ctx, "DescribeUserPool"); err != nil {
		return nil, err
	}
	return p.c.DescribeUserPool(ctx, in, optFns...)
}

func (p pacedRules) GetCSVHeader(ctx context.Context, in *cip.GetCSVHeaderInput, optFns ...func(*cip.Options)) (*cip.GetCSVHeaderOutput, error) {
	if err := p.pace.Wait(ctx, "GetCSVHeader"); err != nil {
		return nil, err
	}
	return p.c.GetCSVHeader(ctx, in, optFns...)
}
