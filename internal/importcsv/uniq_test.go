package importcsv

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-dr/cognito-dr/internal/snapshot"
)

// TestCandidatesSameOutcomeHoldingOnlyRepeats: the two-pass writer (Candidates, then a writer
// holding only the usernames Candidates found more than once) writes the same parts and the
// same rejects as a writer holding every username, holds only the repeated usernames, and
// leaves no spill file behind.
func TestCandidatesSameOutcomeHoldingOnlyRepeats(t *testing.T) {
	tg := mustTarget(t, tokyoHeader, tokyoPool()) // case-insensitive, username is the email
	var users []snapshot.User
	for i := range 600 {
		users = append(users, tokyoUser(fmt.Sprintf("5f0c1d2e-0000-4000-8000-%012d", i), fmt.Sprintf("user%d@example.jp", i)))
	}
	users = append(users,
		tokyoUser("u-a", "User7@Example.jp"),                      // repeats user7 in another case
		tokyoUser("u-b", "late@example.jp", "email_verified", ""), // rejected: its username is not taken
		tokyoUser("u-c", "late@example.jp"),                       // so this one is accepted
		tokyoUser("u-d", "LATE@example.jp"),                       // and this one repeats it
		tokyoUser("u-e", "user599@example.jp"),                    // repeats the last of the first run
		tokyoUser("u-f", "user7@example.jp"),                      // user7 a third time
	)

	run := func(twoPass bool) ([]string, string, Summary, *Writer) {
		parts := &memParts{}
		w := NewWriter(tg, parts.open)
		w.MaxRows = 100
		if twoPass {
			dir := t.TempDir()
			fp, err := tg.Candidates(seqOf(users...), dir)
			if err != nil {
				t.Fatal(err)
			}
			if fp.Len() != 3 {
				t.Errorf("Candidates found %d repeated fingerprints, want 3 (user7, late, user599)", fp.Len())
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("spill files left behind: %v", left)
			}
			w.OnlyCandidates(fp)
		}
		var rep strings.Builder
		s, err := ValidateUsers(tg, seqOf(users...), w, NewReportWriter(&rep))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range parts.bufs {
			got = append(got, b.String())
		}
		return got, rep.String(), s, w
	}
	wantParts, wantRep, wantSum, _ := run(false)
	gotParts, gotRep, gotSum, w := run(true)
	if diff := cmp.Diff(wantParts, gotParts); diff != "" {
		t.Errorf("parts (-one pass +two passes):\n%s", diff)
	}
	if wantRep != gotRep {
		t.Errorf("rejects: one pass\n%s\ntwo passes\n%s", wantRep, gotRep)
	}
	if diff := cmp.Diff(wantSum, gotSum); diff != "" {
		t.Errorf("summary (-one pass +two passes):\n%s", diff)
	}
	if wantSum.ByReason[ReasonDuplicateUsername] != 4 || len(wantParts) != 7 {
		t.Errorf("fixture: %d duplicates in %d parts, want 4 in 7", wantSum.ByReason[ReasonDuplicateUsername], len(wantParts))
	}
	if len(w.seen) != 3 {
		t.Errorf("two-pass writer holds %d usernames, want the 3 repeated ones", len(w.seen))
	}
}
