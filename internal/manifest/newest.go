package manifest

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"
)

// concurrentReads bounds the reads of one listing: a year of daily snapshots is 365 small GETs.
const concurrentReads = 8

// Listed is one snapshot found under a prefix: its manifest's key and the manifest.
type Listed struct {
	Key      string
	Manifest *Manifest
}

// Snapshots are the snapshots under a prefix, read from their manifests.
type Snapshots struct {
	// Found are the readable snapshots, newest first by the snapshotAt their manifests record
	// (equal times: the greater key first).
	Found []Listed
	// Unreadable lists, sorted, the manifests that could not be read or parsed, with the reason.
	Unreadable []string
}

// Newest is the newest readable snapshot, or ok false when there is none.
func (s Snapshots) Newest() (Listed, bool) {
	if len(s.Found) == 0 {
		return Listed{}, false
	}
	return s.Found[0], true
}

// List reads every manifest under prefix (a pool's snapshots: <base>/<pool>/). Snapshots are
// ordered by the snapshotAt their manifests record, not by key or LastModified: a copied or
// rewritten object must not look fresh. An unreadable manifest is listed, not fatal; the error
// is only for a bucket that cannot be listed.
func List(ctx context.Context, store ListAPI, bucket, prefix string) (Snapshots, error) {
	found, unreadable, err := readAll(ctx, store, bucket, prefix, File, func(ctx context.Context, key string) (*Manifest, error) {
		return Read(ctx, store, bucket, key)
	})
	if err != nil {
		return Snapshots{}, err
	}
	out := Snapshots{Unreadable: unreadable}
	for key, m := range found {
		out.Found = append(out.Found, Listed{Key: key, Manifest: m})
	}
	slices.SortFunc(out.Found, func(a, b Listed) int {
		return cmp.Or(b.Manifest.SnapshotAt.Compare(a.Manifest.SnapshotAt), strings.Compare(b.Key, a.Key))
	})
	return out, nil
}

// Newest is the newest readable snapshot under prefix (List's first; Manifest nil when there is
// none), with the whole of List's answer for its unreadable manifests. Backup freshness, the
// restore's "latest" and the snapshots command all pick the newest snapshot with it.
func Newest(ctx context.Context, store ListAPI, bucket, prefix string) (Listed, Snapshots, error) {
	all, err := List(ctx, store, bucket, prefix)
	if err != nil {
		return Listed{}, Snapshots{}, err
	}
	n, _ := all.Newest()
	return n, all, nil
}

// readAll reads, with read, every object under prefix whose name is file, a few at a time. It
// returns what it read by key and, sorted, the keys it could not read with the reason.
func readAll[T any](ctx context.Context, store ListAPI, bucket, prefix, file string, read func(context.Context, string) (T, error)) (map[string]T, []string, error) {
	var keys []string
	pages := s3.NewListObjectsV2Paginator(store, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range out.Contents {
			if k := aws.ToString(o.Key); path.Base(k) == file {
				keys = append(keys, k)
			}
		}
	}
	found := map[string]T{}
	var unreadable []string
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(concurrentReads)
	for _, key := range keys {
		g.Go(func() error {
			v, err := read(ctx, key)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				unreadable = append(unreadable, fmt.Sprintf("%s: %v", key, err))
			} else {
				found[key] = v
			}
			return nil
		})
	}
	_ = g.Wait() // each read records its own error: one bad object must not hide the others
	slices.Sort(unreadable)
	return found, unreadable, nil
}

// newer says whether a (at key ak) is newer than b (at key bk): by time, then by key.
func newer(a time.Time, ak string, b time.Time, bk string) bool {
	return a.After(b) || a.Equal(b) && ak > bk
}
