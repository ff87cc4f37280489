package approval

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cognito-dr/cognito-dr/internal/s3stream"
	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

const changesKey = "cognito-dr/failback/ap-northeast-1_AbCdEf/20261127T090000Z_failback/plan/actions.jsonl.gz"

// putChanges writes n changes to existing users as a plan's actions file and returns its summary.
func (f *fixture) putChanges(t *testing.T, n int) Summary {
	t.Helper()
	w := s3stream.Create(t.Context(), f.store.Client.(*s3.Client), testBucket, changesKey)
	lw := snapshot.NewLineWriter(w)
	for i := range n {
		c := Change{Kind: "update", Key: fmt.Sprintf("user%04d@example.jp", i),
			Set:   map[string]string{"given_name": fmt.Sprintf("New%04d", i), "email_verified": "true"},
			Unset: []string{"nickname"},
			Was:   map[string]string{"given_name": fmt.Sprintf("Old%04d", i), "nickname": fmt.Sprintf("nick%04d", i)}}
		if i%7 == 0 {
			c = Change{Kind: "add-to-group", Key: c.Key, Group: "admins"}
		}
		if err := lw.Write(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	obj, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	sum := summary
	sum.Changes = &ChangesFile{Bucket: testBucket, Object: obj}
	return sum
}

var nextLink = regexp.MustCompile(`id="next" href="([^"]+)"`)

// TestPageListsEveryChange: a plan with more changes than a page holds; following the page's
// Next links from the emailed link shows every user once, with each attribute's value now and
// after, and the form on every page still decides.
func TestPageListsEveryChange(t *testing.T) {
	f := newFixture(t)
	const n = 2*pageSize + 37
	link := f.create(t, f.putChanges(t, n))
	seen := map[string]int{}
	pages := 0
	for url := link; url != ""; pages++ {
		code, body := f.do(t, http.MethodGet, url, nil)
		if code != http.StatusOK || !strings.Contains(body, `id="approve"`) {
			t.Fatalf("GET %s = %d without an Approve button:\n%s", url, code, body)
		}
		if !strings.Contains(body, fmt.Sprintf("Page %d of 3", pages+1)) || !strings.Contains(body, fmt.Sprintf("(%d)", n)) {
			t.Errorf("page %d does not say where it is:\n%s", pages+1, body)
		}
		for _, row := range strings.Split(body, `<tr class="change">`)[1:] {
			user, _, _ := strings.Cut(strings.TrimPrefix(row, `<td class="user">`), "<")
			seen[user]++
			var i int
			fmt.Sscanf(user, "user%04d@example.jp", &i)
			want := []string{"<code>given_name</code></td><td class=\"was\">Old", "→ New", "<code>nickname</code></td><td class=\"was\">nick", "→ (removed)", "<code>email_verified</code></td><td class=\"was\">(none)"}
			if i%7 == 0 {
				want = []string{"add-to-group <code>admins</code>"}
			}
			for _, w := range want {
				if !strings.Contains(row, w) {
					t.Errorf("%s: row lacks %q:\n%s", user, w, row)
				}
			}
		}
		url = ""
		if m := nextLink.FindStringSubmatch(body); m != nil {
			next := html.UnescapeString(m[1])
			// The Next link is the signed link with another page number: same id, exp and sig.
			base, _, _ := strings.Cut(link, "?")
			url = base + next
			if !strings.Contains(url, "sig=") || !strings.Contains(url, "exp=") {
				t.Fatalf("next link %q lost the signature", next)
			}
		}
	}
	if pages != 3 || len(seen) != n {
		t.Errorf("%d pages listed %d users, want 3 pages and all %d", pages, len(seen), n)
	}
	for u, c := range seen {
		if c != 1 {
			t.Errorf("%s listed %d times", u, c)
		}
	}
	// The pages decide like the first: a POST from page 3 approves.
	if code, _ := f.decide(t, link+"&page=3", "approve", "Aiko"); code != http.StatusOK || len(f.cb.success) != 1 {
		t.Errorf("approve from page 3 = %d, %d callbacks", code, len(f.cb.success))
	}
	// Users and attributes stay on the page: nothing of them is logged.
	for _, s := range []string{"user0001", "Old0001", "given_name"} {
		if strings.Contains(f.logs.String(), s) {
			t.Errorf("log holds %q:\n%s", s, f.logs)
		}
	}
}

// TestPageRefusesChangedChanges: the actions file changed in S3 after the approval was requested
// (here, one more user to change): the page says so and offers no Approve button.
func TestPageRefusesChangedChanges(t *testing.T) {
	f := newFixture(t)
	link := f.create(t, f.putChanges(t, 3))
	out, err := f.store.Client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(changesKey)})
	if err != nil {
		t.Fatal(err)
	}
	zr, _ := gzip.NewReader(out.Body)
	plain, _ := io.ReadAll(zr)
	out.Body.Close()
	plain = append(plain, []byte(`{"kind":"update","key":"ceo@example.jp","set":{"email":"attacker@example.net"}}`+"\n")...)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(plain)
	zw.Close()
	if _, err := f.store.Client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(changesKey), Body: bytes.NewReader(b.Bytes())}); err != nil {
		t.Fatal(err)
	}
	code, body := f.do(t, http.MethodGet, link, nil)
	if code != http.StatusOK || !strings.Contains(body, `id="changes-tampered"`) || strings.Contains(body, `id="approve"`) || !strings.Contains(body, `id="reject"`) {
		t.Fatalf("GET of a plan whose changes changed = %d, want the warning, Reject and no Approve:\n%s", code, body)
	}
	if strings.Contains(body, "attacker@example.net") {
		t.Error("the page lists changes from a file the approval does not bind")
	}
}

// TestPageWithUnreadableChanges: without the file the page cannot show what approving does, so it
// offers no Approve button; the error is logged without user data.
func TestPageWithUnreadableChanges(t *testing.T) {
	f := newFixture(t)
	sum := summary
	sum.Changes = &ChangesFile{Bucket: testBucket, Object: s3stream.Object{Key: changesKey + ".missing", SHA256: "00"}}
	link := f.create(t, sum)
	code, body := f.do(t, http.MethodGet, link, nil)
	if code != http.StatusOK || !strings.Contains(body, `id="changes-failed"`) || strings.Contains(body, `id="approve"`) {
		t.Fatalf("GET with an unreadable changes file = %d:\n%s", code, body)
	}
	if !strings.Contains(f.logs.String(), "cannot list the plan's changes") {
		t.Errorf("nothing logged:\n%s", f.logs)
	}
}
