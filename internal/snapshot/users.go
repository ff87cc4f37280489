package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

// Users files under a snapshot's prefix. A snapshot written in one invocation has UsersFile; a
// resumable export writes its users in parts, each a gzip JSON-lines file, listed in order by
// UsersIndexFile. Read either with UsersParts, ReadUsers or Users, never by key.
const (
	UsersFile      = "users.jsonl.gz"
	UsersIndexFile = "users/index.json"
	UsersPartsDir  = "users/"
)

// Memberships files under a snapshot's prefix, laid out as the users are: one MembershipsFile
// from a single-invocation export (and every snapshot before memberships were resumable), or
// parts listed in order by MembershipsIndexFile. Read either with ReadMemberships.
const (
	MembershipsFile      = "memberships.jsonl.gz"
	MembershipsIndexFile = "memberships/index.json"
	MembershipsPartsDir  = "memberships/"
)

// Layout is where the records of one kind (users, memberships) are under a snapshot's prefix:
// the single file of a one-invocation export, or the parts its index lists.
type Layout struct {
	Single, Index, Dir string
}

// The layouts of a snapshot's users and memberships.
var (
	UsersLayout       = Layout{Single: UsersFile, Index: UsersIndexFile, Dir: UsersPartsDir}
	MembershipsLayout = Layout{Single: MembershipsFile, Index: MembershipsIndexFile, Dir: MembershipsPartsDir}
)

// Part is one file of a snapshot's users or memberships.
type Part struct {
	s3stream.Object
	// Rows is the number of records in the part; 0 for the single file of a snapshot written before
	// exports were resumable (its count is in the manifest).
	Rows int `json:"rows"`
}

// UsersIndex lists the parts of a snapshot's users (or memberships), in the order a reader
// yields them. Users counts the records of all parts, whichever kind they are.
type UsersIndex struct {
	Users int    `json:"users"`
	Parts []Part `json:"parts"`
}

// PutUsersIndex writes the index of the users parts under prefix.
func PutUsersIndex(ctx context.Context, store transfermanager.S3APIClient, bucket, prefix string, parts []Part) (s3stream.Object, error) {
	return UsersLayout.PutIndex(ctx, store, bucket, prefix, parts)
}

// PutIndex writes the index of parts under prefix.
func (l Layout) PutIndex(ctx context.Context, store transfermanager.S3APIClient, bucket, prefix string, parts []Part) (s3stream.Object, error) {
	idx := UsersIndex{Parts: parts}
	for _, p := range parts {
		idx.Users += p.Rows
	}
	body, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return s3stream.Object{}, err
	}
	return s3stream.Put(ctx, store, bucket, prefix+l.Index, body)
}

// UsersParts returns the users files of the snapshot under prefix, in order: the parts its index
// lists, or the single users file of a snapshot that has no index.
func UsersParts(ctx context.Context, store s3stream.GetObjectAPI, bucket, prefix string) ([]Part, error) {
	return UsersLayout.Parts(ctx, store, bucket, prefix)
}

// Parts returns the files of the snapshot under prefix, in order: the parts its index lists, or
// the single file of a snapshot that has no index.
func (l Layout) Parts(ctx context.Context, store s3stream.GetObjectAPI, bucket, prefix string) ([]Part, error) {
	r, err := s3stream.Open(ctx, store, bucket, prefix+l.Index)
	var missing *s3types.NoSuchKey
	if errors.As(err, &missing) {
		return []Part{{Object: s3stream.Object{Key: prefix + l.Single}}}, nil
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s%s: %w", bucket, prefix, l.Index, err)
	}
	var idx UsersIndex
	if err := json.Unmarshal(body, &idx); err != nil {
		return nil, fmt.Errorf("parse s3://%s/%s%s: %w", bucket, prefix, l.Index, err)
	}
	return idx.Parts, nil
}

// ReadParts streams the records of parts in order, each part as it was written, and checks that
// every part holds the number of records its index says.
func ReadParts[T any](ctx context.Context, store s3stream.GetObjectAPI, bucket string, parts []Part, fn func(T) error) error {
	return readParts(bucket, parts, func(key string, n *int) error {
		return GetLines(ctx, store, bucket, key, func(v T) error { *n++; return fn(v) })
	})
}

// ReadRawParts is ReadParts of the records' lines, undecoded (GetRawLines).
func ReadRawParts(ctx context.Context, store s3stream.GetObjectAPI, bucket string, parts []Part, fn func(line []byte) error) error {
	return readParts(bucket, parts, func(key string, n *int) error {
		return GetRawLines(ctx, store, bucket, key, func(line []byte) error { *n++; return fn(line) })
	})
}

// readParts reads each part in order by get, which counts its records in n, and checks the count.
func readParts(bucket string, parts []Part, get func(key string, n *int) error) error {
	for _, p := range parts {
		n := 0
		if err := get(p.Key, &n); err != nil {
			return err
		}
		if p.Rows > 0 && n != p.Rows {
			return fmt.Errorf("s3://%s/%s holds %d records, its index says %d", bucket, p.Key, n, p.Rows)
		}
	}
	return nil
}

// ReadUsers streams every user of the snapshot under prefix to fn, in a stable order (the same
// order every time it is read), whichever layout the snapshot has.
func ReadUsers(ctx context.Context, store s3stream.GetObjectAPI, bucket, prefix string, fn func(User) error) error {
	return read(ctx, store, bucket, prefix, UsersLayout, fn)
}

// ReadMemberships streams every membership of the snapshot under prefix to fn, in a stable
// order, whichever layout the snapshot has.
func ReadMemberships(ctx context.Context, store s3stream.GetObjectAPI, bucket, prefix string, fn func(Membership) error) error {
	return read(ctx, store, bucket, prefix, MembershipsLayout, fn)
}

func read[T any](ctx context.Context, store s3stream.GetObjectAPI, bucket, prefix string, l Layout, fn func(T) error) error {
	parts, err := l.Parts(ctx, store, bucket, prefix)
	if err != nil {
		return err
	}
	return ReadParts(ctx, store, bucket, parts, fn)
}

// Seq is ReadParts of users as an iterator: the users in order, then the first error if any.
func Seq(ctx context.Context, store s3stream.GetObjectAPI, bucket string, parts []Part) iter.Seq2[User, error] {
	return func(yield func(User, error) bool) {
		errStop := errors.New("stop")
		err := ReadParts(ctx, store, bucket, parts, func(u User) error {
			if !yield(u, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(User{}, err)
		}
	}
}
