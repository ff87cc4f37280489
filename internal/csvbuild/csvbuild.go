// Package csvbuild turns a snapshot's users in S3 into import-ready CSV parts for one target pool
// and a rejects report, streaming both ways. The rules come from the target pool itself
// (GetCSVHeader and DescribeUserPool), so the CSVs are what that pool's import job accepts.
// Continue does the work in bounded units over as many invocations as it takes (continue.go);
// Build runs it to its end in one.
package csvbuild

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-dr/cognito-dr/internal/importcsv"
	"github.com/cognito-dr/cognito-dr/internal/preflight"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// RejectsFile is the rejects report, one JSON object per rejected user.
const RejectsFile = "rejects.jsonl"

// Cognito is what reading a target pool's rules calls.
type Cognito interface {
	preflight.DescribePoolAPI
	GetCSVHeader(ctx context.Context, in *cip.GetCSVHeaderInput, optFns ...func(*cip.Options)) (*cip.GetCSVHeaderOutput, error)
}

// Part is one CSV file.
type Part struct {
	s3stream.Object
	Rows int `json:"rows"`
}

// Built describes the CSV parts and the rejects report.
type Built struct {
	Rows     int             `json:"rows"`
	Accepted int             `json:"importable"`
	Rejected int             `json:"rejected"`
	ByReason map[string]int  `json:"rejectedByReason"`
	Parts    []Part          `json:"parts"`
	Rejects  s3stream.Object `json:"rejects"`
	// Done is false while a build continued over several invocations (Continue) is not finished:
	// the counts and parts are those written so far, Rejects is empty.
	Done bool `json:"done"`
}

// Target reads the import rules of a pool.
func Target(ctx context.Context, c Cognito, pool, region string) (*importcsv.Target, error) {
	p, err := preflight.DescribePool(ctx, c, pool, region)
	if err != nil {
		return nil, err
	}
	h, err := c.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: aws.String(pool)})
	if err != nil {
		return nil, fmt.Errorf("get CSV header of %s: %w", pool, err)
	}
	t, err := importcsv.NewTarget(h.CSVHeader, p)
	if err != nil {
		return nil, &stateerr.PoolNotImportable{Msg: fmt.Sprintf("user pool %s cannot import users: %v", pool, err)}
	}
	return t, nil
}

// Build reads gzip JSON-lines users from bucket/usersKey and writes CSV parts
// (<dir>users-0001.csv, …) and <dir>rejects.jsonl for target, in one invocation: Continue with a
// budget that never closes, started over.
func Build(ctx context.Context, store transfermanager.S3APIClient, target *importcsv.Target, bucket, usersKey, dir string) (Built, error) {
	src, err := s3stream.Open(ctx, store, bucket, usersKey)
	if err != nil {
		return Built{}, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("users file s3://%s/%s is not readable: %v", bucket, usersKey, err)}
	}
	src.Close()
	job := Job{Store: store, Bucket: bucket, Parts: []snapshot.Part{{Object: s3stream.Object{Key: usersKey}}}, Dir: dir, Fresh: true}
	res, err := Continue(ctx, target, job, unbounded{})
	if err == nil && !res.Done {
		err = errors.New("the build stopped before its end")
	}
	if err != nil {
		return Built{}, fmt.Errorf("build import CSV from s3://%s/%s: %w", bucket, usersKey, err)
	}
	return res.Built, nil
}

// unbounded is a budget that is always open.
type unbounded struct{}

func (unbounded) Open() bool            { return true }
func (unbounded) Done() <-chan struct{} { return nil }
