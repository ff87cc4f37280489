package backup_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

func osakaHeader(t *testing.T, f *fixture) []string {
	t.Helper()
	out, err := f.stack.Clients.Cognito(f.Osaka.Region).GetCSVHeader(context.Background(), &cip.GetCSVHeaderInput{UserPoolId: aws.String(f.OsakaID)})
	if err != nil {
		t.Fatal(err)
	}
	return out.CSVHeader
}

func osakaPool(t *testing.T, f *fixture) *types.UserPoolType {
	t.Helper()
	out, err := f.stack.Clients.Cognito(f.Osaka.Region).DescribeUserPool(context.Background(), &cip.DescribeUserPoolInput{UserPoolId: aws.String(f.OsakaID)})
	if err != nil {
		t.Fatal(err)
	}
	return out.UserPool
}
