package manifest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/internal/manifest"
	"github.com/cognito-dr/cognito-dr/internal/s3stream"
)

// TestVerify: a whole snapshot has no problem; a changed file, a missing file and a kind the
// manifest does not list are each named.
func TestVerify(t *testing.T) {
	ctx := context.Background()
	st, err := devstack.Start(devstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const bucket = "backups"
	if err := st.AWS.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	s3c := st.Clients.S3("ap-northeast-3")
	m := &manifest.Manifest{}
	for _, f := range []struct{ kind, key, body string }{
		{manifest.KindUsers, "snap/users.jsonl.gz", "users"},
		{manifest.KindGroups, "snap/groups.jsonl.gz", "groups"},
		{manifest.KindMemberships, "snap/memberships.jsonl.gz", "memberships"},
		{manifest.KindPoolConfig, "snap/pool.json", "{}"},
	} {
		o, err := s3stream.Put(ctx, s3c, bucket, f.key, []byte(f.body))
		if err != nil {
			t.Fatal(err)
		}
		m.Files = append(m.Files, manifest.FileEntry{Kind: f.kind, Object: o})
	}
	if n, problems := manifest.Verify(ctx, s3c, bucket, m); len(problems) != 0 || n != int64(len("usersgroupsmemberships{}")) {
		t.Fatalf("whole snapshot: %d bytes, %v", n, problems)
	}
	if _, err := s3stream.Put(ctx, s3c, bucket, "snap/users.jsonl.gz", []byte("USERS")); err != nil {
		t.Fatal(err)
	}
	m.Files[3].Key = "snap/gone.json"
	m.Files = append(m.Files[:1], m.Files[2:]...) // no groups file listed
	_, problems := manifest.Verify(ctx, s3c, bucket, m)
	all := strings.Join(problems, "\n")
	for _, want := range []string{"the manifest lists no groups file", "snap/users.jsonl.gz does not match the manifest", "snap/gone.json unreadable"} {
		if !strings.Contains(all, want) {
			t.Errorf("problems do not say %q:\n%s", want, all)
		}
	}
	if len(problems) != 3 {
		t.Errorf("%d problems, want 3:\n%s", len(problems), all)
	}
}

// TestVerifyRequiresTheFilesOfItsVersion: a snapshot lists its users and memberships files as
// its version wrote them — one file each (1), a users index (2), a memberships index too (3).
func TestVerifyRequiresTheFilesOfItsVersion(t *testing.T) {
	for version, want := range map[int]string{
		1: "the manifest lists no users file\nthe manifest lists no groups file\nthe manifest lists no memberships file",
		2: "the manifest lists no users-index file\nthe manifest lists no groups file\nthe manifest lists no memberships file",
		3: "the manifest lists no users-index file\nthe manifest lists no groups file\nthe manifest lists no memberships-index file",
	} {
		_, problems := manifest.Verify(context.Background(), nil, "backups", &manifest.Manifest{Version: version})
		if got := strings.Join(problems, "\n"); got != want {
			t.Errorf("version %d: problems\n%s\nwant\n%s", version, got, want)
		}
	}
}
