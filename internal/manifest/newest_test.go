package manifest_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/manifest"
)

// TestNewest: snapshots are ordered by the snapshotAt their manifests record, whatever the keys
// say; an unreadable manifest (or one without snapshotAt) is listed, not fatal; snapshots of
// another pool and other files are not read.
func TestNewest(t *testing.T) {
	ctx := context.Background()
	s3c, put := newBucket(t)
	prefix := manifest.DefaultPrefix + "/" + pool + "/"
	n, all, err := manifest.Newest(ctx, s3c, bucket, prefix)
	if err != nil || n.Manifest != nil || len(all.Found) != 0 {
		t.Fatalf("no snapshot yet: %+v %+v, %v", n, all, err)
	}
	may := time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)
	june := may.AddDate(0, 1, 0)
	snapshotAt := func(at time.Time, users int) []byte {
		b, _ := json.Marshal(manifest.Manifest{Version: 2, SnapshotAt: at, Users: users})
		return b
	}
	// The June snapshot sits under a key that sorts first: the key must not decide.
	juneKey := prefix + "20260101T000000Z_copied/" + manifest.File
	mayKey := prefix + "20260501T030000Z_nightly/" + manifest.File
	put(juneKey, snapshotAt(june, 20))
	put(mayKey, snapshotAt(may, 10))
	put(prefix+"20260701T030000Z_broken/"+manifest.File, []byte("{"))
	put(prefix+"20260702T030000Z_undated/"+manifest.File, []byte(`{"version":2}`))
	put(prefix+"20260702T030000Z_undated/users.jsonl.gz", []byte("not a manifest"))
	put(manifest.DefaultPrefix+"/ap-northeast-1_Other1234/20270101T000000Z_x/"+manifest.File, snapshotAt(june.AddDate(1, 0, 0), 30))

	n, all, err = manifest.Newest(ctx, s3c, bucket, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if n.Key != juneKey || n.Manifest == nil || n.Manifest.Users != 20 {
		t.Errorf("newest: %s %+v, want the June snapshot at %s", n.Key, n.Manifest, juneKey)
	}
	if len(all.Found) != 2 || all.Found[1].Key != mayKey {
		t.Errorf("found %+v, want June then May", all.Found)
	}
	if len(all.Unreadable) != 2 {
		t.Errorf("unreadable: %v, want the broken and the undated manifest", all.Unreadable)
	}
}
