package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// blogExport is the benchmark's baseline, written the way the original blog post exports a pool:
// one sequential ListUsers loop, every user held in memory, then one CSV written at the end. It
// is here only to be measured against.
func blogExport(ctx context.Context, c *cip.Client, store *s3.Client, pool, bucket, key string) (int, error) {
	var all []types.UserType
	var token *string
	for {
		out, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(pool), PaginationToken: token})
		if err != nil {
			return 0, fmt.Errorf("list users: %w", err)
		}
		all = append(all, out.Users...)
		if token = out.PaginationToken; token == nil {
			break
		}
	}
	var buf bytes.Buffer
	buf.WriteString("cognito:username,email,email_verified,phone_number,phone_number_verified,cognito:mfa_enabled\n")
	for _, u := range all {
		attrs := map[string]string{}
		for _, a := range u.Attributes {
			attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
		}
		fmt.Fprintf(&buf, "%s,%s,%s,%s,%s,true\n", aws.ToString(u.Username),
			strings.ReplaceAll(attrs["email"], ",", `\,`), attrs["email_verified"], attrs["phone_number"], attrs["phone_number_verified"])
	}
	_, err := store.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes())})
	if err != nil {
		return 0, fmt.Errorf("put %s: %w", key, err)
	}
	return len(all), nil
}
