package cognito

import (
	"context"
	"fmt"
	"iter"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// generated yields n users shaped like a production pool: email username, verified email, a tenant.
func generated(n int) iter.Seq[SeedUser] { return generatedFrom(0, n) }

// generatedFrom yields the users generated would number from..from+n-1.
func generatedFrom(from, n int) iter.Seq[SeedUser] {
	return func(yield func(SeedUser) bool) {
		for i := from; i < from+n; i++ {
			if !yield(SeedUser{
				Attributes: map[string]string{"email": fmt.Sprintf("user%07d@example.com", i), "email_verified": "true", "custom:tenant": "tenant-a"},
				Enabled:    true,
			}) {
				return
			}
		}
	}
}

func TestScaleShardPaging(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 200,000 users")
	}
	ctx := context.Background()
	e := newTestEmulator()
	id, _ := e.CreatePool(testRegion, emailPoolInput())
	const n = 200_000
	start := time.Now()
	if err := e.SeedUsers(id, generated(n)); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d users in %v", n, time.Since(start))

	// Expected shard "7", straight from the store.
	p, _ := e.pool(testRegion, &id)
	var want []string
	for _, u := range p.all {
		if strings.HasPrefix(u.subStr(), "7") {
			want = append(want, u.username)
		}
	}

	c := newTestClient(t, e, testRegion)
	start = time.Now()
	pages := 0
	var got []string
	pg := cip.NewListUsersPaginator(c, &cip.ListUsersInput{UserPoolId: &id, Filter: aws.String(`sub ^= "7"`), Limit: aws.Int32(60)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		got = append(got, usernames(out.Users)...)
	}
	elapsed := time.Since(start)
	t.Logf("shard 7: %d users in %d pages, %v (%v per page)", len(got), pages, elapsed, elapsed/time.Duration(pages))
	if len(got) != len(want) {
		t.Fatalf("shard 7 returned %d users, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("user %d = %s, want %s", i, got[i], want[i])
		}
	}
	// The cost of a page (O(page + log n), not a scan) is measured by BenchmarkListUsersShardPage.
}

func TestMemoryPerUser(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 200,000 users")
	}
	// Two batches of n, each measured on its own: memory that an earlier test lets go of during the
	// measurement (a server goroutine ending late) can only shrink one of the two deltas, so the
	// larger one is what this emulator keeps per user.
	const n = 100_000
	heap := func() int64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	e := newTestEmulator()
	id, _ := e.CreatePool(testRegion, emailPoolInput())
	var deltas []int64
	for batch := range 2 {
		before := heap()
		if err := e.SeedUsers(id, generatedFrom(batch*n, n)); err != nil {
			t.Fatal(err)
		}
		deltas = append(deltas, heap()-before)
	}
	per := float64(max(deltas[0], deltas[1])) / n
	t.Logf("%.0f bytes per user (batches: %d, %d bytes)", per, deltas[0], deltas[1])
	if per > 1500 {
		t.Errorf("%.0f bytes per user, want under 1500", per)
	}
	runtime.KeepAlive(e)
}

func BenchmarkListUsersShardPage(b *testing.B) {
	e := newTestEmulator()
	id, _ := e.CreatePool(testRegion, emailPoolInput())
	if err := e.SeedUsers(id, generated(1_000_000)); err != nil {
		b.Fatal(err)
	}
	body := []byte(fmt.Sprintf(`{"UserPoolId":%q,"Filter":"sub ^= \"a\"","Limit":60}`, id))
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.listUsers(testRegion, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeedMillion(b *testing.B) {
	for b.Loop() {
		e := newTestEmulator()
		id, _ := e.CreatePool(testRegion, emailPoolInput())
		if err := e.SeedUsers(id, generated(1_000_000)); err != nil {
			b.Fatal(err)
		}
	}
}
