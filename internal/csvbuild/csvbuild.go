// Package csvbuild turns a users file in S3 into import-ready CSV parts for one target pool and a
// rejects report, streaming both ways. The rules come from the target pool itself (GetCSVHeader
// and DescribeUserPool), so the CSVs are what that pool's import job accepts.
package csvbuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"

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
// (<dir>users-0001.csv, …) and <dir>rejects.jsonl for target.
func Build(ctx context.Context, store transfermanager.S3APIClient, target *importcsv.Target, bucket, usersKey, dir string) (Built, error) {
	src, err := s3stream.Open(ctx, store, bucket, usersKey)
	if err != nil {
		return Built{}, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("users file s3://%s/%s is not readable: %v", bucket, usersKey, err)}
	}
	src.Close()
	b, err := BuildFrom(ctx, store, target, bucket, readUsers(ctx, store, bucket, usersKey), dir)
	if err != nil {
		return Built{}, fmt.Errorf("build import CSV from s3://%s/%s: %w", bucket, usersKey, err)
	}
	return b, nil
}

// BuildFrom is Build reading users from an iterator (a snapshot's users, whatever its layout:
// snapshot.Seq). It ranges over users twice: first to find the usernames that may repeat
// (importcsv's Candidates, spilling to the temporary directory), so that its memory does not
// grow with the pool; then to write.
func BuildFrom(ctx context.Context, store transfermanager.S3APIClient, target *importcsv.Target, bucket string, users iter.Seq2[snapshot.User, error], dir string) (Built, error) {
	cands, err := target.Candidates(users, os.TempDir())
	if err != nil {
		return Built{}, err
	}
	keys := map[int]string{}
	parts := importcsv.NewWriter(target, func(n int) (io.WriteCloser, error) {
		keys[n] = fmt.Sprintf("%susers-%04d.csv", dir, n)
		return &objectWriter{s3stream.Create(ctx, store, bucket, keys[n])}, nil
	})
	parts.OnlyCandidates(cands)
	rejectsObj := s3stream.Create(ctx, store, bucket, dir+RejectsFile)
	sum, err := importcsv.ValidateUsers(target, users, parts, importcsv.NewReportWriter(rejectsObj))
	if err != nil {
		rejectsObj.Abort(err)
		return Built{}, err
	}
	rejects, err := rejectsObj.Close()
	if err != nil {
		return Built{}, err
	}
	out := Built{Rows: sum.Rows, Accepted: sum.Accepted, Rejected: sum.Rejected, ByReason: sum.ByReason, Rejects: rejects, Parts: []Part{}}
	if out.ByReason == nil {
		out.ByReason = map[string]int{}
	}
	for _, p := range sum.Parts {
		out.Parts = append(out.Parts, Part{Object: s3stream.Object{Key: keys[p.Number], Bytes: p.Bytes, SHA256: p.SHA256}, Rows: p.Rows})
	}
	return out, nil
}

// readUsers yields the users of a snapshot file in order, then the first error if any. Each
// range opens the file anew.
func readUsers(ctx context.Context, store transfermanager.S3APIClient, bucket, key string) iter.Seq2[snapshot.User, error] {
	return func(yield func(snapshot.User, error) bool) {
		src, err := s3stream.Open(ctx, store, bucket, key)
		if err != nil {
			yield(snapshot.User{}, err)
			return
		}
		defer src.Close()
		errStop := errors.New("stop")
		err = snapshot.ReadLines(src, func(u snapshot.User) error {
			if !yield(u, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(snapshot.User{}, err)
		}
	}
}

// objectWriter adapts an S3 stream to the io.WriteCloser the CSV splitter opens per part.
type objectWriter struct{ *s3stream.Writer }

func (w *objectWriter) Close() error {
	_, err := w.Writer.Close()
	return err
}
