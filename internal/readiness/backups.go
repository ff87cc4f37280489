package readiness

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

// manifestReads bounds concurrent manifest reads: a year of daily snapshots is 365 small GETs.
const manifestReads = 8

// newest is the newest readable backup manifest, or why there is none.
type newest struct {
	key      string
	manifest *manifest.Manifest
	// unreadable lists manifests that could not be read or parsed.
	unreadable []string
	// err is why the bucket could not be listed.
	err error
	// where names the prefix searched, for reasons.
	where string
}

// newestBackup lists every manifest under <prefix>/<primary pool>/ and picks the newest by its
// snapshotAt (not by key or LastModified: a copied or rewritten object must not look fresh).
func (c *Checker) newestBackup(ctx context.Context, cfg Config) newest {
	store := c.S3(cfg.BucketRegion)
	prefix := cfg.Prefix + "/" + cfg.PrimaryPool + "/"
	n := newest{where: fmt.Sprintf("s3://%s/%s", cfg.Bucket, prefix)}
	var keys []string
	pages := s3.NewListObjectsV2Paginator(store, &s3.ListObjectsV2Input{Bucket: aws.String(cfg.Bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			n.err = fmt.Errorf("list %s: %w", n.where, err)
			return n
		}
		for _, o := range out.Contents {
			if k := aws.ToString(o.Key); path.Base(k) == manifest.File {
				keys = append(keys, k)
			}
		}
	}
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(manifestReads)
	for _, key := range keys {
		g.Go(func() error {
			m, err := readManifest(ctx, store, cfg.Bucket, key)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				n.unreadable = append(n.unreadable, fmt.Sprintf("%s: %v", key, err))
			case n.manifest == nil || m.SnapshotAt.After(n.manifest.SnapshotAt) ||
				m.SnapshotAt.Equal(n.manifest.SnapshotAt) && key > n.key:
				n.key, n.manifest = key, m
			}
			return nil
		})
	}
	_ = g.Wait() // each read records its own error: one bad manifest must not hide the others
	slices.Sort(n.unreadable)
	return n
}

func readManifest(ctx context.Context, store s3stream.GetObjectAPI, bucket, key string) (*manifest.Manifest, error) {
	r, err := s3stream.Open(ctx, store, bucket, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var m manifest.Manifest
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if m.SnapshotAt.IsZero() {
		return nil, fmt.Errorf("no snapshotAt")
	}
	return &m, nil
}

// freshness fails without a backup younger than maxAge, and warns about users the backup could
// not make importable.
func freshness(n newest, maxAge time.Duration, now time.Time) Check {
	var f findings
	switch {
	case n.err != nil:
		return failed(CheckBackup, n.err)
	case n.manifest == nil && len(n.unreadable) > 0:
		return Check{Name: CheckBackup, Status: Fail, Reason: fmt.Sprintf("no readable manifest under %s (%d unreadable)", n.where, len(n.unreadable)), Findings: n.unreadable}
	case n.manifest == nil:
		return Check{Name: CheckBackup, Status: Fail, Reason: fmt.Sprintf("no backup: no %s under %s", manifest.File, n.where)}
	}
	m := n.manifest
	age := now.Sub(m.SnapshotAt)
	if age > maxAge {
		f.failf("newest backup is %s old (snapshot at %s), older than %s", roundAge(age), m.SnapshotAt.UTC().Format(time.RFC3339), roundAge(maxAge))
	}
	if m.Import.Rejected > 0 {
		f.warnf("%d of %d users not importable: %s (see %s)", m.Import.Rejected, m.Users, topReasons(m.Import.ByReason, 3), m.Import.Rejects.Key)
	}
	for _, u := range n.unreadable {
		f.warnf("unreadable manifest %s", u)
	}
	return f.check(CheckBackup, fmt.Sprintf("newest backup %s old: %d users, %d importable, %d rejected",
		roundAge(age), m.Users, m.Import.Accepted, m.Import.Rejected))
}

func roundAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return d.Round(time.Second).String()
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}

// topReasons names the n most frequent reasons with their counts.
func topReasons(by map[string]int, n int) string {
	type rc struct {
		reason string
		count  int
	}
	var all []rc
	for r, c := range by {
		all = append(all, rc{r, c})
	}
	slices.SortFunc(all, func(a, b rc) int {
		return cmp.Or(cmp.Compare(b.count, a.count), strings.Compare(a.reason, b.reason))
	})
	var s []string
	for _, r := range all[:min(n, len(all))] {
		s = append(s, fmt.Sprintf("%s %d", r.reason, r.count))
	}
	if len(all) > n {
		s = append(s, fmt.Sprintf("%d more reasons", len(all)-n))
	}
	return strings.Join(s, ", ")
}

// restoreDrill proves the newest backup's import CSVs are there and whole: every part's size and
// SHA-256 equal what the manifest recorded when it was written.
func (c *Checker) restoreDrill(ctx context.Context, cfg Config, n newest) Check {
	if n.manifest == nil {
		return Check{Name: CheckRestore, Status: Fail, Reason: "no backup manifest to restore from"}
	}
	m := n.manifest
	var f findings
	if m.Import.Accepted == 0 && m.Users > 0 {
		f.failf("the backup has no importable user (%d users, all rejected)", m.Users)
	}
	if len(m.Import.Parts) == 0 && m.Import.Accepted > 0 {
		f.failf("the manifest lists %d importable users but no CSV part", m.Import.Accepted)
	}
	store := c.S3(cfg.BucketRegion)
	var bytes int64
	for _, p := range m.Import.Parts {
		size, sum, err := hashObject(ctx, store, cfg.Bucket, p.Key)
		switch {
		case err != nil:
			f.failf("%s unreadable: %v", p.Key, err)
		case size != p.Bytes || sum != p.SHA256:
			f.failf("%s does not match the manifest: %d bytes sha256 %s, manifest says %d bytes sha256 %s", p.Key, size, short(sum), p.Bytes, short(p.SHA256))
		}
		bytes += size
	}
	if t := m.Import.Target.UserPoolID; t != "" && t != cfg.DRPool {
		f.warnf("the import CSVs were built for pool %s, not the DR pool %s: its header and rules may differ", t, cfg.DRPool)
	}
	return f.check(CheckRestore, fmt.Sprintf("%s (%d rows, %d bytes): sizes and SHA-256 match the manifest", plural(len(m.Import.Parts), "CSV part"), m.Import.Accepted, bytes))
}

// hashObject streams an object and returns its size and SHA-256, holding none of it in memory.
func hashObject(ctx context.Context, store s3stream.GetObjectAPI, bucket, key string) (int64, string, error) {
	o, err := s3stream.Digest(ctx, store, bucket, key)
	return o.Bytes, o.SHA256, err
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12] + "…"
	}
	return sum
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
