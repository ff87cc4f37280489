package replication

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Pending is a primary user the replicate trigger could not copy to the DR pool. It names the
// user by its primary sub only: no attribute, no email, nothing a leaked listing would expose.
type Pending struct {
	PrimaryUserPoolID string    `json:"primaryUserPoolId"`
	Sub               string    `json:"sub"`
	RecordedAt        time.Time `json:"recordedAt"`
	// Reason is the error that stopped the copy (no user data: errors name users by sub).
	Reason string `json:"reason,omitempty"`
}

// RetryStore holds the users the replicate trigger failed on until reconcile repairs them.
// Recording the same user twice keeps one entry.
type RetryStore interface {
	Record(ctx context.Context, p Pending) error
	// List calls fn for each pending user of the primary pool.
	List(ctx context.Context, primaryPool string, fn func(Pending) error) error
	// Resolve removes a user's entry; resolving a user with none is not an error.
	Resolve(ctx context.Context, primaryPool, sub string) error
}

// S3RetryAPI is what S3RetryStore calls.
type S3RetryAPI interface {
	s3.ListObjectsV2APIClient
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// S3RetryStore keeps one object per pending user, <Prefix>/<primary pool>/<sub>.json, in a
// bucket of the primary Region: the trigger runs there, and its failures are the DR Region's,
// so the store must not live in the DR Region. One object per user makes recording idempotent
// (a second failure overwrites the first), needs no consumer to drain it, has no retention
// limit however long the DR Region is down, and lets reconcile remove exactly the users it
// repaired. Even a lost entry loses no user: reconcile's full comparison finds the user anyway;
// the store only makes the trigger's failures visible and repaired first.
type S3RetryStore struct {
	Client S3RetryAPI
	Bucket string
	// Prefix defaults to DefaultRetryPrefix.
	Prefix string
}

// DefaultRetryPrefix is where S3RetryStore keeps its entries when no prefix is set.
const DefaultRetryPrefix = "cognito-dr/replication-retry"

func (s *S3RetryStore) dir(pool string) string {
	p := s.Prefix
	if p == "" {
		p = DefaultRetryPrefix
	}
	return strings.TrimSuffix(p, "/") + "/" + pool + "/"
}

// Record writes the user's entry.
func (s *S3RetryStore) Record(ctx context.Context, p Pending) error {
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	key := s.dir(p.PrimaryUserPoolID) + p.Sub + ".json"
	if _, err := s.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: bytes.NewReader(body), ContentType: aws.String("application/json")}); err != nil {
		return fmt.Errorf("record pending user %s in s3://%s: %w", p.Sub, s.Bucket, err)
	}
	return nil
}

// List reads the entries from the listing alone (sub from the key, time from LastModified), so a
// long outage's many entries cost one call per thousand.
func (s *S3RetryStore) List(ctx context.Context, pool string, fn func(Pending) error) error {
	dir := s.dir(pool)
	pg := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(dir)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list pending users in s3://%s/%s: %w", s.Bucket, dir, err)
		}
		for _, o := range page.Contents {
			sub, ok := strings.CutSuffix(path.Base(aws.ToString(o.Key)), ".json")
			if !ok {
				continue
			}
			if err := fn(Pending{PrimaryUserPoolID: pool, Sub: sub, RecordedAt: aws.ToTime(o.LastModified).UTC()}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Resolve deletes the user's entry.
func (s *S3RetryStore) Resolve(ctx context.Context, pool, sub string) error {
	key := s.dir(pool) + sub + ".json"
	if _, err := s.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)}); err != nil {
		return fmt.Errorf("resolve pending user %s in s3://%s: %w", sub, s.Bucket, err)
	}
	return nil
}

// MemoryRetryStore is a RetryStore in memory, for tests and a single-process local stack.
type MemoryRetryStore struct {
	mu      sync.Mutex
	entries map[string]Pending // pool + "/" + sub
	// Fail, if set, makes Record fail with its error.
	Fail error
}

// Record keeps the entry.
func (m *MemoryRetryStore) Record(_ context.Context, p Pending) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return m.Fail
	}
	if m.entries == nil {
		m.entries = map[string]Pending{}
	}
	m.entries[p.PrimaryUserPoolID+"/"+p.Sub] = p
	return nil
}

// List calls fn for the pool's entries in sub order.
func (m *MemoryRetryStore) List(_ context.Context, pool string, fn func(Pending) error) error {
	m.mu.Lock()
	var list []Pending
	for _, k := range slices.Sorted(maps.Keys(m.entries)) {
		if strings.HasPrefix(k, pool+"/") {
			list = append(list, m.entries[k])
		}
	}
	m.mu.Unlock()
	for _, p := range list {
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

// Resolve removes the entry.
func (m *MemoryRetryStore) Resolve(_ context.Context, pool, sub string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, pool+"/"+sub)
	return nil
}

// Entries returns every entry, for tests.
func (m *MemoryRetryStore) Entries() []Pending {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Collect(maps.Values(m.entries))
}
