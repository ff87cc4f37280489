package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/cognito-dr/cognito-dr/internal/local/devstack"
	"github.com/cognito-dr/cognito-dr/statemachines"
	"github.com/cognito-dr/cognito-dr/workflows/backup"
)

// TestSnapshots: two backups started through the local Step Functions API are listed newest
// first with their counts and sizes, and `show` prints a manifest in full.
func TestSnapshots(t *testing.T) {
	st, sc, sm := localStateMachines(t, 25)
	client := sfn.NewFromConfig(st.AWS.AWSConfig(devstack.ControlRegion))
	input, _ := json.Marshal(sc.BackupRequest())
	var manifests []string
	for _, name := range []string{"first", "second"} {
		out, err := client.StartExecution(t.Context(), &sfn.StartExecutionInput{StateMachineArn: aws.String(sm.ARNs[statemachines.Backup]), Name: aws.String(name), Input: aws.String(string(input))})
		if err != nil {
			t.Fatal(err)
		}
		x, _ := sm.API.Execution(aws.ToString(out.ExecutionArn))
		if err := x.Wait(t.Context()); err != nil || x.Status() != "SUCCEEDED" {
			t.Fatalf("backup %s: %v %s %s", name, err, x.Status(), x.Cause())
		}
		var o struct{ ManifestKey string }
		json.Unmarshal(x.Output(), &o)
		manifests = append(manifests, o.ManifestKey)
	}
	common := []string{"--bucket", sc.Bucket, "--bucket-region", sc.BucketRegion}

	var stdout strings.Builder
	if err := snapshotsCommand(t.Context(), append([]string{"list", "--pool", sc.TokyoID, "--output", "json"}, common...), &stdout); err != nil {
		t.Fatal(err)
	}
	var items []snapshotItem
	if err := json.Unmarshal([]byte(stdout.String()), &items); err != nil {
		t.Fatalf("list --output json: %v\n%s", err, stdout.String())
	}
	if len(items) != 2 || items[0].ManifestKey != manifests[1] || items[1].ManifestKey != manifests[0] {
		t.Fatalf("list: %+v, want %v newest first", items, manifests)
	}
	m, err := getManifest(t.Context(), st.Clients.S3(sc.BucketRegion), sc.Bucket, manifests[1])
	if err != nil {
		t.Fatal(err)
	}
	var bytes int64
	for _, f := range m.Files {
		bytes += f.Bytes
	}
	if it := items[0]; it.Users != 25 || it.Rejected != m.Import.Rejected || it.Importable+it.Rejected != 25 || it.Bytes != bytes || bytes == 0 {
		t.Errorf("newest: %+v, manifest users %d rejected %d files %d bytes", it, m.Users, m.Import.Rejected, bytes)
	}

	stdout.Reset()
	if err := snapshotsCommand(t.Context(), append([]string{"show", "--pool", sc.TokyoID}, common...), &stdout); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{manifests[1], "users         25", backup.ManifestFile, "import-csv", "sha256 " + m.Files[0].SHA256} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("show does not print %q:\n%s", want, stdout.String())
		}
	}
	stdout.Reset()
	if err := snapshotsCommand(t.Context(), append([]string{"show", "--key", manifests[0], "--output", "json"}, common...), &stdout); err != nil {
		t.Fatal(err)
	}
	var shown backup.Manifest
	if err := json.Unmarshal([]byte(stdout.String()), &shown); err != nil || shown.Snapshot.Prefix == "" || !strings.HasPrefix(manifests[0], shown.Snapshot.Prefix) {
		t.Errorf("show --key %s --output json: %+v %v", manifests[0], shown.Snapshot, err)
	}
	if err := snapshotsCommand(t.Context(), append([]string{"list"}, common...), &stdout); exitCode(err) != exitUsage {
		t.Errorf("list without --pool: %v, want a usage error", err)
	}
}
