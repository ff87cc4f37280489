package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cognito-dr/cognito-dr/internal/importjob"
	"github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/internal/poolconfig"
	"github.com/cognito-dr/cognito-dr/internal/poolpair"
	"github.com/cognito-dr/cognito-dr/internal/preflight"
	"github.com/cognito-dr/cognito-dr/internal/quota"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
	"github.com/cognito-dr/cognito-dr/internal/stateerr"
)

// PoolConfigFile is the pool's configuration in a snapshot (taken since it was captured).
const PoolConfigFile = manifest.PoolConfigFile

// resolveOps are the calls ResolveSnapshot makes on the target pool.
var resolveOps = quota.MustOps("DescribeUserPool", "ListUsers")

func (r Request) withDefaults() (Request, error) {
	if r.Prefix == "" {
		r.Prefix = DefaultPrefix
	}
	r.Prefix = strings.TrimSuffix(r.Prefix, "/")
	if r.SnapshotPrefix == "" {
		r.SnapshotPrefix = manifest.DefaultPrefix
	}
	r.SnapshotPrefix = strings.TrimSuffix(r.SnapshotPrefix, "/")
	if r.ApprovalTimeoutSeconds == 0 {
		r.ApprovalTimeoutSeconds = int(DefaultApprovalTimeout.Seconds())
	}
	var p preflight.Problems
	p.Region("bucketRegion", r.BucketRegion)
	p.Bucket("bucket", r.Bucket)
	switch {
	case r.Snapshot == "":
		p.Add("snapshot is required: a manifest key, or %q with sourceUserPoolId", Latest)
	case r.Snapshot == Latest && r.SourceUserPoolID == "":
		p.Add("snapshot %q needs sourceUserPoolId: the pool whose newest snapshot to restore", Latest)
	case r.Snapshot != Latest && path.Base(r.Snapshot) != manifest.File:
		p.Add("snapshot %q is not a manifest key (…/%s) or %q", r.Snapshot, manifest.File, Latest)
	}
	if r.Drill {
		if r.Target != nil {
			p.Add("a drill restores into a scratch pool it creates: target is not allowed")
		}
		if r.CreatePool == nil {
			r.CreatePool = &NewPool{Region: r.BucketRegion}
		}
		// An empty name becomes DrillPoolPrefix + the execution's name (ResolveSnapshot).
		if r.CreatePool.Name != "" && !strings.HasPrefix(r.CreatePool.Name, DrillPoolPrefix) {
			p.Add("a drill's scratch pool name must start with %s", DrillPoolPrefix)
		}
	}
	if r.CreatePool == nil && (len(r.ProviderSecrets) > 0 || len(r.ClientSecrets) > 0) {
		p.Add("providerSecrets and clientSecrets are for createPool: an existing target keeps its own identity providers and app clients")
	}
	switch {
	case (r.Target == nil) == (r.CreatePool == nil):
		p.Add("exactly one of target {userPoolId, region} and createPool {name, region} is required")
	case r.Target != nil:
		p.Region("target.region", r.Target.Region)
		p.Pool("target.userPoolId", r.Target.UserPoolID, r.Target.Region)
	default:
		p.Region("createPool.region", r.CreatePool.Region)
		if strings.TrimSpace(r.CreatePool.Name) == "" && !r.Drill {
			p.Add("createPool.name is required")
		}
	}
	if r.ApprovalTimeoutSeconds < 60 || r.ApprovalTimeoutSeconds > 7*24*3600 {
		p.Add("approvalTimeoutSeconds %d is outside 60..604800", r.ApprovalTimeoutSeconds)
	}
	return r, p.Err("restore request")
}

// ResolveSnapshot checks the request, finds the snapshot, verifies every one of its files against
// the manifest's checksums and checks the target. It changes nothing: every problem found is an
// error naming it.
func (s *Steps) ResolveSnapshot(ctx context.Context, in ResolveInput) (Plan, error) {
	req, err := in.Request.withDefaults()
	if err != nil {
		return Plan{}, err
	}
	started, err := time.Parse(time.RFC3339Nano, in.StartTime)
	if err != nil || in.ExecutionName == "" {
		return Plan{}, stateerr.Invalid("startTime (RFC 3339) and executionName are required")
	}
	if req.Drill && req.CreatePool.Name == "" {
		name := DrillPoolPrefix + in.ExecutionName
		req.CreatePool = &NewPool{Name: name[:min(len(name), 128)], Region: req.CreatePool.Region}
	}
	store := s.S3(req.BucketRegion)
	if err := preflight.CheckBucket(ctx, store, req.Bucket, req.BucketRegion); err != nil {
		return Plan{}, err
	}
	key := req.Snapshot
	if key == Latest {
		if key, err = newestManifest(ctx, store, req.Bucket, req.SnapshotPrefix+"/"+req.SourceUserPoolID+"/"); err != nil {
			return Plan{}, err
		}
	}
	m, err := readManifest(ctx, store, req.Bucket, key)
	if err != nil {
		return Plan{}, err
	}
	files, err := verifyFiles(ctx, store, req.Bucket, key, m)
	if err != nil {
		return Plan{}, err
	}
	plan := Plan{
		Request: req, ExecutionName: in.ExecutionName, Started: started, ManifestKey: key,
		Source: m.Source, SourceName: m.PoolName, SnapshotAt: m.SnapshotAt, Snapshot: files,
		Bucket: req.Bucket, Region: req.BucketRegion,
		ApprovalTimeoutSeconds: req.ApprovalTimeoutSeconds,
		Counts:                 Counts{Users: m.Users, Disabled: m.Disabled, Groups: m.Groups, Memberships: m.Memberships},
	}
	var cfg *poolconfig.Config
	if files.PoolConfig != nil {
		c, err := readPoolConfig(ctx, store, req.Bucket, *files.PoolConfig)
		if err != nil {
			return Plan{}, err
		}
		cfg = &c
	}
	if req.CreatePool != nil {
		if cfg == nil {
			return Plan{}, stateerr.Invalid("snapshot %s has no %s (it was taken before the pool's configuration was captured): restore it into an existing pool (target) instead of createPool; nothing was changed", key, PoolConfigFile)
		}
		described := poolpair.Describe(&cfg.Pool)
		if plan.Match, err = poolpair.NewMatcher(described, described); err != nil {
			return Plan{}, stateerr.Invalid("%v", err)
		}
		// The secrets are read now, so that a wrong ARN, a missing secret or a missing key stops
		// the restore before anything is created; PrepareTarget reads them again to use them.
		if _, err := s.readSecrets(ctx, req, *cfg); err != nil {
			return Plan{}, err
		}
		plan.Prepare = PrepareCreatePool
		plan.Target = manifest.PoolRef{Region: req.CreatePool.Region}
		plan.TargetName = req.CreatePool.Name
		// The new pool's id is unknown until it exists: a restore that creates one keeps its
		// files under the snapshot's pool, beside the restores of that pool's snapshots, named by
		// the execution (a retried task, a failure email and the report all name the same place).
		plan.Prefix = snapshot.RunPrefix(req.Prefix, m.Source.UserPoolID, started, in.ExecutionName)
		return plan, nil
	}
	plan.Target = *req.Target
	plan.Prefix = snapshot.RunPrefix(req.Prefix, plan.Target.UserPoolID, started, in.ExecutionName)
	if err := s.checkTarget(ctx, &plan, cfg); err != nil {
		return Plan{}, err
	}
	return plan, nil
}

// checkTarget reads the existing target pool: it must exist, and have no users unless the
// request expects them (then the restore waits for an approval).
func (s *Steps) checkTarget(ctx context.Context, p *Plan, cfg *poolconfig.Config) error {
	t := p.Target
	c := s.Cognito(t.Region)
	pace := s.Quota.Pacer(t.Region, resolveOps)
	if err := pace.Wait(ctx, "DescribeUserPool"); err != nil {
		return err
	}
	pool, err := preflight.DescribePool(ctx, c, t.UserPoolID, t.Region)
	if err != nil {
		return fmt.Errorf("target pool: %w", err)
	}
	p.TargetName = aws.ToString(pool.Name)
	described := poolpair.Describe(pool)
	// Users are named in the target as it signs in; the snapshot's users are matched to the
	// target's own by the same rule.
	if p.Match, err = poolpair.NewMatcher(described, described); err != nil {
		return stateerr.Invalid("%v", err)
	}
	if err := pace.Wait(ctx, "ListUsers"); err != nil {
		return err
	}
	page, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(t.UserPoolID), Limit: aws.Int32(60)})
	if err != nil {
		return fmt.Errorf("list users of target pool %s: %w", t.UserPoolID, err)
	}
	p.TargetUsers = len(page.Users)
	if p.TargetUsers > 0 {
		if !p.Request.ApproveNonEmptyTarget {
			more := ""
			if page.PaginationToken != nil {
				more = " or more"
			}
			return stateerr.Invalid("target pool %s (%s) already has %d%s users: restoring into it needs an approval; start again with approveNonEmptyTarget true to request one, or restore into an empty or new pool. Nothing was changed",
				t.UserPoolID, p.TargetName, p.TargetUsers, more)
		}
		p.NeedsApproval = true
	}
	// Old snapshots carry no pool.json: their target's schema cannot be checked here, and a user
	// whose attribute the target lacks is rejected by the CSV rules instead.
	if cfg != nil {
		gaps := poolconfig.SchemaGaps(*cfg, pool)
		if err := gaps.Err(p.Request.AddMissingAttributes); err != nil {
			return fmt.Errorf("%w; nothing was changed", err)
		}
		p.SchemaNotes = gaps.Notes
		for _, m := range gaps.Missing {
			p.MissingAttributes = append(p.MissingAttributes, "custom:"+aws.ToString(m.Name))
		}
		if len(p.MissingAttributes) > 0 {
			if p.TargetUsers > 0 {
				// AddCustomAttributes cannot be undone, and would change a pool with users before
				// anyone approved the restore.
				return stateerr.Invalid("target pool %s has users and lacks the custom attributes %s: add them first (AddCustomAttributes cannot be undone), then restore; nothing was changed",
					t.UserPoolID, strings.Join(p.MissingAttributes, ", "))
			}
			p.Prepare = PrepareAddAttributes
		}
	}
	p.setImport()
	return nil
}

// setImport points the import jobs at the target.
func (p *Plan) setImport() {
	p.Import = importjob.Target{
		UserPoolID: p.Target.UserPoolID, Region: p.Target.Region, PoolName: p.TargetName,
		Bucket: p.Bucket, BucketRegion: p.Region, Prefix: p.Prefix,
		JobPrefix: "cognito-dr-restore-" + p.ExecutionName,
	}
}

// readPoolConfig reads the snapshot's pool.json, refusing one that is not what was verified.
func readPoolConfig(ctx context.Context, store s3stream.GetObjectAPI, bucket string, want s3stream.Object) (poolconfig.Config, error) {
	r, err := s3stream.Open(ctx, store, bucket, want.Key)
	if err != nil {
		return poolconfig.Config{}, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("pool configuration s3://%s/%s: %v", bucket, want.Key, err)}
	}
	defer r.Close()
	h := s3stream.NewHasher()
	body, err := io.ReadAll(io.TeeReader(r, h))
	if err != nil {
		return poolconfig.Config{}, fmt.Errorf("read s3://%s/%s: %w", bucket, want.Key, err)
	}
	if got := h.Object(want.Key); got != want {
		return poolconfig.Config{}, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("pool configuration s3://%s/%s changed after it was verified", bucket, want.Key)}
	}
	return poolconfig.Decode(bytes.NewReader(body))
}

func readManifest(ctx context.Context, store s3stream.GetObjectAPI, bucket, key string) (*manifest.Manifest, error) {
	m, err := manifest.Read(ctx, store, bucket, key)
	var gone *s3types.NoSuchKey
	switch {
	case errors.As(err, &gone):
		return nil, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("no manifest at s3://%s/%s", bucket, key)}
	case err != nil:
		return nil, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("manifest s3://%s/%s: %v", bucket, key, err)}
	case len(m.Files) == 0:
		return nil, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("manifest s3://%s/%s lists no files", bucket, key)}
	}
	return m, nil
}

// verifyFiles proves the snapshot with manifest.Verify (every file's size and SHA-256, the user
// files present): a missing, truncated or altered file is named, all of them at once, before
// anything is written. It returns the files a restore reads.
func verifyFiles(ctx context.Context, store s3stream.GetObjectAPI, bucket, key string, m *manifest.Manifest) (SnapshotFiles, error) {
	if _, problems := manifest.Verify(ctx, store, bucket, m); len(problems) > 0 {
		return SnapshotFiles{}, &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("snapshot %s cannot be restored, nothing was changed: %s", key, strings.Join(problems, "; "))}
	}
	var out SnapshotFiles
	for _, f := range m.All(manifest.KindUsers) {
		out.Users = append(out.Users, f.Object)
	}
	f, _ := m.Find(manifest.KindGroups)
	out.Groups = f.Object
	out.Memberships = []s3stream.Object{}
	for _, f := range m.All(manifest.KindMemberships) {
		out.Memberships = append(out.Memberships, f.Object)
	}
	if f, ok := m.Find(manifest.KindPoolConfig); ok {
		o := f.Object
		out.PoolConfig = &o
	}
	return out, nil
}

// newestManifest is manifest.Newest's key under prefix; no readable snapshot is SnapshotInvalid
// naming the unreadable ones.
func newestManifest(ctx context.Context, store S3, bucket, prefix string) (string, error) {
	n, all, err := manifest.Newest(ctx, store, bucket, prefix)
	switch {
	case err != nil:
		return "", err
	case n.Manifest == nil && len(all.Unreadable) > 0:
		return "", &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("no readable snapshot under s3://%s/%s: %s", bucket, prefix, strings.Join(all.Unreadable, "; "))}
	case n.Manifest == nil:
		return "", &stateerr.SnapshotInvalid{Msg: fmt.Sprintf("no snapshot under s3://%s/%s", bucket, prefix)}
	}
	return n.Key, nil
}
