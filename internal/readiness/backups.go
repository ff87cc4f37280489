package readiness

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/manifest"
)

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

// newestBackup is manifest.Newest under <prefix>/<primary pool>/.
func (c *Checker) newestBackup(ctx context.Context, cfg Config) newest {
	prefix := cfg.Prefix + "/" + cfg.PrimaryPool + "/"
	n := newest{where: fmt.Sprintf("s3://%s/%s", cfg.Bucket, prefix)}
	found, all, err := manifest.Newest(ctx, c.S3(cfg.BucketRegion), cfg.Bucket, prefix)
	if err != nil {
		n.err = err
		return n
	}
	n.key, n.manifest, n.unreadable = found.Key, found.Manifest, all.Unreadable
	return n
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

// restoreDrill proves the newest backup is there and whole: every file the manifest lists —
// users, groups, memberships, pool.json, the import CSVs and the rejects report — has the size
// and SHA-256 the manifest recorded when it was written. A restore reads all of them.
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
	bytes, problems := manifest.Verify(ctx, c.S3(cfg.BucketRegion), cfg.Bucket, m)
	for _, p := range problems {
		f.failf("%s", p)
	}
	if _, ok := m.Find(manifest.KindPoolConfig); !ok {
		f.warnf("the backup has no %s (taken before it was captured): it restores into an existing pool, not a new one", manifest.PoolConfigFile)
	}
	if t := m.Import.Target.UserPoolID; t != "" && t != cfg.DRPool {
		f.warnf("the import CSVs were built for pool %s, not the DR pool %s: its header and rules may differ", t, cfg.DRPool)
	}
	return f.check(CheckRestore, fmt.Sprintf("%s (%s, %d bytes): sizes and SHA-256 match the manifest", plural(len(m.Files), "file"), plural(len(m.Import.Parts), "CSV part"), bytes))
}

// drill fails without a passed restore drill younger than maxAge: a backup that has never been
// restored is not known to restore.
func (c *Checker) drill(ctx context.Context, cfg Config, now time.Time) (Check, string) {
	n, err := manifest.NewestDrill(ctx, c.S3(cfg.BucketRegion), cfg.Bucket, cfg.Prefix, cfg.PrimaryPool)
	if err != nil {
		return failed(CheckDrill, err), ""
	}
	where := fmt.Sprintf("s3://%s/%s", cfg.Bucket, manifest.DrillPrefix(cfg.Prefix, cfg.PrimaryPool))
	if n.Drill == nil {
		ch := Check{Name: CheckDrill, Status: Fail, Reason: fmt.Sprintf("no restore drill: no %s under %s", manifest.DrillFile, where)}
		if len(n.Unreadable) > 0 {
			ch.Reason += fmt.Sprintf(" (%d unreadable)", len(n.Unreadable))
			ch.Findings = n.Unreadable
		}
		return ch, ""
	}
	d := n.Drill
	var f findings
	at := d.Finished
	if at.IsZero() {
		at = d.Started
	}
	if !d.Passed {
		reason := d.FailureReason
		if reason == "" {
			reason = fmt.Sprintf("%d mismatches", d.Mismatches)
		}
		f.failf("the newest restore drill (%s) failed: %s", d.Started.UTC().Format(time.RFC3339), reason)
	}
	if age := now.Sub(at); age > cfg.MaxDrillAge {
		f.failf("newest restore drill is %s old (finished %s), older than %s", roundAge(age), at.UTC().Format(time.RFC3339), roundAge(cfg.MaxDrillAge))
	}
	if d.Passed && d.Mismatches > 0 {
		f.warnf("the newest restore drill passed with %d mismatches", d.Mismatches)
	}
	for _, u := range n.Unreadable {
		f.warnf("unreadable drill record %s", u)
	}
	return f.check(CheckDrill, fmt.Sprintf("newest restore drill %s old: passed, RTO %s, %d users, %d mismatches",
		roundAge(now.Sub(at)), roundAge(time.Duration(d.RTOSeconds*float64(time.Second))), d.Users, d.Mismatches)), n.Key
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
