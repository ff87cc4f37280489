package manifest_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/cognito-dr/cognito-dr/internal/manifest"
)

// TestNewestDrill: the newest record is picked by its started time, whatever the keys say; an
// unreadable record is listed, not fatal; records of other pools and other files are ignored.
func TestNewestDrill(t *testing.T) {
	ctx := context.Background()
	s3c, put := newBucket(t)
	n, err := manifest.NewestDrill(ctx, s3c, bucket, manifest.DefaultPrefix, pool)
	if err != nil || n.Drill != nil {
		t.Fatalf("no drill yet: %+v, %v", n, err)
	}
	may := time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)
	june := may.AddDate(0, 1, 0)
	record := func(started time.Time, passed bool) []byte {
		b, _ := json.Marshal(manifest.Drill{Version: manifest.DrillVersion, Started: started, Finished: started.Add(time.Minute), Passed: passed})
		return b
	}
	// The June record carries a key that sorts first: the key must not decide.
	juneKey := manifest.DrillKey(manifest.DefaultPrefix, pool, may.Add(-time.Hour), "renamed")
	put(juneKey, record(june, false))
	put(manifest.DrillKey(manifest.DefaultPrefix, pool, may, "may"), record(may, true))
	put(manifest.DrillKey(manifest.DefaultPrefix, pool, june.Add(time.Hour), "broken"), []byte("{"))
	put(manifest.DrillKey(manifest.DefaultPrefix, "ap-northeast-1_Other1234", june.AddDate(0, 1, 0), "other"), record(june.AddDate(0, 1, 0), true))
	put(manifest.DrillPrefix(manifest.DefaultPrefix, pool)+"notes.txt", []byte("not a record"))

	n, err = manifest.NewestDrill(ctx, s3c, bucket, manifest.DefaultPrefix, pool)
	if err != nil {
		t.Fatal(err)
	}
	if n.Key != juneKey || n.Drill == nil || !n.Drill.Started.Equal(june) || n.Drill.Passed {
		t.Errorf("newest: %s %+v, want the failed June drill at %s", n.Key, n.Drill, juneKey)
	}
	if len(n.Unreadable) != 1 {
		t.Errorf("unreadable: %v, want the broken record", n.Unreadable)
	}
	if want := "cognito-dr/backups/" + pool + "/drills/20260501T030000Z_may/drill.json"; manifest.DrillKey("/cognito-dr/backups/", pool, may, "may") != want {
		t.Errorf("DrillKey = %s, want %s", manifest.DrillKey("/cognito-dr/backups/", pool, may, "may"), want)
	}
}
