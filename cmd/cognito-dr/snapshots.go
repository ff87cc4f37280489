package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

// snapshotStore is what `snapshots` reads.
type snapshotStore interface {
	s3.ListObjectsV2APIClient
	s3stream.GetObjectAPI
}

func runSnapshots(ctx context.Context, args []string) error {
	return snapshotsCommand(ctx, args, os.Stdout)
}

// snapshotItem is one backup in `snapshots list`.
type snapshotItem struct {
	SnapshotAt time.Time `json:"snapshotAt"`
	Users      int       `json:"users"`
	Importable int       `json:"importable"`
	Rejected   int       `json:"rejected"`
	// Bytes is the size of every file of the snapshot, the manifest's list.
	Bytes       int64  `json:"bytes"`
	ManifestKey string `json:"manifestKey"`
}

func snapshotsCommand(ctx context.Context, args []string, stdout io.Writer) error {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := newFlags("snapshots", "snapshots list --pool ID --bucket B --bucket-region R [flags]\n       cognito-dr snapshots show (--key MANIFEST-KEY | --pool ID) --bucket B --bucket-region R [flags]")
	pool := fs.String("pool", "", "the backed-up user pool's id (list: required; show: its newest backup)")
	key := fs.String("key", "", "show: the manifest's key, as list prints it")
	bucket := fs.String("bucket", "", "the backup bucket (required)")
	bucketRegion := fs.String("bucket-region", "", "the bucket's Region (required)")
	prefix := fs.String("prefix", backup.DefaultPrefix, "key prefix of backups")
	var a awsFlags
	a.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if sub != "list" && sub != "show" {
		return usagef("snapshots list or snapshots show, not %q (see cognito-dr snapshots --help)", sub)
	}
	if err := required(fs, "bucket", "bucket-region"); err != nil {
		return err
	}
	if (sub == "list" || *key == "") && *pool == "" {
		return usagef("--pool required (see cognito-dr snapshots --help)")
	}
	if err := a.check(); err != nil {
		return err
	}
	clients, err := a.clients(ctx)
	if err != nil {
		return err
	}
	store := clients.S3(*bucketRegion)
	if sub == "show" {
		if *key == "" {
			n, _, err := manifest.Newest(ctx, store, *bucket, *prefix+"/"+*pool+"/")
			if err != nil {
				return err
			}
			if n.Manifest == nil {
				return findingsError{fmt.Sprintf("no readable backups of %s under s3://%s/%s/%s/", *pool, *bucket, *prefix, *pool)}
			}
			*key = n.Key
		}
		m, err := getManifest(ctx, store, *bucket, *key)
		if err != nil {
			return err
		}
		return printManifest(stdout, *bucket, *key, m, a.json())
	}
	items, err := listSnapshots(ctx, store, *bucket, *prefix+"/"+*pool+"/")
	if err != nil {
		return err
	}
	if a.json() {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(items)
	}
	if len(items) == 0 {
		fmt.Fprintf(stdout, "no backups of %s under s3://%s/%s/%s/\n", *pool, *bucket, *prefix, *pool)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SNAPSHOT AT (UTC)\tUSERS\tIMPORTABLE\tREJECTED\tSIZE\tMANIFEST")
	for _, it := range items {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", it.SnapshotAt.UTC().Format(time.RFC3339), it.Users, it.Importable, it.Rejected, size(it.Bytes), it.ManifestKey)
	}
	return tw.Flush()
}

// listSnapshots is manifest.List under prefix, newest first, as `snapshots list` prints it. A
// manifest that cannot be read fails the listing, naming it: an operator choosing a snapshot to
// restore must not miss one.
func listSnapshots(ctx context.Context, store snapshotStore, bucket, prefix string) ([]snapshotItem, error) {
	all, err := manifest.List(ctx, store, bucket, prefix)
	if err != nil {
		return nil, err
	}
	if len(all.Unreadable) > 0 {
		return nil, fmt.Errorf("unreadable manifests under s3://%s/%s: %s", bucket, prefix, strings.Join(all.Unreadable, "; "))
	}
	items := []snapshotItem{}
	for _, f := range all.Found {
		m := f.Manifest
		it := snapshotItem{SnapshotAt: m.SnapshotAt, Users: m.Users, Importable: m.Import.Accepted, Rejected: m.Import.Rejected, ManifestKey: f.Key}
		for _, file := range m.Files {
			it.Bytes += file.Bytes
		}
		items = append(items, it)
	}
	return items, nil
}

// getManifest reads the manifest at key (manifest.Read), naming it in an error.
func getManifest(ctx context.Context, store s3stream.GetObjectAPI, bucket, key string) (*backup.Manifest, error) {
	m, err := manifest.Read(ctx, store, bucket, key)
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	return m, nil
}

func printManifest(w io.Writer, bucket, key string, m *backup.Manifest, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	fmt.Fprintf(w, "manifest      s3://%s/%s (version %d)\n", bucket, key, m.Version)
	fmt.Fprintf(w, "pool          %s %s (%s)\n", m.Source.UserPoolID, m.PoolName, m.Source.Region)
	fmt.Fprintf(w, "snapshot at   %s\n", m.SnapshotAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "users         %d (%d disabled; %s)\n", m.Users, m.Disabled, statusList(m.ByStatus))
	fmt.Fprintf(w, "groups        %d with %d memberships\n", m.Groups, m.Memberships)
	fmt.Fprintf(w, "import        %d importable into %s (%s), %d rejected\n", m.Import.Accepted, m.Import.Target.UserPoolID, m.Import.Target.Region, m.Import.Rejected)
	reasons := make([]string, 0, len(m.Import.ByReason))
	for r := range m.Import.ByReason {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "  %-24s %d\n", r, m.Import.ByReason[r])
	}
	fmt.Fprintln(w, "files")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range m.Files {
		fmt.Fprintf(tw, "  %s\t%s\t%d rows\t%s\tsha256 %s\n", f.Kind, f.Key, f.Rows, size(f.Bytes), f.SHA256)
	}
	return tw.Flush()
}

// size is a byte count for people: 1.2 MiB.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
