package importjob

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-dr/cognito-dr/internal/checkpoint"
	"github.com/cognito-dr/cognito-dr/internal/csvbuild"
	"github.com/cognito-dr/cognito-dr/internal/importcsv"
	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// EachCreatable streams to fn the names (as the CSV names them) of the users whose only problem
// in built's rejects report is an unverified contact — those can be created by API (Create) —
// in the report's order, holding none of them.
func EachCreatable(ctx context.Context, store s3stream.GetObjectAPI, bucket string, built csvbuild.Built, fn func(name string) error) error {
	if built.Rejected == 0 {
		return nil
	}
	r, err := s3stream.Open(ctx, store, bucket, built.Rejects.Key)
	if err != nil {
		return err
	}
	defer r.Close()
	err = importcsv.ReadReport(r, func(rj importcsv.Reject) error {
		if rj.Reason == importcsv.ReasonNoVerifiedContact && len(rj.Also) == 0 {
			return fn(rj.Username)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read rejects: %w", err)
	}
	return nil
}

// CreateAPI is what Create calls.
type CreateAPI interface {
	AdminCreateUser(ctx context.Context, in *cip.AdminCreateUserInput, optFns ...func(*cip.Options)) (*cip.AdminCreateUserOutput, error)
	AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, optFns ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
}

// CreateOps are the operations Create calls; its pacer must cover them.
var CreateOps = quota.MustOps("AdminCreateUser", "AdminGetUser")

// Create creates u in pool by API as name, with every attribute the pools carry over (Cognito
// assigns sub and the pseudo-attributes itself), inviting the user by email when it has one.
// Existed is true when the pool already had the user before started, the moment the caller's
// step first ran: nothing was created. A user created since then is the caller's own (the
// answer to its create was lost and a retry was told the user exists), so it is not Existed.
func Create(ctx context.Context, c CreateAPI, pace *quota.Pacer, pool, name string, u snapshot.User, started time.Time) (existed bool, err error) {
	in := &cip.AdminCreateUserInput{UserPoolId: aws.String(pool), Username: aws.String(name)}
	for _, k := range slices.Sorted(maps.Keys(u.Attributes)) {
		if poolpair.Copied(k) {
			in.UserAttributes = append(in.UserAttributes, types.AttributeType{Name: aws.String(k), Value: aws.String(u.Attributes[k])})
		}
	}
	if u.Attributes["email"] != "" {
		in.DesiredDeliveryMediums = []types.DeliveryMediumType{types.DeliveryMediumTypeEmail}
	}
	if err := pace.Wait(ctx, "AdminCreateUser"); err != nil {
		return false, err
	}
	_, err = c.AdminCreateUser(ctx, in)
	var exists *types.UsernameExistsException
	if !errors.As(err, &exists) {
		return false, err
	}
	if err := pace.Wait(ctx, "AdminGetUser"); err != nil {
		return false, err
	}
	got, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(name)})
	if err != nil {
		return false, err
	}
	return !checkpoint.CreatedSince(aws.ToTime(got.UserCreateDate), started), nil
}
